//! Paths and helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared corpus: `../shared/corpus` beside the checkout (found by walking up from the crate).
pub fn corpus() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared").join("corpus");
        if candidate.join("configs").is_dir() {
            return candidate;
        }
        if !dir.pop() {
            panic!(
                "shared/corpus not found above {}",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
}
