//! W2-forge's stand-in forge: an HTTP server in this process that takes 200 ms to answer each
//! request (a forge is slow per request; requests are answered concurrently) and counts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

/// How long each answer takes.
const DELAY: Duration = Duration::from_millis(200);

/// The running stand-in.
pub struct SlowForge {
    /// Its API root, GitHub's paths under it.
    pub api_url: String,
    received: Arc<AtomicU64>,
}

impl SlowForge {
    /// Starts it on a free port.
    pub async fn start() -> anyhow::Result<SlowForge> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the stand-in forge")?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        let app = axum::Router::new().fallback(move || {
            let count = count.clone();
            async move {
                tokio::time::sleep(DELAY).await;
                count.fetch_add(1, Ordering::Relaxed);
                (axum::http::StatusCode::CREATED, "{}")
            }
        });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("the stand-in forge stopped: {e}");
            }
        });
        Ok(SlowForge {
            api_url: format!("http://{addr}/api/v3"),
            received,
        })
    }

    /// Requests answered so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}
