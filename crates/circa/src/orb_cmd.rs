//! `circa orb ...` commands that work on files: importing packed orbs into the registry folder
//! and packing an orb's source tree. The CLI wiring calls these and prints what they return.

mod import;
mod pack;

pub use import::import;
pub use pack::pack;

use circa_config::diag::{Diagnostic, render};
use circa_config::yaml::{Limits, decode, load};
use std::path::Path;

/// Reads a file of at most the config size limit.
fn read_limited(path: &Path) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    let max = Limits::DEFAULT_MAX_BYTES as u64;
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= max,
        "{} is {size} bytes; the limit is {max} bytes",
        path.display()
    );
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Checks that `bytes` are a YAML map without errors; otherwise returns the rendered problems.
fn check_yaml_map(shown_path: &str, bytes: &[u8]) -> Result<(), String> {
    let text = decode(bytes, &Limits::default()).map_err(|d| render(shown_path, "", &[d]))?;
    let loaded = load(text, &Limits::default());
    let errors: Vec<Diagnostic> = loaded
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(render(shown_path, text, &errors));
    }
    match loaded.root {
        Some(node) if node.as_map().is_some() => Ok(()),
        Some(node) => Err(format!(
            "{shown_path}: error: a packed orb must be a map, not {}\n",
            node.kind_name()
        )),
        None => Err(format!("{shown_path}: error: the file is empty\n")),
    }
}
