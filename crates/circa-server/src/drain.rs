//! Graceful shutdown. A server told to stop drains first:
//!
//! 1. at once: `/readyz` answers 503 (a load balancer stops sending), claims take no more
//!    tasks (a claim waiting is answered with none; the runner claims again later), held
//!    heartbeats are answered, live streams (SSE) end with a `shutdown` event so clients
//!    resume with `Last-Event-ID`, and the scheduler and the lease reaper stop;
//! 2. for the shutdown delay it goes on answering every other request (runners' events,
//!    heartbeats and completions among them, each answer with `Connection: close`), then
//!    stops accepting connections;
//! 3. requests in flight finish, then the settles they set off; at the grace period's end
//!    whatever is left is dropped.
//!
//! Nothing a running job needs is lost on the way: its runner spools events and retries
//! heartbeats and its completion until a server answers again.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a server drains at most when nothing is configured: 50 s, inside the 60 s a
/// service manager (`TimeoutStopSec=60s`) or Kubernetes (`terminationGracePeriodSeconds: 60`
/// with a 10 s `preStop`) gives it.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(50);

/// How long a draining server goes on accepting connections when nothing is configured.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(2);

/// How long a client waits before it resumes a stream the server ended for its shutdown.
pub const RESUME_AFTER: Duration = Duration::from_secs(1);

/// The drain's shared parts: whether it began, and the work that must end before the
/// process does.
#[derive(Debug, Default)]
pub struct Drain {
    began: CancellationToken,
    settles: TaskTracker,
}

impl Drain {
    /// Starts the drain (once; later calls change nothing).
    pub fn begin(&self) {
        self.began.cancel();
    }

    /// Whether the drain began.
    pub fn is_draining(&self) -> bool {
        self.began.is_cancelled()
    }

    /// A token cancelled when the drain begins.
    pub fn token(&self) -> CancellationToken {
        self.began.clone()
    }

    /// Runs `work` (a settle) on a task of its own that the shutdown waits for.
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.settles.spawn(work);
    }

    /// Waits until every task of [`Drain::spawn`] has ended.
    pub async fn settled(&self) {
        self.settles.close();
        self.settles.wait().await;
    }
}

/// The middleware that asks clients, once the drain began, to close the connection after the
/// answer (`Connection: close`): a connection kept for a next request would meet a server
/// that has stopped.
pub async fn close_connections(
    axum::extract::State(drain): axum::extract::State<std::sync::Arc<Drain>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    if drain.is_draining() {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// The event that ends a live stream when the server shuts down: a named event (`shutdown`),
/// so readers of plain messages skip it, with the time to wait before resuming.
pub fn shutdown_event() -> Event {
    Event::default()
        .event("shutdown")
        .retry(RESUME_AFTER)
        .data(r#"{"event":"shutdown","message":"the server is shutting down; resume with Last-Event-ID"}"#)
}

/// `stream` until the drain begins; then the [`shutdown_event`] and the end.
pub fn until_drained<S>(
    drain: CancellationToken,
    stream: S,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let ended = drain.clone();
    stream.take_until(drain.cancelled_owned()).chain(
        futures_util::stream::once(async move { ended.is_cancelled() })
            .filter_map(|drained| async move { drained.then(|| Ok(shutdown_event())) }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_stream_ends_with_a_shutdown_event_when_the_drain_begins() {
        let drain = Drain::default();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Event, Infallible>>();
        let mut stream = Box::pin(until_drained(
            drain.token(),
            tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
        ));
        tx.send(Ok(Event::default().data("a"))).unwrap();
        assert!(stream.next().await.is_some());
        drain.begin();
        assert!(drain.is_draining());
        // The farewell, then the end, though the source would go on.
        tx.send(Ok(Event::default().data("b"))).unwrap();
        assert!(stream.next().await.is_some());
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_that_ends_by_itself_gets_no_shutdown_event() {
        let drain = Drain::default();
        let mut stream = Box::pin(until_drained(
            drain.token(),
            futures_util::stream::iter([Ok(Event::default().data("a"))]),
        ));
        assert!(stream.next().await.is_some());
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn the_shutdown_waits_for_spawned_settles() {
        let drain = Drain::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        drain.spawn(async move {
            let _ = rx.await;
        });
        let settled = drain.settled();
        tokio::pin!(settled);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), settled.as_mut())
                .await
                .is_err()
        );
        tx.send(()).unwrap();
        settled.await;
    }
}
