//! The server side of the command line: `up`, `server`, `runner`, and the client commands.

pub mod admin;
pub mod backup;
pub mod client;
pub mod project_forge;
pub mod remote;
pub mod settings;
pub mod ssh_keys;
pub mod up;
