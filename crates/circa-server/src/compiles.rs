//! Where the server compiles configs: on blocking threads, at most [`Compiles::permits`] at
//! once (one per CPU), the others waiting their turn.
//!
//! Each compile is held to the config engine's byte budget (`circa_config::budget`), so the
//! memory that compiles take together is at most the number of permits times one budget,
//! whatever configs are pushed or posted. More compiles than CPUs at once would finish no
//! sooner (a compile is pure CPU work); they would only hold more memory and take the threads
//! the rest of the server answers on.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// A compile that did not finish: the thread running it stopped (a bug), or the server is
/// shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the config compiler stopped")]
pub struct CompileStopped;

/// The server's compile slots.
#[derive(Debug)]
pub struct Compiles {
    slots: Arc<Semaphore>,
    permits: usize,
}

impl Compiles {
    /// At most `permits` compiles at once (at least one).
    pub fn new(permits: usize) -> Self {
        let permits = permits.max(1);
        Compiles {
            slots: Arc::new(Semaphore::new(permits)),
            permits,
        }
    }

    /// One compile at once per CPU the server may use.
    pub fn per_cpu() -> Self {
        Compiles::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many compiles may run at once.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Runs `compile` on a blocking thread once a slot is free. The slot is held until the
    /// compile ends, even when the caller stops waiting for it.
    pub async fn run<T, F>(&self, compile: F) -> Result<T, CompileStopped>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| CompileStopped)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            compile()
        })
        .await
        .map_err(|_| CompileStopped)
    }
}

impl Default for Compiles {
    fn default() -> Self {
        Compiles::per_cpu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_compiles_than_permits_run_at_once() {
        let compiles = Arc::new(Compiles::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..6 {
            let (compiles, running, most) = (compiles.clone(), running.clone(), most.clone());
            waiting.push(tokio::spawn(async move {
                compiles
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        now
                    })
                    .await
            }));
        }
        for w in waiting {
            let seen = w.await.expect("task").expect("compile");
            assert!(seen <= 2, "{seen}");
        }
        assert!((1..=2).contains(&most.load(Ordering::SeqCst)));
        assert_eq!(compiles.permits(), 2);
    }

    #[test]
    fn at_least_one_compile_runs() {
        assert_eq!(Compiles::new(0).permits(), 1);
        assert!(Compiles::per_cpu().permits() >= 1);
    }
}
