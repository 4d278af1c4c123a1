//! CircleCI caches (`save_cache` / `restore_cache`) in a local folder.
//!
//! Semantics, as CircleCI documents them:
//! - keys are rendered from templates ([`render_key`]);
//! - a key is **immutable**: saving under an existing key does nothing (first writer wins);
//! - restoring tries each key in order as a **prefix**; among several stored keys with that
//!   prefix the most recently saved wins, even over an exact match; the first key with any
//!   match wins; no match is not an error.
//!
//! # Layout
//!
//! ```text
//! <dir>/keys/<sha256(key) hex>.key      metadata: saved time, size, object name, the key
//! <dir>/objects/<hash>-<random>.tar.zst the archive
//! <dir>/tmp/                            partial writes
//! ```
//!
//! A save writes the archive under a fresh object name, then commits by creating the key file
//! with a no-clobber rename: concurrent savers of one key race on that rename, and the loser
//! deletes its object. Key files never contain the key in their name, so no key can traverse.
//! Objects without a key file (a crash between the two steps) are removed by [`CacheStore::prune`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Values available to a cache key template.
pub struct KeyContext<'a> {
    /// `{{ .Branch }}`.
    pub branch: String,
    /// `{{ .BuildNum }}`.
    pub build_num: u64,
    /// `{{ .Revision }}`.
    pub revision: String,
    /// `{{ .CheckoutKey }}` (the checkout key's fingerprint).
    pub checkout_key: String,
    /// `{{ .Environment.NAME }}`: CircleCI's and the project's/contexts' variables only.
    pub environment: BTreeMap<String, String>,
    /// `{{ epoch }}`: seconds since the Unix epoch.
    pub epoch: u64,
    /// `{{ arch }}`, e.g. `linux-amd64` (see [`host_arch`]).
    pub arch: String,
    /// Returns the bytes of a file named by `{{ checksum "file" }}` (relative to the working
    /// directory), so the shell and docker executors can each supply them.
    pub checksum: &'a dyn Fn(&str) -> Result<Vec<u8>, String>,
}

impl fmt::Debug for KeyContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyContext")
            .field("branch", &self.branch)
            .field("build_num", &self.build_num)
            .field("revision", &self.revision)
            .field("checkout_key", &self.checkout_key)
            .field("environment", &self.environment.keys().collect::<Vec<_>>())
            .field("epoch", &self.epoch)
            .field("arch", &self.arch)
            .finish_non_exhaustive()
    }
}

/// `{{ arch }}` for the machine running this code, in CircleCI's `<os>-<arch>` form with Go's
/// architecture names (`linux-amd64`, `darwin-arm64`). CircleCI appends a CPU family/model
/// suffix (`linux-amd64-6_85`); callers that know it may append it themselves.
pub fn host_arch() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    };
    format!("{}-{arch}", std::env::consts::OS)
}

/// What Go's templates print for a missing map entry; CircleCI keys show it for unset
/// `{{ .Environment.X }}` variables, and we keep it so keys stay comparable.
pub const NO_VALUE: &str = "<no value>";

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A `{{ ... }}` action we do not know.
    #[error("cache key template {template:?}: unknown template action `{{{{ {action} }}}}`")]
    UnknownAction {
        /// The whole template.
        template: String,
        /// The action between the braces, trimmed.
        action: String,
    },
    /// `{{` without a closing `}}`.
    #[error("cache key template {template:?}: `{{{{` is not closed")]
    Unterminated {
        /// The whole template.
        template: String,
    },
    /// The checksum callback failed for a file.
    #[error("cache key template {template:?}: checksum of {file:?}: {message}")]
    Checksum {
        /// The whole template.
        template: String,
        /// The file named in the template.
        file: String,
        /// What the callback said.
        message: String,
    },
    /// An empty key.
    #[error("cache key is empty")]
    EmptyKey,
    /// A key longer than [`CacheLimits::max_key_bytes`].
    #[error("cache key {key:?} is {len} bytes, over the limit of {limit}")]
    KeyTooLong {
        /// The key (cut short).
        key: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An archive larger than [`CacheLimits::max_archive_bytes`].
    #[error("cache {key:?}: archive exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The key being saved.
        key: String,
        /// The limit.
        limit: u64,
    },
    /// Reading the archive to save failed.
    #[error("cache {key:?}: reading the archive: {source}")]
    Read {
        /// The key being saved.
        key: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A filesystem operation in the store failed.
    #[error("cache store {path:?}: {source}")]
    Io {
        /// The path in the store.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Renders a CircleCI cache key template.
///
/// Supports `{{ .Branch }}`, `{{ .BuildNum }}`, `{{ .Revision }}`, `{{ .CheckoutKey }}`,
/// `{{ .Environment.NAME }}` (unset: `<no value>`, like CircleCI), `{{ checksum "file" }}`
/// (standard base64 of the file's SHA-256), `{{ epoch }}` and `{{ arch }}`. Whitespace inside
/// the braces is optional. Anything else is an error naming the action.
pub fn render_key(template: &str, ctx: &KeyContext<'_>) -> Result<String, CacheError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(CacheError::Unterminated {
                template: template.to_owned(),
            });
        };
        let action = after[..end].trim();
        render_action(template, action, ctx, &mut out)?;
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn render_action(
    template: &str,
    action: &str,
    ctx: &KeyContext<'_>,
    out: &mut String,
) -> Result<(), CacheError> {
    let unknown = || CacheError::UnknownAction {
        template: template.to_owned(),
        action: action.to_owned(),
    };
    match action {
        ".Branch" => out.push_str(&ctx.branch),
        ".BuildNum" => out.push_str(&ctx.build_num.to_string()),
        ".Revision" => out.push_str(&ctx.revision),
        ".CheckoutKey" => out.push_str(&ctx.checkout_key),
        "epoch" => out.push_str(&ctx.epoch.to_string()),
        "arch" => out.push_str(&ctx.arch),
        _ => {
            if let Some(name) = action.strip_prefix(".Environment.") {
                if !is_identifier(name) {
                    return Err(unknown());
                }
                out.push_str(ctx.environment.get(name).map_or(NO_VALUE, String::as_str));
            } else if let Some(arg) = action.strip_prefix("checksum")
                && arg.starts_with(char::is_whitespace)
            {
                let file = parse_go_string(arg.trim()).ok_or_else(unknown)?;
                let bytes = (ctx.checksum)(&file).map_err(|message| CacheError::Checksum {
                    template: template.to_owned(),
                    file: file.clone(),
                    message,
                })?;
                let digest = Sha256::digest(&bytes);
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(digest));
            } else {
                return Err(unknown());
            }
        }
    }
    Ok(())
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Go string literal: `"..."` with backslash escapes, or a raw `` `...` ``. The whole input
/// must be the literal.
fn parse_go_string(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let inner = raw.strip_suffix('`')?;
        return (!inner.contains('`')).then(|| inner.to_owned());
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                '\\' => '\\',
                '"' => '"',
                'n' => '\n',
                't' => '\t',
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    Some(out)
}

/// Caps on what the store accepts and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLimits {
    /// Largest archive accepted by [`CacheStore::save`] (compressed bytes).
    pub max_archive_bytes: u64,
    /// Longest key accepted, in bytes.
    pub max_key_bytes: usize,
    /// [`CacheStore::prune`] removes the oldest caches until the store is at most this size.
    pub max_total_bytes: u64,
}

impl Default for CacheLimits {
    /// 10 GiB per archive, 1,024-byte keys, 100 GiB in total.
    fn default() -> Self {
        Self {
            max_archive_bytes: 10 * 1024 * 1024 * 1024,
            max_key_bytes: 1024,
            max_total_bytes: 100 * 1024 * 1024 * 1024,
        }
    }
}

/// The result of [`CacheStore::save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The archive was stored.
    Saved {
        /// Its size in bytes.
        size: u64,
    },
    /// A cache with this key already exists; nothing was written (keys are immutable).
    AlreadyExists,
}

/// A cache found by [`CacheStore::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheHit {
    /// The stored key that matched (not the prefix that was asked for).
    pub key: String,
    /// The archive (tar + zstd), ready for [`crate::archive::unpack`].
    pub path: PathBuf,
    /// When it was saved.
    pub saved_at: SystemTime,
    /// Archive size in bytes.
    pub size: u64,
}

/// What [`CacheStore::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Caches removed.
    pub removed: u64,
    /// Bytes freed (caches and leftovers).
    pub bytes: u64,
}

/// Caches in a local folder.
#[derive(Debug, Clone)]
pub struct CacheStore {
    dir: PathBuf,
    limits: CacheLimits,
}

const META_MAGIC: &str = "circa-cache 1";

/// One stored cache, read from its key file.
#[derive(Debug, Clone)]
struct Meta {
    key: String,
    saved_at_nanos: u128,
    size: u64,
    object: String,
    meta_path: PathBuf,
}

impl CacheStore {
    /// Opens (creating if needed) a store in `dir`, with default limits.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        Self::with_limits(dir, CacheLimits::default())
    }

    /// Opens (creating if needed) a store in `dir` with the given limits.
    pub fn with_limits(dir: impl Into<PathBuf>, limits: CacheLimits) -> Result<Self, CacheError> {
        let store = Self {
            dir: dir.into(),
            limits,
        };
        for sub in [store.keys_dir(), store.objects_dir(), store.tmp_dir()] {
            fs::create_dir_all(&sub).map_err(io_err(&sub))?;
        }
        Ok(store)
    }

    fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }
    fn objects_dir(&self) -> PathBuf {
        self.dir.join("objects")
    }
    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    fn check_key(&self, key: &str) -> Result<(), CacheError> {
        if key.is_empty() {
            return Err(CacheError::EmptyKey);
        }
        if key.len() > self.limits.max_key_bytes {
            return Err(CacheError::KeyTooLong {
                key: key.chars().take(100).collect(),
                len: key.len(),
                limit: self.limits.max_key_bytes,
            });
        }
        Ok(())
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.keys_dir().join(format!("{}.key", key_hash(key)))
    }

    /// Whether a cache with exactly this key exists.
    pub fn contains(&self, key: &str) -> bool {
        self.meta_path(key).exists()
    }

    /// Stores `archive` (tar + zstd bytes) under `key`, unless the key already exists.
    ///
    /// The archive is streamed to a temporary file and committed atomically; a reader never sees
    /// a partial cache. Over [`CacheLimits::max_archive_bytes`] nothing is stored.
    pub fn save(&self, key: &str, archive: impl Read) -> Result<SaveOutcome, CacheError> {
        self.check_key(key)?;
        let meta_path = self.meta_path(key);
        if meta_path.exists() {
            return Ok(SaveOutcome::AlreadyExists);
        }
        let objects = self.objects_dir();
        let mut object = tempfile::Builder::new()
            .prefix(&format!("{}-", &key_hash(key)[..16]))
            .suffix(".tar.zst")
            .tempfile_in(&objects)
            .map_err(io_err(&objects))?;
        let limit = self.limits.max_archive_bytes;
        let mut limited = archive.take(limit.saturating_add(1));
        let size =
            io::copy(&mut limited, object.as_file_mut()).map_err(|source| CacheError::Read {
                key: key.to_owned(),
                source,
            })?;
        if size > limit {
            return Err(CacheError::TooLarge {
                key: key.to_owned(),
                limit,
            });
        }
        object.as_file().sync_all().map_err(io_err(object.path()))?;
        let object_name = object
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();

        let saved_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp_dir = self.tmp_dir();
        let mut meta = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        write!(
            meta,
            "{META_MAGIC}\n{saved_at}\n{size}\n{object_name}\n{key}"
        )
        .and_then(|()| meta.as_file().sync_all())
        .map_err(io_err(meta.path()))?;

        // The object must outlive its temp handle before the key file points at it.
        let object_path = object.into_temp_path();
        match meta.persist_noclobber(&meta_path) {
            Ok(_) => {
                object_path.keep().map_err(|e| CacheError::Io {
                    path: objects.join(&object_name),
                    source: e.error,
                })?;
                Ok(SaveOutcome::Saved { size })
            }
            // Another saver won the race; dropping `object_path` deletes our copy.
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                Ok(SaveOutcome::AlreadyExists)
            }
            Err(e) => Err(CacheError::Io {
                path: meta_path,
                source: e.error,
            }),
        }
    }

    /// Finds the cache to restore for `keys` (CircleCI's `restore_cache` lookup): for each key
    /// in order, the most recently saved cache whose key starts with it. Empty keys are
    /// skipped (they would match everything).
    pub fn restore(&self, keys: &[String]) -> Result<Option<CacheHit>, CacheError> {
        let all = self.list()?;
        for prefix in keys.iter().filter(|k| !k.is_empty()) {
            let best = all
                .iter()
                .filter(|m| m.key.starts_with(prefix.as_str()))
                .max_by(|a, b| (a.saved_at_nanos, &a.key).cmp(&(b.saved_at_nanos, &b.key)));
            if let Some(m) = best {
                return Ok(Some(CacheHit {
                    key: m.key.clone(),
                    path: self.objects_dir().join(&m.object),
                    saved_at: nanos_to_time(m.saved_at_nanos),
                    size: m.size,
                }));
            }
        }
        Ok(None)
    }

    /// All stored caches. Unreadable or malformed key files are ignored.
    fn list(&self) -> Result<Vec<Meta>, CacheError> {
        let dir = self.keys_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "key")
                && let Some(meta) = read_meta(&path)
            {
                out.push(meta);
            }
        }
        Ok(out)
    }

    /// Removes caches saved more than `older_than` ago (CircleCI keeps caches up to 15 days),
    /// then the oldest caches while the store exceeds [`CacheLimits::max_total_bytes`], and
    /// leftovers of interrupted saves.
    pub fn prune(&self, older_than: Duration) -> Result<PruneStats, CacheError> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.prune_before(cutoff)
    }

    /// [`CacheStore::prune`] with an explicit cutoff: caches saved before `cutoff` go.
    pub fn prune_before(&self, cutoff: SystemTime) -> Result<PruneStats, CacheError> {
        let mut stats = PruneStats::default();
        let mut metas = self.list()?;
        metas.sort_by_key(|m| m.saved_at_nanos);
        let cutoff_nanos = cutoff
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut total: u64 = metas.iter().map(|m| m.size).sum();
        let mut keep = Vec::new();
        for m in metas {
            if m.saved_at_nanos < cutoff_nanos || total > self.limits.max_total_bytes {
                total = total.saturating_sub(m.size);
                self.remove(&m, &mut stats)?;
            } else {
                keep.push(m.object);
            }
        }
        // Objects nobody points at and temp files, once they are older than the cutoff (a
        // younger one may belong to a save in progress).
        for dir in [self.objects_dir(), self.tmp_dir()] {
            for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
                let entry = entry.map_err(io_err(&dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep.contains(&name) {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if meta.modified().is_ok_and(|t| t < cutoff) {
                    let path = entry.path();
                    remove_if_present(&path)?;
                    stats.bytes += meta.len();
                }
            }
        }
        Ok(stats)
    }

    fn remove(&self, m: &Meta, stats: &mut PruneStats) -> Result<(), CacheError> {
        // Key file first: once it is gone no restore can pick the object.
        remove_if_present(&m.meta_path)?;
        remove_if_present(&self.objects_dir().join(&m.object))?;
        stats.removed += 1;
        stats.bytes += m.size;
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> Result<(), CacheError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CacheError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn key_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn nanos_to_time(nanos: u128) -> SystemTime {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::new(secs, sub)
}

fn read_meta(path: &Path) -> Option<Meta> {
    let mut text = String::new();
    fs::File::open(path).ok()?.read_to_string(&mut text).ok()?;
    let mut parts = text.splitn(5, '\n');
    if parts.next()? != META_MAGIC {
        return None;
    }
    let saved_at_nanos = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    let object = parts.next()?.to_owned();
    let key = parts.next()?.to_owned();
    // The object name is ours, but the file is read back from disk: keep it a plain name.
    if object.is_empty() || object.contains('/') || object.starts_with('.') {
        return None;
    }
    Some(Meta {
        key,
        saved_at_nanos,
        size,
        object,
        meta_path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests;
