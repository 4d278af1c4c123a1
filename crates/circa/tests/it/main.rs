//! Integration tests of the `circa` crate: one test binary, one module per area.

mod corpus;
mod support;
