//! Integration tests of the `circa` crate: one test binary, one module per area.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod corpus;
mod support;
