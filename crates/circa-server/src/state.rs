//! The state every handler shares.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use circa_store::{Blobs, Millis, Store};
use tokio::sync::Notify;

use crate::config::ServerConfig;
use crate::live::{LiveHub, StatusHub};
use crate::registry::Registry;
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
    map: Registry<String, Arc<Notify>>,
}

impl Signals {
    /// The signal for `key`.
    pub fn get(&self, key: &str) -> Arc<Notify> {
        self.map.with_entry(key.to_string(), |n| Arc::clone(n))
    }

    /// Wakes everyone waiting on `key`.
    pub fn wake(&self, key: &str) {
        if let Some(n) = self.map.lock().get(key) {
            n.notify_waiters();
        }
    }

    /// Wakes everyone waiting on any key.
    pub fn wake_all(&self) {
        for n in self.map.lock().values() {
            n.notify_waiters();
        }
    }

    /// Forgets `key` (its waiters keep their handle).
    pub fn forget(&self, key: &str) {
        self.map.remove(key);
    }
}

/// One async mutex per key (a workflow's id, a project's): changes to what a key names are
/// made one at a time.
#[derive(Debug)]
pub struct Locks<K> {
    map: Registry<K, Arc<tokio::sync::Mutex<()>>>,
}

impl<K> Default for Locks<K> {
    fn default() -> Self {
        Locks {
            map: Registry::default(),
        }
    }
}

impl<K: Clone + Eq + std::hash::Hash> Locks<K> {
    /// The lock of `key`.
    pub fn get(&self, key: &K) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.map.lock();
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(map.entry(key.clone()).or_default())
    }
}

/// How often a runner that keeps claiming is recorded as seen: far more often than
/// `queue_reason` needs (it counts runners seen within 90 s), far less than once per claim.
const SEEN_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// When each runner (by name and resource class) was last recorded as seen, so that a busy
/// runner's claims do not each cost a database write.
#[derive(Debug, Default)]
pub struct SeenRunners {
    map: Registry<(String, String), std::time::Instant>,
}

impl SeenRunners {
    /// Whether `runner` of `class` is due to be recorded again; if so, it counts as recorded.
    pub fn due(&self, runner: &str, class: &str) -> bool {
        let now = std::time::Instant::now();
        let mut map = self.map.lock();
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

/// Everything handlers share; cheap to clone. Besides the store, the blobs and the settings,
/// it holds the in-memory parts in a few groups, each behind one `Arc`.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Logs, artifacts, workspaces, test results.
    pub blobs: Blobs,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// The URL the server is reached at.
    pub base_url: String,
    /// What moves work to runners: wake-ups, locks, waiting claims, compile slots.
    pub dispatch: Arc<Dispatch>,
    /// Live task events and status changes for followers.
    pub live: Arc<Live>,
    /// Git mirrors of the projects.
    pub vcs: Arc<Mirrors>,
    /// The server's secret and the vault's keys.
    pub keys: Arc<Keys>,
    /// The scheduler's wake-up and what it knows of config schedules.
    pub schedules: Arc<Scheduling>,
    /// Whether the server is shutting down, and the work its shutdown waits for.
    pub drain: Arc<crate::drain::Drain>,
    /// Prometheus metrics: counters hot paths increment, gauges scrapes set.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The in-memory side of dispatch.
#[derive(Debug)]
pub struct Dispatch {
    /// The claims waiting on a resource class, and their wake-ups.
    pub claim_wakes: crate::claim_wakes::ClaimWakes,
    /// Wakes heartbeats of a task that is to be cancelled.
    pub cancels: Signals,
    /// Per-workflow locks.
    pub locks: Locks<circa_store::WorkflowId>,
    /// Job moves waiting to be settled together.
    pub pending: crate::orchestrator::settle::PendingMoves,
    /// When runners were last recorded as seen.
    pub runners: SeenRunners,
    /// Claims waiting now that a runner may add slots to.
    pub claims: Arc<crate::waiting_claims::WaitingClaims>,
    /// Where configs are compiled: a few at once.
    pub compiles: crate::compiles::Compiles,
    /// Wakes the commit status worker: job changes were stored (`forge::outbox`).
    pub statuses: tokio::sync::Notify,
}

impl Dispatch {
    /// Empty registries, and one compile slot per CPU.
    pub fn new() -> Self {
        Dispatch {
            claim_wakes: Default::default(),
            cancels: Signals::default(),
            locks: Locks::default(),
            pending: Default::default(),
            runners: SeenRunners::default(),
            claims: Arc::default(),
            compiles: crate::compiles::Compiles::per_cpu(),
            statuses: tokio::sync::Notify::new(),
        }
    }
}

impl Default for Dispatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Live fan-out to followers.
#[derive(Debug, Default)]
pub struct Live {
    /// Live task events for log followers.
    pub events: LiveHub,
    /// Status changes of pipelines, workflows and jobs, by pipeline.
    pub updates: StatusHub,
}

/// Keys the server holds in memory.
pub struct Keys {
    /// The server's secret (continuation keys).
    pub secret: Vec<u8>,
    /// The keys that seal project and context variables.
    pub vault: crate::secrets::Vault,
}

/// The scheduler's shared parts.
#[derive(Debug, Default)]
pub struct Scheduling {
    /// Wakes the scheduler when schedules change.
    pub wake: Notify,
    /// Branches known to have no config schedules.
    pub unscheduled: crate::schedules::legacy::Unscheduled,
}
