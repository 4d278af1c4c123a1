//! Tar + zstd archives for caches and workspaces, read and written as streams.
//!
//! The same code handles archives we make on the host and tar streams that come out of (or go
//! into) a container through the Docker Engine API: [`pack_tar`]/[`unpack_tar`] work on plain
//! tar, [`pack`]/[`unpack`] wrap them in zstd.
//!
//! # Extraction rules
//!
//! An archive is hostile input (a cache can be written by any branch, including a fork's pull
//! request). [`unpack_tar`] therefore does not use `tar`'s own unpacking at all; it reads each
//! entry and writes it itself:
//!
//! - entry paths must be relative and free of `..`; `.` components are dropped;
//! - only regular files, directories and symbolic links are accepted; hard links, devices,
//!   fifos, sparse files and anything else are refused;
//! - a symlink target must be relative, may only start with `..` components (never have `..`
//!   after a normal component), and may not climb above the extraction root;
//! - every parent of an entry must be a real directory inside the root: a symlink found on
//!   disk (planted by an earlier entry or already there) is never followed, the entry is
//!   refused;
//! - files are written to a temporary file beside their destination and renamed into place, so
//!   an existing symlink at the destination is replaced, never written through;
//! - permissions are 0644, or 0755 when the archive has any executable bit; no owners, no
//!   xattrs; modification times are kept (build tools depend on them);
//! - total bytes, entry count and path length are capped by [`ArchiveLimits`].
//!
//! Architecture Invariant: nothing is ever created or modified outside the extraction root.
//! A refused archive may leave the entries before the refused one inside the root.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::{EntryType, Header};

/// zstd compression level used by [`pack`] (zstd's own default).
pub const ZSTD_LEVEL: i32 = 3;

/// Caps applied while packing and unpacking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Maximum total size of file contents, in bytes.
    pub max_total_bytes: u64,
    /// Maximum number of entries (files, directories and symlinks together).
    pub max_entries: u64,
    /// Maximum length of an entry path (and of a symlink target), in bytes.
    pub max_path_len: usize,
}

impl Default for ArchiveLimits {
    /// 10 GiB, 1,000,000 entries, 4,096-byte paths.
    fn default() -> Self {
        Self {
            max_total_bytes: 10 * 1024 * 1024 * 1024,
            max_entries: 1_000_000,
            max_path_len: 4096,
        }
    }
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackStats {
    /// Regular files written.
    pub files: u64,
    /// Bytes of file contents written (before compression).
    pub bytes: u64,
    /// Directories written.
    pub dirs: u64,
    /// Symbolic links written.
    pub symlinks: u64,
    /// Sockets, fifos and devices found under the given paths and left out.
    pub skipped: u64,
}

/// What [`unpack`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Regular files written.
    pub files: u64,
    /// Bytes of file contents written.
    pub bytes: u64,
    /// Directory entries seen (created or already present).
    pub dirs: u64,
    /// Symbolic links created.
    pub symlinks: u64,
}

/// Why packing or unpacking stopped. Entry names are shown as the archive spells them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// An entry path starts with `/` (or is otherwise not relative).
    #[error("archive entry {entry:?}: absolute paths are refused")]
    AbsolutePath {
        /// The entry path.
        entry: String,
    },
    /// An entry path contains a `..` component.
    #[error("archive entry {entry:?}: `..` components are refused")]
    ParentComponent {
        /// The entry path.
        entry: String,
    },
    /// An entry is a hard link.
    #[error("archive entry {entry:?}: hard links are refused (target {target:?})")]
    HardLink {
        /// The entry path.
        entry: String,
        /// The link target.
        target: String,
    },
    /// A symlink whose target is absolute or resolves outside the root.
    #[error("archive entry {entry:?}: symlink target {target:?} leaves the extraction root")]
    SymlinkEscape {
        /// The entry path.
        entry: String,
        /// The link target.
        target: String,
    },
    /// An entry type other than file, directory or symlink.
    #[error("archive entry {entry:?}: {kind} entries are refused")]
    UnsupportedType {
        /// The entry path.
        entry: String,
        /// The kind of entry (e.g. "character device").
        kind: &'static str,
    },
    /// A parent of the entry exists on disk and is not a real directory (e.g. a symlink).
    #[error(
        "archive entry {entry:?}: {component:?} is not a real directory inside the root; refusing to write through it"
    )]
    UnsafeParent {
        /// The entry path.
        entry: String,
        /// The offending path, relative to the root.
        component: PathBuf,
    },
    /// The entry would replace something of another kind (e.g. a directory by a file).
    #[error("archive entry {entry:?}: cannot replace an existing {existing} with a {new}")]
    Conflict {
        /// The entry path.
        entry: String,
        /// What is on disk.
        existing: &'static str,
        /// What the archive holds.
        new: &'static str,
    },
    /// A path or symlink target longer than [`ArchiveLimits::max_path_len`].
    #[error("archive entry {entry:?}: path of {len} bytes exceeds the limit of {limit} bytes")]
    PathTooLong {
        /// The entry path (possibly cut short for display).
        entry: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The total size of file contents would exceed [`ArchiveLimits::max_total_bytes`].
    #[error("archive entry {entry:?}: total size would exceed the limit of {limit} bytes")]
    TooLarge {
        /// The entry that crossed the limit.
        entry: String,
        /// The limit.
        limit: u64,
    },
    /// More entries than [`ArchiveLimits::max_entries`].
    #[error("archive entry {entry:?}: more than {limit} entries")]
    TooManyEntries {
        /// The first entry over the limit.
        entry: String,
        /// The limit.
        limit: u64,
    },
    /// A path given to [`pack`] is outside the root or contains `..`.
    #[error("path {path:?} is not inside the archive root {root:?}")]
    OutsideRoot {
        /// The path as given.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// A file changed size while it was being packed.
    #[error("{path:?} shrank while it was being archived")]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing the archive stream failed (or the stream is not a valid archive).
    #[error("archive stream{}: {source}", entry_suffix(.entry))]
    Stream {
        /// The entry being processed, if any.
        entry: Option<String>,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A filesystem operation on `path` failed.
    #[error("{path:?}: {source}")]
    Io {
        /// The path on disk.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn entry_suffix(entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!(" at entry {e:?}"),
        None => String::new(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn stream_err(entry: Option<&str>) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Stream {
        entry: entry.map(str::to_owned),
        source,
    }
}

/// Shows at most 200 bytes of an entry name in error messages.
fn display_name(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(200)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > cut.len() {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Packing

/// Writes `paths` (relative to `root`, or absolute inside it) as a zstd-compressed tar to `out`.
///
/// Directories are added recursively, symlinks are stored as symlinks (never followed), entry
/// names are relative to `root`. Sockets, fifos and devices are skipped. A path that is a
/// descendant of another given directory is added once.
pub fn pack(
    root: &Path,
    paths: &[PathBuf],
    out: impl Write,
    limits: &ArchiveLimits,
) -> Result<PackStats, ArchiveError> {
    let mut encoder = zstd::Encoder::new(out, ZSTD_LEVEL).map_err(stream_err(None))?;
    let stats = pack_tar(root, paths, &mut encoder, limits)?;
    encoder.finish().map_err(stream_err(None))?;
    Ok(stats)
}

/// [`pack`] without compression: writes a plain tar stream.
pub fn pack_tar(
    root: &Path,
    paths: &[PathBuf],
    out: impl Write,
    limits: &ArchiveLimits,
) -> Result<PackStats, ArchiveError> {
    pack_tar_owned(root, paths, out, limits, (0, 0))
}

/// [`pack_tar`] with every entry owned by `owner` (uid, gid) instead of root: for a stream
/// extracted by a process that keeps owners, such as the Docker Engine's archive upload.
pub fn pack_tar_owned(
    root: &Path,
    paths: &[PathBuf],
    out: impl Write,
    limits: &ArchiveLimits,
    owner: (u64, u64),
) -> Result<PackStats, ArchiveError> {
    let mut rels = paths
        .iter()
        .map(|p| relative_to_root(root, p))
        .collect::<Result<Vec<_>, _>>()?;
    rels.sort();
    rels.dedup();
    // Sorted component-wise, a directory is immediately followed by its descendants.
    let mut selected: Vec<PathBuf> = Vec::with_capacity(rels.len());
    for rel in rels {
        if let Some(last) = selected.last()
            && rel.starts_with(last)
        {
            continue;
        }
        selected.push(rel);
    }

    let mut packer = Packer {
        builder: tar::Builder::new(out),
        root,
        owner,
        limits,
        stats: PackStats::default(),
        entries: 0,
    };
    for rel in &selected {
        packer.add(rel)?;
    }
    packer.builder.finish().map_err(stream_err(None))?;
    Ok(packer.stats)
}

/// `path` relative to `root`, lexically; `..` and paths outside `root` are refused.
fn relative_to_root(root: &Path, path: &Path) -> Result<PathBuf, ArchiveError> {
    let outside = || ArchiveError::OutsideRoot {
        path: path.to_path_buf(),
        root: root.to_path_buf(),
    };
    let rel = if path.is_absolute() {
        path.strip_prefix(root).map_err(|_| outside())?
    } else {
        path
    };
    let mut clean = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => clean.push(n),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    Ok(clean)
}

struct Packer<'a, W: Write> {
    builder: tar::Builder<W>,
    root: &'a Path,
    owner: (u64, u64),
    limits: &'a ArchiveLimits,
    stats: PackStats,
    entries: u64,
}

impl<W: Write> Packer<'_, W> {
    /// Adds `rel` (relative to the root; empty means the root's contents).
    fn add(&mut self, rel: &Path) -> Result<(), ArchiveError> {
        let full = self.root.join(rel);
        let meta = fs::symlink_metadata(&full).map_err(io_err(&full))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            if !rel.as_os_str().is_empty() {
                self.count(rel, 0)?;
                let mut header = base_header(&meta, EntryType::Directory, 0o755, self.owner);
                self.builder
                    .append_data(&mut header, rel, io::empty())
                    .map_err(stream_err(Some(&rel.to_string_lossy())))?;
                self.stats.dirs += 1;
            }
            let mut children = fs::read_dir(&full)
                .map_err(io_err(&full))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io_err(&full))?;
            children.sort();
            for name in children {
                self.add(&rel.join(name))?;
            }
        } else if ft.is_symlink() {
            let target = fs::read_link(&full).map_err(io_err(&full))?;
            self.count(rel, 0)?;
            if target.as_os_str().len() > self.limits.max_path_len {
                return Err(ArchiveError::PathTooLong {
                    entry: rel.to_string_lossy().into_owned(),
                    len: target.as_os_str().len(),
                    limit: self.limits.max_path_len,
                });
            }
            let mut header = base_header(&meta, EntryType::Symlink, 0o777, self.owner);
            self.builder
                .append_link(&mut header, rel, &target)
                .map_err(stream_err(Some(&rel.to_string_lossy())))?;
            self.stats.symlinks += 1;
        } else if ft.is_file() {
            let size = meta.len();
            self.count(rel, size)?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let mut header = base_header(&meta, EntryType::Regular, mode, self.owner);
            header.set_size(size);
            let file = fs::File::open(&full).map_err(io_err(&full))?;
            let mut reader = ExactReader {
                inner: file.take(size),
                remaining: size,
            };
            let res = self.builder.append_data(&mut header, rel, &mut reader);
            if reader.remaining > 0 {
                return Err(ArchiveError::FileChanged { path: full });
            }
            res.map_err(stream_err(Some(&rel.to_string_lossy())))?;
            self.stats.files += 1;
            self.stats.bytes += size;
        } else {
            self.stats.skipped += 1;
        }
        Ok(())
    }

    fn count(&mut self, rel: &Path, size: u64) -> Result<(), ArchiveError> {
        let name = || rel.to_string_lossy().into_owned();
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                entry: name(),
                limit: self.limits.max_entries,
            });
        }
        let len = rel.as_os_str().len();
        if len > self.limits.max_path_len {
            return Err(ArchiveError::PathTooLong {
                entry: name(),
                len,
                limit: self.limits.max_path_len,
            });
        }
        if self.stats.bytes.saturating_add(size) > self.limits.max_total_bytes {
            return Err(ArchiveError::TooLarge {
                entry: name(),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }
}

fn base_header(meta: &fs::Metadata, kind: EntryType, mode: u32, owner: (u64, u64)) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(0);
    header.set_uid(owner.0);
    header.set_gid(owner.1);
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    header.set_mtime(mtime);
    header
}

/// Reads a file's announced size; if the file shrank, stops with an error so the tar stream is
/// not silently corrupted (the caller reports [`ArchiveError::FileChanged`]).
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being archived",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Unpacking

/// Extracts a zstd-compressed tar from `input` into `root` (created if missing), following the
/// rules in the module documentation.
pub fn unpack(
    input: impl Read,
    root: &Path,
    limits: &ArchiveLimits,
) -> Result<UnpackStats, ArchiveError> {
    let decoder = zstd::Decoder::new(input).map_err(stream_err(None))?;
    unpack_tar(decoder, root, limits)
}

/// Copies `paths` (relative to `root`) into `dest` on this host, through a tar stream in a
/// temporary file: the same rules as [`pack_tar`] going out and [`unpack_tar`] coming in, so
/// symlinks stay symlinks and nothing lands outside `dest`.
pub fn copy_paths(
    root: &Path,
    paths: &[PathBuf],
    dest: &Path,
    limits: &ArchiveLimits,
) -> Result<UnpackStats, ArchiveError> {
    use std::io::Seek;
    let mut tar = tempfile::tempfile().map_err(io_err(dest))?;
    pack_tar(root, paths, &mut tar, limits)?;
    tar.rewind().map_err(io_err(dest))?;
    unpack_tar(tar, dest, limits)
}

/// [`copy_paths`] of everything in the folder `src`.
pub fn copy_dir(
    src: &Path,
    dest: &Path,
    limits: &ArchiveLimits,
) -> Result<UnpackStats, ArchiveError> {
    let children = fs::read_dir(src)
        .map_err(io_err(src))?
        .map(|e| e.map(|e| PathBuf::from(e.file_name())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err(src))?;
    copy_paths(src, &children, dest, limits)
}

/// [`unpack`] for a plain (uncompressed) tar stream.
pub fn unpack_tar(
    input: impl Read,
    root: &Path,
    limits: &ArchiveLimits,
) -> Result<UnpackStats, ArchiveError> {
    fs::create_dir_all(root).map_err(io_err(root))?;
    let mut archive = tar::Archive::new(input);
    let mut unpacker = Unpacker {
        root,
        limits,
        stats: UnpackStats::default(),
        entries: 0,
        verified_dirs: HashSet::new(),
    };
    for entry in archive.entries().map_err(stream_err(None))? {
        let entry = entry.map_err(stream_err(None))?;
        unpacker.entry(entry)?;
    }
    Ok(unpacker.stats)
}

struct Unpacker<'a> {
    root: &'a Path,
    limits: &'a ArchiveLimits,
    stats: UnpackStats,
    entries: u64,
    /// Relative directories already checked (or created) during this extraction. An archive
    /// cannot turn one of them into something else: replacing a directory is refused.
    verified_dirs: HashSet<PathBuf>,
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), ArchiveError> {
        let raw_path = entry.path_bytes().into_owned();
        let name = display_name(&raw_path);

        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                entry: name,
                limit: self.limits.max_entries,
            });
        }
        if raw_path.len() > self.limits.max_path_len {
            return Err(ArchiveError::PathTooLong {
                entry: name,
                len: raw_path.len(),
                limit: self.limits.max_path_len,
            });
        }
        let rel = clean_entry_path(&raw_path, &name)?;

        let kind = entry.header().entry_type();
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                let Some(rel) = rel else {
                    return Err(ArchiveError::Conflict {
                        entry: name,
                        existing: "directory",
                        new: "file",
                    });
                };
                let size = entry.size();
                if self.stats.bytes.saturating_add(size) > self.limits.max_total_bytes {
                    return Err(ArchiveError::TooLarge {
                        entry: name,
                        limit: self.limits.max_total_bytes,
                    });
                }
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let mtime = entry.header().mtime().ok();
                self.ensure_parents(&rel, &name)?;
                let written = self.write_file(&rel, &name, &mut entry, executable, mtime)?;
                self.stats.files += 1;
                self.stats.bytes += written;
            }
            EntryType::Directory => {
                if let Some(rel) = rel {
                    self.ensure_dir(&rel, &name)?;
                }
                self.stats.dirs += 1;
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().map(|t| t.into_owned());
                let target = target.unwrap_or_default();
                let target_name = display_name(&target);
                if target.len() > self.limits.max_path_len {
                    return Err(ArchiveError::PathTooLong {
                        entry: name,
                        len: target.len(),
                        limit: self.limits.max_path_len,
                    });
                }
                let Some(rel) = rel else {
                    return Err(ArchiveError::Conflict {
                        entry: name,
                        existing: "directory",
                        new: "symlink",
                    });
                };
                if !symlink_stays_inside(&rel, &target) {
                    return Err(ArchiveError::SymlinkEscape {
                        entry: name,
                        target: target_name,
                    });
                }
                self.ensure_parents(&rel, &name)?;
                self.write_symlink(&rel, &name, &target)?;
                self.stats.symlinks += 1;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| display_name(&t))
                    .unwrap_or_default();
                return Err(ArchiveError::HardLink {
                    entry: name,
                    target,
                });
            }
            other => {
                return Err(ArchiveError::UnsupportedType {
                    entry: name,
                    kind: type_name(other),
                });
            }
        }
        Ok(())
    }

    /// Checks (creating where missing) every parent directory of `rel`.
    fn ensure_parents(&mut self, rel: &Path, name: &str) -> Result<(), ArchiveError> {
        match rel.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => self.ensure_dir(parent, name),
            _ => Ok(()),
        }
    }

    /// Makes sure `rel` and all its ancestors are real directories inside the root, creating
    /// missing ones. Never follows a symlink.
    fn ensure_dir(&mut self, rel: &Path, name: &str) -> Result<(), ArchiveError> {
        if self.verified_dirs.contains(rel) {
            return Ok(());
        }
        let mut prefix = PathBuf::new();
        for component in rel.components() {
            prefix.push(component);
            if self.verified_dirs.contains(&prefix) {
                continue;
            }
            let full = self.root.join(&prefix);
            match fs::symlink_metadata(&full) {
                Ok(meta) if meta.file_type().is_dir() => {}
                Ok(_) => {
                    return Err(ArchiveError::UnsafeParent {
                        entry: name.to_owned(),
                        component: prefix,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // create_dir (not create_dir_all): the parent was just verified, and an
                    // AlreadyExists race is re-checked below rather than trusted.
                    if let Err(e) = fs::create_dir(&full) {
                        let ok = e.kind() == io::ErrorKind::AlreadyExists
                            && fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_dir());
                        if !ok {
                            return Err(ArchiveError::Io {
                                path: full,
                                source: e,
                            });
                        }
                    }
                }
                Err(e) => {
                    return Err(ArchiveError::Io {
                        path: full,
                        source: e,
                    });
                }
            }
            self.verified_dirs.insert(prefix.clone());
        }
        Ok(())
    }

    /// What is at `rel` now, refusing to replace a directory.
    fn check_replaceable(
        &self,
        rel: &Path,
        name: &str,
        new: &'static str,
    ) -> Result<(), ArchiveError> {
        let full = self.root.join(rel);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_dir() => Err(ArchiveError::Conflict {
                entry: name.to_owned(),
                existing: "directory",
                new,
            }),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ArchiveError::Io {
                path: full,
                source: e,
            }),
        }
    }

    fn write_file<R: Read>(
        &mut self,
        rel: &Path,
        name: &str,
        entry: &mut tar::Entry<'_, R>,
        executable: bool,
        mtime: Option<u64>,
    ) -> Result<u64, ArchiveError> {
        self.check_replaceable(rel, name, "file")?;
        let full = self.root.join(rel);
        let dir = full.parent().unwrap_or(self.root);
        let mut tmp = tempfile::Builder::new()
            .prefix(".circa-unpack-")
            .tempfile_in(dir)
            .map_err(io_err(dir))?;
        let written = io::copy(entry, tmp.as_file_mut()).map_err(stream_err(Some(name)))?;
        let mode = if executable { 0o755 } else { 0o644 };
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err(tmp.path()))?;
        if let Some(secs) = mtime {
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            tmp.as_file()
                .set_modified(when)
                .map_err(io_err(tmp.path()))?;
        }
        // rename() replaces a symlink at `full` itself; it never writes through it.
        tmp.persist(&full).map_err(|e| ArchiveError::Io {
            path: full.clone(),
            source: e.error,
        })?;
        Ok(written)
    }

    fn write_symlink(&mut self, rel: &Path, name: &str, target: &[u8]) -> Result<(), ArchiveError> {
        self.check_replaceable(rel, name, "symlink")?;
        let full = self.root.join(rel);
        match fs::remove_file(&full) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ArchiveError::Io {
                    path: full,
                    source: e,
                });
            }
        }
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &full).map_err(io_err(&full))
    }
}

/// The entry path as a clean relative path; `None` for the root itself (`./`).
fn clean_entry_path(raw: &[u8], name: &str) -> Result<Option<PathBuf>, ArchiveError> {
    if raw.first() == Some(&b'/') {
        return Err(ArchiveError::AbsolutePath {
            entry: name.to_owned(),
        });
    }
    let mut clean = PathBuf::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(ArchiveError::ParentComponent {
                    entry: name.to_owned(),
                });
            }
            _ => clean.push(OsStr::from_bytes(part)),
        }
    }
    Ok(if clean.as_os_str().is_empty() {
        None
    } else {
        Some(clean)
    })
}

/// A symlink at `rel` pointing at `target` stays inside the root: the target is relative, its
/// `..` components all come first and climb no higher than the link's directory depth.
///
/// `..` after a normal component is refused even when it would resolve inside lexically:
/// `a/..` through a symlink `a -> .` would reach the root's parent.
fn symlink_stays_inside(rel: &Path, target: &[u8]) -> bool {
    if target.is_empty() || target.first() == Some(&b'/') {
        return false;
    }
    let depth = rel.components().count().saturating_sub(1);
    let mut ups = 0usize;
    let mut seen_normal = false;
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if seen_normal {
                    return false;
                }
                ups += 1;
            }
            _ => seen_normal = true,
        }
    }
    ups <= depth
}

fn type_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "fifo",
        EntryType::GNUSparse => "sparse file",
        EntryType::GNULongName | EntryType::GNULongLink => "stray GNU long-name",
        EntryType::XHeader | EntryType::XGlobalHeader => "stray PAX header",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;
