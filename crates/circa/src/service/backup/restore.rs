//! `circa admin restore DIR --data-dir NEW`: a backup checked whole, then copied into a new
//! data folder, where the next `circa server` brings its schema up to date.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::files::{copy_hashed, empty_private_dir, hash_file};
use super::manifest::{Manifest, relative_path};

/// Options of `circa admin restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup folder (made by `circa admin backup`).
    pub dir: PathBuf,
    /// The new data folder: missing or empty.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// `circa admin restore DIR --data-dir NEW`.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let manifest = Manifest::read(&args.dir)?;
    let known = circa_store::sqlite::backup::latest_schema_version();
    anyhow::ensure!(
        manifest.schema_version <= known,
        "the backup was made by a newer Circa ({}, schema {}); this one knows schema {known}: \
         restore it with that version or a later one",
        manifest.circa_version,
        manifest.schema_version
    );
    verify(&args.dir, &manifest)?;
    empty_private_dir(&args.data_dir, "the data folder")?;
    for file in &manifest.files {
        let rel = relative_path(&file.path)?;
        let copied = copy_hashed(
            &args.dir.join(&rel),
            &args.data_dir.join(&rel),
            String::new(),
        )?;
        let same = copied.is_some_and(|c| c.size == file.size && c.sha256 == file.sha256);
        anyhow::ensure!(same, "{} changed while it was restored", file.path);
    }
    println!(
        "restored the backup of {} ({} files) into {}",
        manifest.created_at,
        manifest.files.len(),
        args.data_dir.display()
    );
    if !manifest.keys_included {
        warn_no_keys(&args.data_dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks every file of the backup against its size and checksum before anything is written.
fn verify(dir: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    for file in &manifest.files {
        let path = dir.join(relative_path(&file.path)?);
        let (size, sha256) = hash_file(&path)?;
        anyhow::ensure!(
            size == file.size && sha256 == file.sha256,
            "{} does not match the backup's manifest (damaged or changed): nothing was restored",
            path.display()
        );
    }
    Ok(())
}

fn warn_no_keys(data: &Path) {
    eprintln!(
        "WARNING: this backup has no key file: secrets in it open only once the key file of \
         the server it came from is at {} (mode 0600) or given with --secret-key-file.",
        data.join(circa_server::serve::DEFAULT_KEY_FILE).display()
    );
}
