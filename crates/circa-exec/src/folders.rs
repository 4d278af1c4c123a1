//! Emptying folders so they can be used again: a runner keeps each task folder for the next
//! task, because removing and making folders and files (freeing and allocating inodes and
//! blocks) costs far more than emptying them on many file systems.

use std::fs::{self, DirEntry};
use std::io;
use std::path::Path;

/// Removes one entry of a folder: a folder with everything in it, else the file or link
/// itself (a link is never followed).
pub fn remove_entry(entry: &DirEntry) -> io::Result<()> {
    let path = entry.path();
    if entry.file_type()?.is_dir() {
        fs::remove_dir_all(&path)
    } else {
        fs::remove_file(&path)
    }
}

/// Removes everything in `dir`, but `dir` itself stays.
pub fn empty_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        remove_entry(&entry?)?;
    }
    Ok(())
}

/// Makes `bytes` the whole content of the file at `path`, writing over a file that is there
/// rather than emptying it first, so its blocks are used again instead of freed and allocated.
pub fn overwrite(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.write_all_at(bytes, 0)?;
    if file.metadata()?.len() != bytes.len() as u64 {
        file.set_len(bytes.len() as u64)?;
    }
    Ok(())
}

/// Blanks the file at `path`: its bytes become zeros, its length and its blocks stay.
pub fn blank(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new().write(true).open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let zeros = vec![0u8; len.min(64 * 1024)];
    let mut at = 0usize;
    while at < len {
        let n = zeros.len().min(len - at);
        file.write_all_at(&zeros[..n], at as u64)?;
        at += n;
    }
    Ok(())
}

/// Fails unless `dir` is a folder (not a link to one).
pub fn ensure_real_dir(dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a folder", dir.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptying_keeps_the_folder_and_never_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep.txt"), "x").unwrap();
        let d = dir.path().join("d");
        fs::create_dir_all(d.join("sub/deeper")).unwrap();
        fs::write(d.join("sub/deeper/f"), "y").unwrap();
        fs::write(d.join("file"), "z").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.join("link")).unwrap();
        empty_dir(&d).unwrap();
        assert!(d.is_dir());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
        assert!(outside.path().join("keep.txt").exists());
        ensure_real_dir(&d).unwrap();
        let f = d.join("script.sh");
        overwrite(&f, b"echo a long first script\n").unwrap();
        overwrite(&f, b"echo b\n").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"echo b\n");
        blank(&f).unwrap();
        assert_eq!(fs::read(&f).unwrap(), vec![0u8; 7]);
        let link = dir.path().join("to-d");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(ensure_real_dir(&link).is_err());
    }
}
