//! The server's listener, closed without cutting a connection a client already made. When a
//! listening socket is closed, the connections the kernel accepted but the server had not
//! taken yet are reset; a client that already sent its request there (a proxy in front of
//! several replicas, which does not resend a `POST`) would see it fail. So, told to close,
//! the listener first takes every connection waiting in the kernel's queue, then closes; and
//! the connections it took are served on for a moment before the server tells its idle
//! connections to close (see `serve::Stopping`), so a request that arrives on a connection
//! just taken is read and answered rather than dropped with the connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How long the server waits after an accept error (out of file descriptors) before it
/// accepts again.
const AFTER_ERROR: Duration = Duration::from_millis(50);

/// A TCP listener that closes when `closing` is cancelled, after taking what waits.
#[derive(Debug)]
pub struct ClosingListener {
    inner: Option<TcpListener>,
    addr: SocketAddr,
    closing: CancellationToken,
    /// What waited in the kernel's queue when the listener closed, still to hand out.
    waiting: VecDeque<(TcpStream, SocketAddr)>,
}

impl ClosingListener {
    /// Serves `listener` until `closing` is cancelled.
    pub fn new(listener: TcpListener, closing: CancellationToken) -> std::io::Result<Self> {
        Ok(ClosingListener {
            addr: listener.local_addr()?,
            inner: Some(listener),
            closing,
            waiting: VecDeque::new(),
        })
    }

    /// Takes every connection waiting in the kernel's queue (asking the socket itself, not
    /// the runtime's view of it, which may not have seen the last ones yet), then closes.
    fn close(&mut self) {
        let Some(listener) = self.inner.take() else {
            return;
        };
        let listener = match listener.into_std() {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!("closing the listener: {e}");
                return;
            }
        };
        // Still non-blocking (as the runtime set it): `WouldBlock` once the queue is empty.
        while let Ok((stream, addr)) = listener.accept() {
            let stream = stream
                .set_nonblocking(true)
                .and_then(|()| TcpStream::from_std(stream));
            match stream {
                Ok(stream) => self.waiting.push_back((stream, addr)),
                Err(e) => tracing::warn!("a connection taken while closing: {e}"),
            }
        }
    }
}

impl axum::serve::Listener for ClosingListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            if self.closing.is_cancelled() {
                self.close();
                if let Some(connection) = self.waiting.pop_front() {
                    return connection;
                }
                // Closed: no connection comes any more.
                return std::future::pending().await;
            }
            let Some(listener) = self.inner.as_ref() else {
                return std::future::pending().await;
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(connection) => return connection,
                    Err(e) => {
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(AFTER_ERROR).await;
                    }
                },
                () = self.closing.cancelled() => {}
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::serve::Listener;

    #[tokio::test]
    async fn connections_waiting_when_it_closes_are_taken_then_it_refuses() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let closing = CancellationToken::new();
        let mut listener = ClosingListener::new(tcp, closing.clone()).unwrap();
        // Two clients connect; the kernel queues them, nobody has accepted them yet.
        let first = TcpStream::connect(addr).await.unwrap();
        let second = TcpStream::connect(addr).await.unwrap();
        closing.cancel();
        let (a, _) = listener.accept().await;
        let (b, _) = listener.accept().await;
        let mut taken = vec![a.peer_addr().unwrap(), b.peer_addr().unwrap()];
        taken.sort();
        let mut made = vec![first.local_addr().unwrap(), second.local_addr().unwrap()];
        made.sort();
        assert_eq!(taken, made);
        // Then it is closed: it takes nothing more, and new clients are refused.
        let more = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(more.is_err());
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
