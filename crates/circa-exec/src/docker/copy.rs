//! Trees out of and into the primary container, as tar streams through the engine's archive
//! API. Everything that comes out is unpacked with [`archive::unpack_tar`].

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::client::{DockerClient, describe, docker_err, is_not_found};
use super::exec;
use crate::archive::{self, ArchiveLimits, UnpackStats};
use crate::executor::{CopiedOut, ExecError};

/// Tar chunks in flight between the engine and the (blocking) packer or unpacker.
const CHUNKS: usize = 16;

/// Bytes the packer gathers before it hands a chunk to the upload.
const CHUNK_BYTES: usize = 256 * 1024;

/// What the copies need to know about the primary container.
pub(crate) struct Target<'a> {
    pub client: &'a DockerClient,
    pub container: &'a str,
    pub user: Option<&'a str>,
    /// The uid and gid copied-in files get.
    pub owner: (u64, u64),
    pub limits: &'a ArchiveLimits,
}

/// One pattern of [`copy_out`], checked and split into components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// The root itself (`.`).
    Root,
    /// A path without meta characters, relative to the root, escapes removed.
    Plain(String),
    /// A Go `filepath.Match` pattern, one entry per path component.
    Glob(Vec<String>),
}

/// Checks `pattern` (relative to `root`, or absolute inside it; no `..`).
pub(crate) fn parse_pattern(root: &str, pattern: &str) -> Result<Pattern, String> {
    let rel = if pattern.starts_with('/') {
        let root = root.trim_end_matches('/');
        match pattern.strip_prefix(root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => return Err("an absolute path outside the root".to_owned()),
        }
    } else {
        pattern
    };
    let mut components = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("`..` is not allowed".to_owned()),
            p => components.push(p.to_owned()),
        }
    }
    if components.is_empty() {
        return Ok(Pattern::Root);
    }
    if components.iter().any(|c| has_meta(c)) {
        for c in &components {
            case_pattern(c)?;
        }
        Ok(Pattern::Glob(components))
    } else {
        Ok(Pattern::Plain(components.join("/")))
    }
}

fn has_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', '\\'])
}

/// One component of a Go pattern as a shell `case` pattern: literal characters are quoted,
/// `*` and `?` stay, `[^…]` becomes `[!…]`, `\x` is a quoted `x`. In a `case` pattern `*`
/// also matches a leading `.`, as Go's does.
pub(crate) fn case_pattern(component: &str) -> Result<String, String> {
    let mut out = String::with_capacity(component.len() + 8);
    let mut chars = component.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => out.push(c),
            '\\' => {
                let escaped = chars
                    .next()
                    .ok_or_else(|| "a pattern ends with `\\`".to_owned())?;
                push_quoted(&mut out, escaped);
            }
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('!');
                }
                let mut closed = false;
                let mut empty = true;
                while let Some(c) = chars.next() {
                    match c {
                        ']' if !empty => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let escaped = chars
                                .next()
                                .ok_or_else(|| "a pattern ends with `\\`".to_owned())?;
                            push_class_char(&mut out, escaped);
                        }
                        '-' if !empty && chars.peek().is_some_and(|n| *n != ']') => out.push('-'),
                        c => push_class_char(&mut out, c),
                    }
                    empty = false;
                }
                if !closed {
                    return Err("a `[` without its `]`".to_owned());
                }
                out.push(']');
            }
            c => push_quoted(&mut out, c),
        }
    }
    Ok(out)
}

fn push_quoted(out: &mut String, c: char) {
    if c == '\'' {
        out.push_str("\\'");
    } else {
        out.push('\'');
        out.push(c);
        out.push('\'');
    }
}

fn push_class_char(out: &mut String, c: char) {
    if !c.is_ascii_alphanumeric() {
        out.push('\\');
    }
    out.push(c);
}

/// A string as one single-quoted shell word.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The script that expands `globs` under the current directory. For each pattern it prints
/// every match followed by a NUL, then an empty record. Only real directories are searched
/// (a symlink is a leaf); names are matched with `case`, so `*` matches dotfiles too.
pub(crate) fn glob_script(root: &str, globs: &[Vec<String>]) -> Result<String, String> {
    // A root that cannot be entered has no matches.
    let mut script = format!("cd -- {} 2>/dev/null || exit 0\n", shell_quote(root));
    for components in globs {
        let mut prefix = String::from("'.'");
        let last = components.len().saturating_sub(1);
        // What closes each opened `for` (`done`) or `if` (`fi`), innermost last.
        let mut closers = Vec::new();
        for (i, component) in components.iter().enumerate() {
            let var = format!("e{i}");
            if has_meta(component) {
                let pattern = case_pattern(component)?;
                script.push_str(&format!(
                    "for {var} in {prefix}/* {prefix}/.[!.]* {prefix}/..?*; do \
                     {{ [ -e \"${var}\" ] || [ -L \"${var}\" ]; }} || continue; \
                     case \"${{{var}##*/}}\" in {pattern}) ;; *) continue ;; esac; "
                ));
                closers.push("done");
            } else {
                script.push_str(&format!("{var}={prefix}/{}; ", shell_quote(component)));
                script.push_str(&format!("if [ -e \"${var}\" ] || [ -L \"${var}\" ]; then "));
                closers.push("fi");
            }
            if i < last {
                script.push_str(&format!(
                    "if [ -d \"${var}\" ] && [ ! -L \"${var}\" ]; then "
                ));
                closers.push("fi");
            } else {
                script.push_str(&format!("printf '%s\\0' \"${var}\"; "));
            }
            prefix = format!("\"${var}\"");
        }
        for closer in closers.iter().rev() {
            script.push_str(closer);
            script.push_str("; ");
        }
        script.push_str("printf '\\0'\n");
    }
    Ok(script)
}

/// Splits the glob script's output into the matches of each pattern (`./` removed, sorted
/// component by component, as Go's `filepath.Glob` returns them).
pub(crate) fn parse_glob_output(out: &[u8], patterns: usize) -> Vec<Vec<String>> {
    let mut result = vec![Vec::new(); patterns];
    let mut index = 0;
    for record in out.split(|b| *b == 0) {
        if index >= patterns {
            break;
        }
        if record.is_empty() {
            index += 1;
            continue;
        }
        let text = String::from_utf8_lossy(record);
        let rel = text.strip_prefix("./").unwrap_or(&text).to_owned();
        result[index].push(rel);
    }
    for matches in &mut result {
        matches.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
    }
    result
}

/// See [`crate::executor::Executor::copy_out`].
pub(crate) async fn copy_out(
    target: &Target<'_>,
    root: &str,
    patterns: &[String],
    dest: &Path,
) -> Result<CopiedOut, ExecError> {
    let mut parsed = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let p = parse_pattern(root, pattern).map_err(|reason| {
            ExecError::Other(format!("path {pattern:?} to copy out of {root}: {reason}"))
        })?;
        parsed.push(p);
    }
    let globs: Vec<Vec<String>> = parsed
        .iter()
        .filter_map(|p| match p {
            Pattern::Glob(components) => Some(components.clone()),
            _ => None,
        })
        .collect();
    let mut expanded = if globs.is_empty() {
        Vec::new()
    } else {
        expand_globs(target, root, &globs).await?
    }
    .into_iter();

    let mut copied = CopiedOut::default();
    let mut budget = target.limits.clone();
    for (pattern, parsed) in patterns.iter().zip(&parsed) {
        let matches = match parsed {
            Pattern::Root => vec![".".to_owned()],
            Pattern::Plain(path) => vec![path.clone()],
            Pattern::Glob(_) => expanded.next().unwrap_or_default(),
        };
        let mut found = false;
        for rel in matches {
            if let Some(stats) = download(target, root, &rel, dest, &budget).await? {
                found = true;
                budget.max_total_bytes = budget.max_total_bytes.saturating_sub(stats.bytes);
                budget.max_entries = budget
                    .max_entries
                    .saturating_sub(stats.files + stats.dirs + stats.symlinks);
                copied.matched.push(rel);
            }
        }
        if !found {
            copied.missing.push(pattern.clone());
        }
    }
    Ok(copied)
}

async fn expand_globs(
    target: &Target<'_>,
    root: &str,
    globs: &[Vec<String>],
) -> Result<Vec<Vec<String>>, ExecError> {
    let script = glob_script(root, globs).map_err(ExecError::Other)?;
    let argv = vec!["/bin/sh".to_owned(), "-c".to_owned(), script];
    let captured = exec::capture_as(target.client, target.container, target.user, argv).await?;
    if captured.code != 0 {
        return Err(ExecError::Other(format!(
            "expanding paths under {root} failed (exit code {}): {}",
            captured.code,
            captured.stderr_text()
        )));
    }
    Ok(parse_glob_output(&captured.stdout, globs.len()))
}

/// Downloads `root/rel` and unpacks it into `dest/<parent of rel>`; `None` when it does not
/// exist.
async fn download(
    target: &Target<'_>,
    root: &str,
    rel: &str,
    dest: &Path,
    limits: &ArchiveLimits,
) -> Result<Option<UnpackStats>, ExecError> {
    let root = root.trim_end_matches('/');
    let (path, parent) = if rel == "." {
        (format!("{root}/."), PathBuf::new())
    } else {
        let rel_path = Path::new(rel);
        let parent = rel_path.parent().map(Path::to_path_buf).unwrap_or_default();
        (format!("{root}/{rel}"), parent)
    };
    let options = DownloadFromContainerOptions { path: path.clone() };
    let mut stream = target
        .client
        .api()
        .download_from_container(target.container, Some(options));
    let first = match stream.next().await {
        None => return Ok(Some(UnpackStats::default())),
        Some(Err(e)) if is_not_found(&e) => return Ok(None),
        Some(Err(e)) => {
            return Err(ExecError::Docker(format!(
                "copying {path} out of the container: {}",
                describe(&e)
            )));
        }
        Some(Ok(chunk)) => chunk,
    };
    let into = ensure_real_dir(dest, &parent)?;
    let (tx, rx) = mpsc::channel(CHUNKS);
    let limits = limits.clone();
    let unpacker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        };
        archive::unpack_tar(reader, &into, &limits)
    });
    let feeding = path.clone();
    let feed = async move {
        if tx.send(Ok(first.to_vec())).await.is_err() {
            return;
        }
        while let Some(item) = stream.next().await {
            let item = item.map(|b| b.to_vec()).map_err(|e| {
                io::Error::other(format!(
                    "copying {feeding} out of the container: {}",
                    describe(&e)
                ))
            });
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    };
    // The sender is dropped at the end of `feed`: the unpacker then sees the end.
    feed.await;
    let stats = unpacker
        .await
        .map_err(|e| ExecError::Other(format!("unpacking a copy: {e}")))??;
    Ok(Some(stats))
}

/// `dest/rel`, creating missing directories, never through a symlink or a non-directory.
fn ensure_real_dir(dest: &Path, rel: &Path) -> Result<PathBuf, ExecError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExecError::Io { path, source }
    };
    fs::create_dir_all(dest).map_err(io_err(dest))?;
    let mut current = dest.to_path_buf();
    for component in rel.components() {
        let Component::Normal(name) = component else {
            continue;
        };
        current.push(name);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => {
                return Err(ExecError::Other(format!(
                    "{}: not a real directory; refusing to copy into it",
                    current.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&current).map_err(io_err(&current))?;
            }
            Err(e) => return Err(io_err(&current)(e)),
        }
    }
    Ok(current)
}

/// See [`crate::executor::Executor::copy_in`].
pub(crate) async fn copy_in(target: &Target<'_>, src: &Path, dest: &str) -> Result<(), ExecError> {
    exec::mkdir_p(target.client, target.container, target.user, dest).await?;

    let (tx, rx) = mpsc::channel::<io::Result<Vec<u8>>>(CHUNKS);
    let src_owned = src.to_path_buf();
    let limits = target.limits.clone();
    let owner = target.owner;
    let packer = tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK_BYTES),
        };
        let result = archive::pack_tar_owned(
            &src_owned,
            std::slice::from_ref(&src_owned),
            &mut writer,
            &limits,
            owner,
        )
        .and_then(|stats| {
            writer
                .flush()
                .map_err(|source| archive::ArchiveError::Stream {
                    entry: None,
                    source,
                })?;
            Ok(stats)
        });
        if let Err(e) = &result {
            // The upload must not look complete: end it with an error.
            let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
        result
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Into::into), rx))
    });
    let options = UploadToContainerOptions {
        path: dest.to_owned(),
        ..Default::default()
    };
    let uploaded = target
        .client
        .uploads()
        .upload_to_container(
            target.container,
            Some(options),
            bollard::body_try_stream(body),
        )
        .await;
    let packed = packer
        .await
        .map_err(|e| ExecError::Other(format!("packing {}: {e}", src.display())))?;
    match (packed, uploaded) {
        (Ok(_), Ok(())) => Ok(()),
        // The upload stopped first; the packer only saw its end.
        (Err(archive::ArchiveError::Stream { source, .. }), Err(e))
            if source.kind() == io::ErrorKind::BrokenPipe =>
        {
            Err(docker_err("copying into the container")(e))
        }
        (Err(e), _) => Err(e.into()),
        (Ok(_), Err(e)) => Err(docker_err("copying into the container")(e)),
    }
}

/// A blocking reader over chunks sent from async code.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A blocking writer that sends chunks to async code.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload ended early"))
    }
}
