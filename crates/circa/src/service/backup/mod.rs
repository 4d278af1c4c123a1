//! `circa admin backup` and `circa admin restore`: the embedded store (the SQLite database and
//! the blob folder) copied while the server runs, and put back into a new data folder.
//!
//! The backup reads the data folder directly rather than asking the server: SQLite's WAL lets
//! a reader beside the one writer, `VACUUM INTO` copies the database as of one moment, and
//! the blob folder's files are written under a temporary name and renamed whole, so copying
//! them after the database finds every blob the copied database names. Nothing large passes
//! through the server's HTTP stack, and a stopped server is backed up the same way.

mod files;
mod manifest;
mod restore;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use circa_server::{BlobConfig, ServerConfig};
use circa_store::sqlite::backup as db;

use super::settings::ServerArgs;
use files::{copy_hashed, empty_private_dir, slash_name, walk};
use manifest::{BlobCount, FORMAT, FileEntry, Manifest};

pub use restore::{RestoreArgs, restore};

/// The database's name in a backup (and in a restored data folder).
const DATABASE: &str = "circa.db";
/// The blob folder's name in a backup (and in a restored data folder).
const BLOBS: &str = "blobs";
/// The data folder's credentials beside the key file: the admin's first token and password
/// (the server secret is derived from the key file).
const CREDENTIALS: [&str; 2] = ["admin.token", "admin.password"];

/// Options of `circa admin backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new or empty folder for the backup.
    pub dir: PathBuf,
    /// Copy the key file too (mode 0600): without it no secret in the backup can be opened.
    #[arg(long)]
    pub with_keys: bool,
    /// The server's settings: where its data folder, database and key file are.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `circa admin backup DIR`.
pub fn backup(args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let config = args.server.server_config()?;
    let database = embedded_database(&config)?;
    let BlobConfig::Local(blob_dir) = &config.blobs else {
        anyhow::bail!(
            "blobs are in an S3 bucket: copy the bucket with `aws s3 sync` or `mc mirror` \
             (README, \"Production\"); this command copies the embedded store only"
        );
    };
    let key_file = key_file(&config);
    empty_private_dir(&args.dir, "the backup folder")?;
    let runtime = super::client::runtime()?;
    let created_at = jiff::Timestamp::now().to_string();
    let db_copy = args.dir.join(DATABASE);
    runtime
        .block_on(db::snapshot(&database, &db_copy))
        .with_context(|| format!("copying the database {}", database.display()))?;
    let schema_version = runtime.block_on(db::schema_version(&db_copy))?;
    let counts = runtime.block_on(db::row_counts(&db_copy))?;
    let (size, sha256) = files::hash_file(&db_copy)?;
    let mut entries = vec![FileEntry {
        path: DATABASE.to_string(),
        size,
        sha256,
    }];
    let blob_entries = copy_blobs(blob_dir, &args.dir.join(BLOBS))?;
    let blobs = BlobCount {
        files: blob_entries.len() as u64,
        bytes: blob_entries.iter().map(|e| e.size).sum(),
    };
    entries.extend(blob_entries);
    if args.with_keys {
        entries.extend(copy_credentials(&config.data_dir, &key_file, &args.dir)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        circa_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        created_at,
        counts: counts.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        blobs,
        keys_included: args.with_keys,
        files: entries,
    };
    manifest.write(&args.dir)?;
    report(&args.dir, &manifest.counts, blobs);
    if !args.with_keys {
        warn_keys_left_out(&key_file);
    }
    Ok(ExitCode::SUCCESS)
}

/// The SQLite file of the server's settings; PostgreSQL is refused with where to look.
fn embedded_database(config: &ServerConfig) -> anyhow::Result<PathBuf> {
    let Some(path) = config.database_url.strip_prefix("sqlite://") else {
        anyhow::bail!(
            "the database is not the embedded SQLite one: back PostgreSQL up with \
             `pg_dump -Fc` (README, \"Production\")"
        );
    };
    let path = PathBuf::from(path);
    anyhow::ensure!(
        path.is_file(),
        "no database at {}: is --data-dir (or CIRCA_DATA_DIR) the server's?",
        path.display()
    );
    Ok(path)
}

/// The server's key file: the configured one, or `DATA/secret.keys`.
fn key_file(config: &ServerConfig) -> PathBuf {
    config
        .secret_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(circa_server::serve::DEFAULT_KEY_FILE))
}

/// Copies every finished blob under `from` into `to`.
fn copy_blobs(from: &Path, to: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let mut entries = Vec::new();
    for rel in walk(from)? {
        let name = format!("{BLOBS}/{}", slash_name(&rel));
        if let Some(entry) = copy_hashed(&from.join(&rel), &to.join(&rel), name)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Copies the key file (as `secret.keys`) and the data folder's other credentials that exist.
fn copy_credentials(data: &Path, key_file: &Path, dir: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let keys = circa_server::serve::DEFAULT_KEY_FILE;
    let Some(entry) = copy_hashed(key_file, &dir.join(keys), keys.to_string())? else {
        anyhow::bail!("no key file at {}", key_file.display());
    };
    let mut entries = vec![entry];
    for name in CREDENTIALS {
        entries.extend(copy_hashed(
            &data.join(name),
            &dir.join(name),
            name.to_string(),
        )?);
    }
    Ok(entries)
}

fn report(dir: &Path, counts: &BTreeMap<String, i64>, blobs: BlobCount) {
    let rows: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    println!("backup written to {}", dir.display());
    println!("  rows: {}", rows.join(", "));
    println!("  blobs: {} files, {} bytes", blobs.files, blobs.bytes);
}

/// Says loudly that the backup cannot open secrets without the key file.
fn warn_keys_left_out(key_file: &Path) {
    eprintln!(
        "WARNING: the key file is NOT in this backup. Without it no project or context \
         variable, checkout key or repository token in the backup can be opened.\n\
         WARNING: keep a copy of {} somewhere safe (apart from the backup), or run again with \
         --with-keys.",
        key_file.display()
    );
}
