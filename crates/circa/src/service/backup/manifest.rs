//! A backup's `manifest.json`: what made it, when, the schema it holds, row and blob counts,
//! and every file with its size and SHA-256. It is written last, so a folder with a manifest
//! is a whole backup.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "manifest.json";

/// The manifest layout this build writes and reads.
pub const FORMAT: u32 = 1;

/// One copied file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Its path in the backup folder, `/`-separated and relative.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// How many blobs, and their bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct BlobCount {
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A backup's description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The version of Circa that made it.
    pub circa_version: String,
    /// The database's highest migration.
    pub schema_version: i64,
    /// When the database was copied (RFC 3339).
    pub created_at: String,
    /// Rows per table.
    pub counts: BTreeMap<String, i64>,
    /// Blob files and bytes.
    pub blobs: BlobCount,
    /// Whether the key file (and the server's other credentials) are in the backup.
    pub keys_included: bool,
    /// Every file but the manifest.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Writes it as `DIR/manifest.json` (mode 0600, through a temporary name).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_vec_pretty(self).context("encoding the manifest")?;
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        super::files::write_private(&tmp, &text)?;
        let path = dir.join(MANIFEST);
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }

    /// Reads `DIR/manifest.json`, refusing another format and unsafe file paths.
    pub fn read(dir: &Path) -> anyhow::Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "reading {}: is {} a backup made by `circa admin backup`?",
                path.display(),
                dir.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a backup manifest", path.display()))?;
        anyhow::ensure!(
            manifest.format == FORMAT,
            "{}: backup format {} is not one this Circa reads ({FORMAT})",
            path.display(),
            manifest.format
        );
        for file in &manifest.files {
            relative_path(&file.path)?;
        }
        Ok(manifest)
    }
}

/// A manifest path as a relative path of plain names only (no `..`, no root).
pub fn relative_path(path: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(path);
    let plain = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    anyhow::ensure!(plain, "the manifest names an unsafe path: {path:?}");
    Ok(p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        assert!(relative_path("blobs/logs/a/0.zst").is_ok());
        for bad in ["", "/etc/passwd", "../x", "blobs/../../x", "./a"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
