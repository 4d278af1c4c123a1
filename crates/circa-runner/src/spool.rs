//! A task's numbered events on disk until the server acknowledges them.
//!
//! `<task>.jsonl` holds one [`TaskEvent`] per line (`{"seq":N,...}`), oldest first, and an
//! empty line after the last: what follows it is left over from earlier use and is never read.
//! `<task>.acked` holds the highest number the server acknowledged. Appending gives each event
//! the next number; [`Spool::read`] returns the oldest unacknowledged events as a ready-made
//! [`circa_model::protocol::EventBatch`] body, read from the file so memory stays small however
//! long the log; [`Spool::ack`] forgets what the server stored: the file is emptied once
//! everything is acknowledged and it has grown past [`SHRINK_AT`], and rewritten without its
//! acknowledged head when that head grows large. [`Spool::restart`] readies the spool for the
//! next task. Files are overwritten in place rather than emptied or made anew: freeing and
//! allocating blocks and inodes is what costs most on many file systems. Reopening a spool
//! (after a restart) continues the numbering and resends only what was not acknowledged. One
//! task reads and acknowledges; any number may append.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use circa_model::protocol::{EventBatch, TaskEvent, TaskEventKind};

/// An acknowledged head at least this long is cut off the file even while events are pending.
const COMPACT_AT: u64 = 64 * 1024 * 1024;

/// A spool file at least this long is emptied once everything in it is acknowledged; a
/// shorter one is overwritten by the events that come next.
pub const SHRINK_AT: u64 = 1024 * 1024;

/// Ends the events in the file (an empty line).
const END: &[u8] = b"\n";

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file operation.
    #[error("event spool {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An event that cannot be written as JSON (never happens with the protocol's types).
    #[error("event spool: {0}")]
    Encode(#[from] serde_json::Error),
    /// The server acknowledged less than it had acknowledged before: events it lost are gone
    /// from the spool too.
    #[error("the server acknowledged event {acked}, but had already acknowledged up to {before}")]
    Regressed {
        /// What the server acknowledged now.
        acked: u64,
        /// What it had acknowledged.
        before: u64,
    },
}

/// Unacknowledged events read from a spool.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    body: Vec<u8>,
    first_seq: u64,
    /// The file offset after each event.
    ends: Vec<u64>,
}

impl Batch {
    /// How many events.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The first event's number.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The last event's number (one less than the first when empty).
    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.ends.len() as u64 - 1
    }

    /// The events as an [`EventBatch`] in JSON.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The events, parsed back (for tests and logs).
    pub fn events(&self) -> Result<Vec<TaskEvent>, serde_json::Error> {
        serde_json::from_slice::<EventBatch>(&self.body).map(|b| b.events)
    }
}

struct Inner {
    file: File,
    acked_file: File,
    /// Bytes of whole lines in the file.
    len: u64,
    /// Where the first unacknowledged event starts.
    read_pos: u64,
    next_seq: u64,
    acked: u64,
}

/// One task's event spool.
pub struct Spool {
    path: PathBuf,
    acked_path: PathBuf,
    compact_at: u64,
    shrink_at: u64,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Spool {
    /// A new, empty spool at `path` (`<dir>/<task>.jsonl`), replacing any left there.
    pub fn create(path: &Path) -> Result<Spool, SpoolError> {
        for p in [path.to_path_buf(), acked_path(path)] {
            match fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&p)(e)),
                _ => {}
            }
        }
        Self::open(path)
    }

    /// Opens the spool at `path`, creating it if missing; after a restart it continues where
    /// the last acknowledgement left it (a half-written last line is dropped).
    pub fn open(path: &Path) -> Result<Spool, SpoolError> {
        let acked_path = acked_path(path);
        let mut acked_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&acked_path)
            .map_err(io(&acked_path))?;
        let mut text = String::new();
        // An unreadable count means nothing was acknowledged: everything is sent again and the
        // server drops what it already has.
        let _ = acked_file.read_to_string(&mut text);
        let acked = text.trim().parse::<u64>().unwrap_or(0);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io(path))?;
        let scan = scan(&file, acked).map_err(io(path))?;
        if scan.len < file.metadata().map_err(io(path))?.len() {
            file.write_all_at(END, scan.len).map_err(io(path))?;
        }
        Ok(Spool {
            path: path.to_path_buf(),
            acked_path,
            compact_at: COMPACT_AT,
            shrink_at: SHRINK_AT,
            inner: Mutex::new(Inner {
                file,
                acked_file,
                len: scan.len,
                read_pos: scan.read_pos,
                next_seq: scan.last_seq.max(acked) + 1,
                acked,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Appends an event with the next number, and returns the number.
    pub fn append(&self, kind: &TaskEventKind) -> Result<u64, SpoolError> {
        // `{"event":...}` becomes `{"seq":N,"event":...}`: the same JSON as a `TaskEvent`,
        // with the number first so reading it back needs no parsing.
        let body = serde_json::to_vec(kind)?;
        let rest = body.get(1..).unwrap_or_default();
        let mut inner = self.lock();
        let seq = inner.next_seq;
        let mut line = Vec::with_capacity(body.len() + 32);
        line.extend_from_slice(format!("{{\"seq\":{seq},").as_bytes());
        line.extend_from_slice(rest);
        line.push(b'\n');
        line.extend_from_slice(END);
        if let Err(e) = inner.file.write_all_at(&line, inner.len) {
            // Never leave half a line readable: the end goes back where it was.
            let _ = inner.file.write_all_at(END, inner.len);
            return Err(io(&self.path)(e));
        }
        inner.len += (line.len() - END.len()) as u64;
        inner.next_seq += 1;
        Ok(seq)
    }

    /// The number of the last event appended (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// The highest number the server acknowledged.
    pub fn acked(&self) -> u64 {
        self.lock().acked
    }

    /// Whether every event appended is acknowledged.
    pub fn all_acked(&self) -> bool {
        let inner = self.lock();
        inner.acked + 1 >= inner.next_seq
    }

    /// The oldest unacknowledged events, about `max_bytes` of them (at least one, if any).
    pub fn read(&self, max_bytes: usize) -> Result<Batch, SpoolError> {
        let (file, start, end, first_seq) = {
            let inner = self.lock();
            // A handle of its own: the appending one's offset moves with every write.
            let file = File::open(&self.path).map_err(io(&self.path))?;
            (file, inner.read_pos, inner.len, inner.acked + 1)
        };
        let mut batch = Batch {
            body: b"{\"events\":[".to_vec(),
            first_seq,
            ends: Vec::new(),
        };
        if start < end {
            let mut reader = BufReader::with_capacity(64 * 1024, file);
            reader
                .seek(SeekFrom::Start(start))
                .map_err(io(&self.path))?;
            let mut reader = reader.take(end - start);
            let mut pos = start;
            let mut line = Vec::new();
            while batch.ends.is_empty() || batch.body.len() < max_bytes {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(io(&self.path))?;
                if n == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                pos += n as u64;
                if batch.ends.is_empty() {
                    batch.first_seq = line_seq(&line).unwrap_or(first_seq);
                } else {
                    batch.body.push(b',');
                }
                batch.body.extend_from_slice(&line[..n - 1]);
                batch.ends.push(pos);
            }
        }
        batch.body.extend_from_slice(b"]}");
        Ok(batch)
    }

    /// Forgets the events of `batch` up to `acked`, the server's answer to it. Returns how
    /// many were forgotten.
    pub fn ack(&self, batch: &Batch, acked: u64) -> Result<usize, SpoolError> {
        let mut inner = self.lock();
        if acked < inner.acked {
            return Err(SpoolError::Regressed {
                acked,
                before: inner.acked,
            });
        }
        if batch.is_empty() || acked < batch.first_seq() {
            return Ok(0);
        }
        let last = acked.min(batch.last_seq());
        let count = usize::try_from(last - batch.first_seq() + 1).unwrap_or(batch.len());
        let Some(&end) = batch.ends.get(count - 1) else {
            return Ok(0);
        };
        inner.read_pos = end;
        inner.acked = last;
        let line = format!("{last:020}\n");
        inner
            .acked_file
            .write_all_at(line.as_bytes(), 0)
            .map_err(io(&self.acked_path))?;
        if inner.read_pos == inner.len {
            if inner.len >= self.shrink_at {
                inner.file.set_len(0).map_err(io(&self.path))?;
                inner.len = 0;
                inner.read_pos = 0;
            }
        } else if inner.read_pos >= self.compact_at && inner.read_pos > inner.len - inner.read_pos {
            self.compact(&mut inner)?;
        }
        Ok(count)
    }

    /// Rewrites the file without its acknowledged head.
    fn compact(&self, inner: &mut Inner) -> Result<(), SpoolError> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut out = File::create(&tmp).map_err(io(&tmp))?;
        let mut src = inner.file.try_clone().map_err(io(&self.path))?;
        src.seek(SeekFrom::Start(inner.read_pos))
            .map_err(io(&self.path))?;
        std::io::copy(&mut src.take(inner.len - inner.read_pos), &mut out).map_err(io(&tmp))?;
        drop(out);
        fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        inner.file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        inner.len -= inner.read_pos;
        inner.read_pos = 0;
        Ok(())
    }

    /// Readies the spool for another task: nothing in it, numbering from 1 again. The files
    /// stay (emptied only when past [`SHRINK_AT`]); what they held is overwritten.
    pub fn restart(&self) -> Result<(), SpoolError> {
        let mut inner = self.lock();
        inner
            .acked_file
            .write_all_at(format!("{:020}\n", 0).as_bytes(), 0)
            .map_err(io(&self.acked_path))?;
        let size = inner.file.metadata().map_err(io(&self.path))?.len();
        if size >= self.shrink_at {
            inner.file.set_len(0).map_err(io(&self.path))?;
        } else if size > 0 {
            inner.file.write_all_at(END, 0).map_err(io(&self.path))?;
        }
        inner.len = 0;
        inner.read_pos = 0;
        inner.next_seq = 1;
        inner.acked = 0;
        Ok(())
    }

    /// Removes the spool's files.
    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(&self.acked_path);
    }
}

fn acked_path(path: &Path) -> PathBuf {
    path.with_extension("acked")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The number at the start of a spool line (`{"seq":N,`).
fn line_seq(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(rest.get(..digits)?).ok()?.parse().ok()
}

/// What a spool file holds.
struct Scan {
    /// Bytes of whole lines.
    len: u64,
    /// Where the first event after `acked` starts.
    read_pos: u64,
    /// The last event's number (0 if none).
    last_seq: u64,
}

fn scan(file: &File, acked: u64) -> std::io::Result<Scan> {
    let mut reader = BufReader::with_capacity(64 * 1024, file.try_clone()?);
    reader.seek(SeekFrom::Start(0))?;
    let mut s = Scan {
        len: 0,
        read_pos: 0,
        last_seq: 0,
    };
    let mut found_unacked = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Some(seq) = line_seq(&line) else { break };
        if !found_unacked && seq <= acked {
            s.read_pos = s.len + n as u64;
        } else {
            found_unacked = true;
        }
        s.len += n as u64;
        s.last_seq = seq;
    }
    if !found_unacked {
        s.read_pos = s.len;
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
