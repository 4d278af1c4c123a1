//! Orbs: references (`circleci/node@5.1`), which registry version a reference means, where
//! packed orbs come from, and packing an orb's source folder into one file.
//!
//! Architecture Invariant: nothing here reads files or the network. A registry folder lives in
//! the binary (`circa::orb_dir`) behind [`OrbSource`]; packing takes the files' text as input.

mod pack;
mod reference;
mod source;
mod version;

pub use pack::pack;
pub use reference::{OrbRef, OrbRefError, OrbRefErrorKind, VersionSpec};
pub use source::{MemoryOrbs, NoOrbs, OrbError, OrbSource, OrbText};
pub use version::{resolve_version, sort_versions};
