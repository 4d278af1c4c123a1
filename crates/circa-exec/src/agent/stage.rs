//! Staging the agent folder: the host scripts, and the container folder with the binary, its
//! loader and libraries, and the `bin/` scripts.
//!
//! Invariant: every file is written under a temporary name in its final folder and renamed
//! into place, so a concurrent stager or a running job never sees a half-written file, and
//! staging the same root from several processes at once is safe. A file already in place is
//! kept when it is the same file as its source (same inode) or has the same size and
//! modification time (copies get their source's time), so staging again is cheap.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{AgentError, CONTAINER_DIR, LOADER_ALIAS, elf};

/// The programs the scripts in `bin/` provide; the shell executor gets the first two.
pub(crate) const PROGRAMS: [&str; 3] = ["circleci", "circleci-agent", "circa-agent"];

/// Stages `exe` under `root` (see [`super::AgentDir::stage`]).
pub(crate) fn stage(root: &Path, exe: &Path) -> Result<(), AgentError> {
    let exe = fs::canonicalize(exe).map_err(io(exe))?;
    let needs = elf::needs(&exe).map_err(AgentError::Libraries)?;

    let host_bin = root.join("host").join("bin");
    let container = root.join("container");
    let container_bin = container.join("bin");
    let lib = container.join("lib");
    for dir in [&host_bin, &container_bin, &lib] {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    // The container folder is read by whatever user the image runs as.
    for dir in [&container, &container_bin, &lib] {
        let mode = fs::metadata(dir).map_err(io(dir))?.mode();
        if mode & 0o755 != 0o755 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io(dir))?;
        }
    }

    for name in &PROGRAMS[..2] {
        let script = format!(
            "#!/bin/sh\nexec {} __agent {name} \"$@\"\n",
            shell_quote(&exe.to_string_lossy())
        );
        write_script(&host_bin.join(name), &script)?;
    }

    install(&exe, &container.join("circa"), 0o755)?;
    let launcher = match &needs.interpreter {
        None => format!("{CONTAINER_DIR}/circa"),
        Some(interp) => {
            let interp_name = interp
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    AgentError::Libraries(format!("odd loader path {}", interp.display()))
                })?;
            let real = fs::canonicalize(interp).map_err(io(interp))?;
            install(&real, &lib.join(&interp_name), 0o755)?;
            install(&real, &lib.join(LOADER_ALIAS), 0o755)?;
            for (name, path) in &needs.libraries {
                install(path, &lib.join(name), 0o644)?;
            }
            format!(
                "{CONTAINER_DIR}/lib/{interp_name} --library-path {CONTAINER_DIR}/lib {CONTAINER_DIR}/circa"
            )
        }
    };
    for name in PROGRAMS {
        let script = format!("#!/bin/sh\nexec {launcher} __agent {name} \"$@\"\n");
        write_script(&container_bin.join(name), &script)?;
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `text` quoted for `/bin/sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A fresh name in `dst`'s folder, unique across processes and threads.
fn temp_name(dst: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dst.with_file_name(format!(".{name}.tmp.{}.{nanos}.{n}", std::process::id()))
}

/// Renames `tmp` onto `dst`, removing `tmp` when that fails.
fn commit(tmp: &Path, dst: &Path) -> Result<(), AgentError> {
    fs::rename(tmp, dst).map_err(|e| {
        let _ = fs::remove_file(tmp);
        io(dst)(e)
    })
}

/// Writes an executable script unless `dst` already holds exactly `text`.
fn write_script(dst: &Path, text: &str) -> Result<(), AgentError> {
    if let Ok(meta) = fs::metadata(dst)
        && meta.permissions().mode() & 0o777 == 0o755
        && fs::read(dst).is_ok_and(|current| current == text.as_bytes())
    {
        return Ok(());
    }
    let tmp = temp_name(dst);
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.set_permissions(fs::Permissions::from_mode(0o755))?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io(dst)(e));
    }
    commit(&tmp, dst)
}

/// True when `dst` is `src` or a copy of it made by [`install`].
fn up_to_date(src: &fs::Metadata, dst: &Path, mode: u32) -> bool {
    let Ok(d) = fs::symlink_metadata(dst) else {
        return false;
    };
    if !d.is_file() || d.mode() & mode != mode {
        return false;
    }
    (d.dev() == src.dev() && d.ino() == src.ino())
        || (d.len() == src.len() && d.mtime() == src.mtime() && d.mtime_nsec() == src.mtime_nsec())
}

/// Puts `src` at `dst` with at least permissions `mode`: a hard link when `src` already has
/// them and is on the same file system, else a copy with `src`'s modification time.
fn install(src: &Path, dst: &Path, mode: u32) -> Result<(), AgentError> {
    let meta = fs::metadata(src).map_err(io(src))?;
    if up_to_date(&meta, dst, mode) {
        return Ok(());
    }
    let tmp = temp_name(dst);
    if meta.mode() & mode == mode && fs::hard_link(src, &tmp).is_ok() {
        return commit(&tmp, dst);
    }
    let copied = (|| {
        fs::copy(src, &tmp)?;
        let f = fs::OpenOptions::new().write(true).open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.set_modified(meta.modified()?)?;
        f.sync_all()
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(io(dst)(e));
    }
    commit(&tmp, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
        assert_eq!(shell_quote("/it's"), r"'/it'\''s'");
    }

    #[test]
    fn install_copies_then_reuses_then_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, "one").unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o600)).unwrap();
        let dst = dir.path().join("dst");
        // Permissions too narrow for a link: copied, widened.
        install(&src, &dst, 0o644).unwrap();
        let first = fs::metadata(&dst).unwrap();
        assert_ne!(first.ino(), fs::metadata(&src).unwrap().ino());
        assert_eq!(first.mode() & 0o777, 0o644);
        assert_eq!(fs::read_to_string(&dst).unwrap(), "one");
        // Same size and time: kept as is.
        install(&src, &dst, 0o644).unwrap();
        assert_eq!(fs::metadata(&dst).unwrap().ino(), first.ino());
        // Changed source: replaced.
        fs::write(&src, "two!").unwrap();
        install(&src, &dst, 0o644).unwrap();
        assert_eq!(fs::read_to_string(&dst).unwrap(), "two!");
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn install_links_when_permissions_allow() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, "x").unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o755)).unwrap();
        let dst = dir.path().join("dst");
        install(&src, &dst, 0o755).unwrap();
        assert_eq!(
            fs::metadata(&dst).unwrap().ino(),
            fs::metadata(&src).unwrap().ino()
        );
    }

    #[test]
    fn scripts_are_rewritten_only_when_different() {
        let dir = tempfile::tempdir().unwrap();
        let dst = dir.path().join("s");
        write_script(&dst, "#!/bin/sh\necho 1\n").unwrap();
        let ino = fs::metadata(&dst).unwrap().ino();
        assert_eq!(fs::metadata(&dst).unwrap().mode() & 0o777, 0o755);
        write_script(&dst, "#!/bin/sh\necho 1\n").unwrap();
        assert_eq!(fs::metadata(&dst).unwrap().ino(), ino);
        write_script(&dst, "#!/bin/sh\necho 2\n").unwrap();
        assert_eq!(fs::read_to_string(&dst).unwrap(), "#!/bin/sh\necho 2\n");
    }
}
