//! What the server replicas of one PostgreSQL database tell each other: a change one replica
//! makes that the others keep in memory (a claim to wake, a revoked token, a live log line),
//! sent with `NOTIFY` on one channel and heard with `LISTEN`, and which replica leads a job
//! only one may do at a time (an advisory lock held on a connection of its own).
//!
//! A notice is one line of text. Lines queued while a send is in flight go together in the
//! next `NOTIFY` (as many as fit in PostgreSQL's payload limit), so a burst costs few
//! statements and no caller waits for the database. A notice that may wait
//! ([`Urgency::Soon`]: a status, a log line stored) waits until [`SOON`] after the last
//! `NOTIFY` so that more go with it, unless an urgent one ([`Urgency::Now`]: a task to
//! claim, a cancel, a revoked token) comes first: under load a replica sends at most one
//! `NOTIFY` per [`SOON`] plus its urgent ones, and each costs every listening replica a
//! wake-up. Each payload starts with its sender's id,
//! and a replica does not hear itself. The store's own notices (`cache:…`) clear its read
//! caches; every other line goes to [`Replicas::subscribe`]rs. Notices are not kept: while the
//! listening connection is lost they are missed, and subscribers are told
//! ([`Heard::Missed`]) so they can treat everything as changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnection, PgListener, PgPool};
use tokio::sync::{broadcast, mpsc};

use crate::cache::Caches;

/// The channel every replica listens on.
const CHANNEL: &str = "circa_replicas";

/// Bytes of one payload at most (PostgreSQL refuses payloads of 8000 bytes and more).
const PAYLOAD_MAX: usize = 7900;

/// Notices a subscriber may fall behind by before it is told it missed some.
const HEARD_BUFFER: usize = 8192;

/// How long a notice that may wait waits at most for others to go with it.
pub const SOON: Duration = Duration::from_millis(5);

/// How long the listener waits before listening again after the database refused it.
const RELISTEN_AFTER: Duration = Duration::from_millis(500);

/// The store's notice that tokens (or the users they carry) changed.
pub(crate) const TOKENS_CHANGED: &str = "cache:tokens";

/// The store's notice that a project's settings or source changed.
pub(crate) const PROJECTS_CHANGED: &str = "cache:projects";

/// Whether a notice goes at once or may wait a little for others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// At once, with whatever waits: someone is kept waiting until it arrives.
    Now,
    /// Within [`SOON`]: what it says is seen a few milliseconds later.
    Soon,
}

/// What a subscriber hears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A notice another replica sent.
    Notice(Arc<str>),
    /// Notices may have been missed (the listening connection was lost, or the subscriber
    /// fell behind): what they would have said must be read from the database again.
    Missed,
}

/// This replica's side of the notices of its database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Replicas {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// This replica's id in the payloads it sends.
    id: String,
    pool: PgPool,
    /// Notices waiting to be sent.
    outgoing: mpsc::UnboundedSender<(String, Urgency)>,
    /// Taken by [`Replicas::start`].
    outgoing_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<(String, Urgency)>>>,
    heard: broadcast::Sender<Heard>,
    started: AtomicBool,
    /// The caches the store's own notices clear.
    caches: Weak<Caches>,
}

impl Replicas {
    /// Notices over `pool`'s database, clearing `caches` on the store's notices; nothing is
    /// sent or heard until [`Replicas::start`].
    pub(crate) fn new(pool: PgPool, caches: Weak<Caches>) -> Replicas {
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let id = uuid::Uuid::new_v4().simple().to_string();
        Replicas {
            inner: Arc::new(Inner {
                id: id[..12].to_string(),
                pool,
                outgoing,
                outgoing_rx: std::sync::Mutex::new(Some(outgoing_rx)),
                heard: broadcast::channel(HEARD_BUFFER).0,
                started: AtomicBool::new(false),
                caches,
            }),
        }
    }

    /// Starts sending and listening (once; later calls do nothing). A server calls it when it
    /// starts; a store used without a server (a command, a test) never sends.
    pub fn start(&self) {
        let taken = self
            .inner
            .outgoing_rx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let Some(rx) = taken else {
            return;
        };
        tokio::spawn(send_loop(
            self.inner.pool.clone(),
            self.inner.id.clone(),
            rx,
        ));
        tokio::spawn(listen_loop(Arc::downgrade(&self.inner)));
        self.inner.started.store(true, Ordering::Release);
    }

    /// Sends `notice` (one line: no `\n`) to the other replicas, at once or within [`SOON`];
    /// dropped when it does not fit in a payload or before [`Replicas::start`].
    pub fn send(&self, notice: String, urgency: Urgency) {
        if !self.inner.started.load(Ordering::Acquire) {
            return;
        }
        if notice.contains('\n') || notice.len() + self.inner.id.len() + 1 > PAYLOAD_MAX {
            report_dropped(&notice);
            return;
        }
        let _ = self.inner.outgoing.send((notice, urgency));
    }

    /// What the other replicas send from now on (the store's own notices left out).
    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.inner.heard.subscribe()
    }

    /// A claim on the lead of `role` (one replica at a time), not yet taken.
    pub fn leadership(&self, role: &str) -> Leadership {
        Leadership {
            pool: self.inner.pool.clone(),
            role: role.to_string(),
            conn: None,
            leading: false,
        }
    }
}

/// A notice that cannot be sent is a bug of the caller's, not the input's; it is reported on
/// standard error (this crate has no logger) and dropped.
fn report_dropped(notice: &str) {
    let head: String = notice.chars().take(80).collect();
    eprintln!("circa-store: a replica notice was dropped (too long or several lines): {head}");
}

/// Sends queued notices, several lines to a payload, until every sender is gone.
async fn send_loop(pool: PgPool, id: String, mut rx: mpsc::UnboundedReceiver<(String, Urgency)>) {
    let mut last_sent = tokio::time::Instant::now();
    while let Some(first) = rx.recv().await {
        let mut lines = Vec::new();
        let mut urgent = take(&mut lines, first);
        while let Ok(more) = rx.try_recv() {
            urgent |= take(&mut lines, more);
        }
        let mut open = true;
        if !urgent {
            // More notices that may wait go with these, until an urgent one comes.
            let sleep = tokio::time::sleep_until(last_sent + SOON);
            tokio::pin!(sleep);
            while open && !urgent {
                tokio::select! {
                    () = &mut sleep => break,
                    more = rx.recv() => match more {
                        Some(more) => urgent = take(&mut lines, more),
                        None => open = false,
                    },
                }
            }
        }
        notify(&pool, &id, &lines).await;
        last_sent = tokio::time::Instant::now();
        if !open {
            return;
        }
    }
}

/// Adds a queued notice's line to `lines`; whether it is urgent.
fn take(lines: &mut Vec<String>, (line, urgency): (String, Urgency)) -> bool {
    lines.push(line);
    urgency == Urgency::Now
}

/// One `NOTIFY` per payload of `lines`.
async fn notify(pool: &PgPool, id: &str, lines: &[String]) {
    let payloads = payloads(id, lines);
    let sent = sqlx::query("SELECT pg_notify($1, p) FROM UNNEST($2::TEXT[]) AS p")
        .bind(CHANNEL)
        .bind(&payloads)
        .execute(pool)
        .await;
    if let Err(e) = sent {
        // The other replicas miss these; they hear `Missed` if their own connection
        // was lost too, and read the database at their next poll otherwise.
        eprintln!("circa-store: replica notices not sent: {e}");
    }
}

/// `lines` in payloads of at most [`PAYLOAD_MAX`] bytes, each starting with `id`.
fn payloads(id: &str, lines: &[String]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = id.to_string();
    for line in lines {
        if current.len() + 1 + line.len() > PAYLOAD_MAX && current.len() > id.len() {
            payloads.push(std::mem::replace(&mut current, id.to_string()));
        }
        current.push('\n');
        current.push_str(line);
    }
    if current.len() > id.len() {
        payloads.push(current);
    }
    payloads
}

/// Listens until the store is gone; after a lost connection, tells subscribers they missed
/// notices and clears the caches.
async fn listen_loop(inner: Weak<Inner>) {
    loop {
        let Some(pool) = inner.upgrade().map(|i| i.pool.clone()) else {
            return;
        };
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(listener) => listener,
            Err(_) => {
                tokio::time::sleep(RELISTEN_AFTER).await;
                continue;
            }
        };
        // Anything may have changed while no one listened.
        if !heard_missed(&inner) {
            return;
        }
        loop {
            // Wakes now and then to notice the store is gone.
            let next = tokio::time::timeout(Duration::from_secs(1), listener.try_recv()).await;
            let Some(live) = inner.upgrade() else {
                return;
            };
            match next {
                Err(_) => continue,
                Ok(Ok(Some(notification))) => live.heard(notification.payload()),
                Ok(Ok(None)) => {
                    heard_missed(&inner);
                }
                Ok(Err(_)) => break,
            }
        }
        tokio::time::sleep(RELISTEN_AFTER).await;
    }
}

/// Tells subscribers notices were missed and clears the caches; false when the store is gone.
fn heard_missed(inner: &Weak<Inner>) -> bool {
    let Some(live) = inner.upgrade() else {
        return false;
    };
    if let Some(caches) = live.caches.upgrade() {
        caches.tokens.clear();
        caches.projects.clear();
    }
    let _ = live.heard.send(Heard::Missed);
    true
}

impl Inner {
    /// A payload heard: the store's notices applied, the others handed to subscribers; this
    /// replica's own payloads ignored.
    fn heard(&self, payload: &str) {
        let mut lines = payload.split('\n');
        if lines.next() == Some(self.id.as_str()) {
            return;
        }
        for line in lines {
            match line {
                TOKENS_CHANGED => self.clear_cache(|c| &c.tokens),
                PROJECTS_CHANGED => self.clear_cache(|c| &c.projects),
                _ => {
                    let _ = self.heard.send(Heard::Notice(Arc::from(line)));
                }
            }
        }
    }

    fn clear_cache<V: Clone>(&self, which: impl Fn(&Caches) -> &crate::cache::ReadCache<V>) {
        if let Some(caches) = self.caches.upgrade() {
            which(&caches).clear();
        }
    }
}

/// One replica's claim on a role only one replica may have at a time (the commit status
/// sender): a PostgreSQL session advisory lock, held on a connection of its own for as long
/// as this replica leads. When the replica stops or its connection is lost, the lock goes
/// with it and another replica takes the lead at its next try.
#[derive(Debug)]
pub struct Leadership {
    pool: PgPool,
    role: String,
    conn: Option<PgConnection>,
    leading: bool,
}

impl Leadership {
    /// Whether this replica leads now: it takes the lead when no one has it, and keeps it
    /// while its connection lives; false while another replica leads or the database is out
    /// of reach.
    pub async fn lead(&mut self) -> bool {
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => match self.pool.acquire().await {
                Ok(conn) => self.conn.insert(conn.detach()),
                Err(_) => return false,
            },
        };
        let answer = if self.leading {
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(&mut *conn)
                .await
                .map(|_| true)
        } else {
            sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock(hashtext($1))")
                .bind(&self.role)
                .fetch_one(&mut *conn)
                .await
        };
        match answer {
            Ok(leading) => self.leading = leading,
            Err(_) => {
                // A lost connection took the lock with it.
                self.conn = None;
                self.leading = false;
            }
        }
        self.leading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_share_payloads_up_to_the_limit() {
        let line = "x".repeat(3000);
        let lines = vec![
            line.clone(),
            line.clone(),
            line.clone(),
            "short".to_string(),
        ];
        let payloads = payloads("abc", &lines);
        assert_eq!(payloads.len(), 2);
        assert!(payloads.iter().all(|p| p.len() <= PAYLOAD_MAX));
        assert!(payloads.iter().all(|p| p.starts_with("abc\n")));
        let heard: Vec<&str> = payloads
            .iter()
            .flat_map(|p| p.split('\n').skip(1))
            .collect();
        assert_eq!(heard, vec![&line[..], &line[..], &line[..], "short"]);
    }
}
