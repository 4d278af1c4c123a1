//! Integration tests of `circa-exec`: one test binary, one module per area.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod glob;
mod junit_corpus;
mod mask_props;
mod split_props;
