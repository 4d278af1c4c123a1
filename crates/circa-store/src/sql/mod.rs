//! What the SQL backends share that does not depend on the database kind: the column lists,
//! decoding rows into records, and encoding values (statuses as CircleCI's strings, JSON as
//! text, times as epoch milliseconds).

pub(crate) mod codec;
pub(crate) mod columns;
pub(crate) mod events;
pub(crate) mod jobs;
pub(crate) mod rows;
