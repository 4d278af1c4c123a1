//! The state every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use circa_store::{Blobs, Millis, Store};
use tokio::sync::Notify;

use crate::config::ServerConfig;
use crate::live::{LiveHub, StatusHub};
use crate::vcs::Mirrors;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

/// One [`Notify`] per key, made on first use.
#[derive(Debug, Default)]
pub struct Signals {
    map: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Signals {
    /// The signal for `key`.
    pub fn get(&self, key: &str) -> Arc<Notify> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(key.to_string()).or_default())
    }

    /// Wakes everyone waiting on `key`.
    pub fn wake(&self, key: &str) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(key) {
            n.notify_waiters();
        }
    }

    /// Wakes up to `n` of those waiting on `key` (one each; a permit is kept for the next
    /// waiter when fewer wait), for `n` new things to take: the others sleep on.
    pub fn wake_some(&self, key: &str, n: usize) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(notify) = map.get(key) {
            for _ in 0..n {
                notify.notify_one();
            }
        }
    }

    /// Forgets `key` (its waiters keep their handle).
    pub fn forget(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// One async mutex per workflow: changes to a workflow's jobs are made one at a time.
#[derive(Debug, Default)]
pub struct Locks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Locks {
    /// The lock of `key`.
    pub fn get(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(map.entry(key.to_string()).or_default())
    }
}

/// How often a runner that keeps claiming is recorded as seen: far more often than
/// `queue_reason` needs (it counts runners seen within 90 s), far less than once per claim.
const SEEN_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// When each runner (by name and resource class) was last recorded as seen, so that a busy
/// runner's claims do not each cost a database write.
#[derive(Debug, Default)]
pub struct SeenRunners {
    map: Mutex<HashMap<(String, String), std::time::Instant>>,
}

impl SeenRunners {
    /// Whether `runner` of `class` is due to be recorded again; if so, it counts as recorded.
    pub fn due(&self, runner: &str, class: &str) -> bool {
        let now = std::time::Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, at| now.duration_since(*at) < SEEN_EVERY);
        }
        let key = (runner.to_string(), class.to_string());
        match map.get(&key) {
            Some(at) if now.duration_since(*at) < SEEN_EVERY => false,
            _ => {
                map.insert(key, now);
                true
            }
        }
    }
}

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Logs, artifacts, workspaces, test results.
    pub blobs: Blobs,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Wakes claims waiting on a resource class.
    pub queue: Arc<Signals>,
    /// Wakes heartbeats of a task that is to be cancelled.
    pub cancels: Arc<Signals>,
    /// Live task events for subscribers.
    pub live: Arc<LiveHub>,
    /// Status changes of pipelines, workflows and jobs, by pipeline.
    pub updates: Arc<StatusHub>,
    /// Per-workflow locks.
    pub locks: Arc<Locks>,
    /// Job moves waiting to be settled together.
    pub pending: Arc<crate::orchestrator::settle::PendingMoves>,
    /// When runners were last recorded as seen.
    pub runners: Arc<SeenRunners>,
    /// Claims waiting now that a runner may add slots to.
    pub claims: Arc<crate::waiting_claims::WaitingClaims>,
    /// Git mirrors of the projects.
    pub vcs: Arc<Mirrors>,
    /// The URL the server is reached at.
    pub base_url: String,
    /// The server's secret (continuation keys).
    pub secret: Arc<Vec<u8>>,
    /// Branches known to have no config schedules.
    pub unscheduled: Arc<crate::schedules::legacy::Unscheduled>,
    /// Wakes the scheduler when schedules change.
    pub schedules: Arc<Notify>,
    /// The keys that seal project and context variables.
    pub vault: Arc<crate::secrets::Vault>,
    /// Where configs are compiled: a few at once.
    pub compiles: Arc<crate::compiles::Compiles>,
}
