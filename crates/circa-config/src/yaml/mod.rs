//! YAML with positions: loading text into a [`Node`] tree and writing a tree back as YAML.

mod emit;
mod load;
mod node;
mod relaxed;

pub use emit::to_yaml;
pub use load::{Limits, Loaded, decode, load};
pub use node::{Entry, Map, Node, Value, format_float};
