//! Starting job processes off the async threads, at a lower CPU priority.
//!
//! Starting a process blocks the calling thread until the new program is loaded (a
//! millisecond or more), so a burst of steps starting together would stall every other task
//! of an async thread pool. Spawns run on threads of their own instead. Each such thread is
//! set to the requested niceness once, before its first spawn, and its children inherit it:
//! jobs that saturate the CPU then leave the runner (and the server beside it) responsive —
//! claims, heartbeats, log streaming and cancels keep their pace. A thread's niceness only
//! ever goes up (lowering it needs privileges), so threads are kept per niceness.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, LazyLock, Mutex};

/// Spawner threads per CPU, per niceness; more spawns at once wait for a thread. Starting a
/// process is mostly CPU work in the kernel, so more threads than CPUs start none sooner; they
/// would only crowd out the async threads, which then start the other tasks of a fan-out late,
/// and each waiting low-priority thread may hold a lock (the allocator's, the address space's)
/// that an async thread needs.
const THREADS_PER_CPU: usize = 2;

/// The most spawner threads per niceness.
static THREADS_PER_NICENESS: LazyLock<usize> = LazyLock::new(|| {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) * THREADS_PER_CPU
});

/// Niceness Linux accepts.
pub const NICENESS_RANGE: std::ops::RangeInclusive<i32> = 0..=19;

type Work = Box<dyn FnOnce() + Send>;

/// The threads of one niceness.
struct Pool {
    work: Sender<Work>,
    queue: Arc<Mutex<Receiver<Work>>>,
    /// Threads started.
    threads: usize,
    /// Threads waiting for work.
    idle: Arc<AtomicUsize>,
}

static POOLS: LazyLock<Mutex<HashMap<i32, Pool>>> = LazyLock::new(Mutex::default);

/// Starts `cmd` from a thread at niceness `nice` (0 to 19; clamped), inside the caller's
/// Tokio runtime, and hands back the child.
pub async fn spawn(
    mut cmd: tokio::process::Command,
    nice: i32,
) -> std::io::Result<tokio::process::Child> {
    let nice = nice.clamp(*NICENESS_RANGE.start(), *NICENESS_RANGE.end());
    let runtime = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    submit(
        nice,
        Box::new(move || {
            let _entered = runtime.enter();
            let child = cmd.spawn();
            // The command holds the pipe's write ends: dropped here, before the caller reads,
            // so the reader sees the end of output when the child's copies close.
            drop(cmd);
            let _ = tx.send(child);
        }),
    );
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the spawner thread stopped")))
}

fn submit(nice: i32, work: Work) {
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    let pool = pools.entry(nice).or_insert_with(|| {
        let (work, queue) = channel();
        Pool {
            work,
            queue: Arc::new(Mutex::new(queue)),
            threads: 0,
            idle: Arc::default(),
        }
    });
    if pool.idle.load(Ordering::Acquire) == 0 && pool.threads < *THREADS_PER_NICENESS {
        let queue = Arc::clone(&pool.queue);
        let idle = Arc::clone(&pool.idle);
        let started = std::thread::Builder::new()
            .name(format!("circa-spawn-n{nice}"))
            .spawn(move || serve(nice, &queue, &idle));
        if started.is_ok() {
            pool.threads += 1;
        }
    }
    // The receiver lives as long as the pool (never dropped), so sending cannot fail.
    let _ = pool.work.send(work);
}

/// A spawner thread: lowers its own priority once, then runs spawns as they come.
fn serve(nice: i32, queue: &Mutex<Receiver<Work>>, idle: &AtomicUsize) {
    if nice > 0
        && let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice)
    {
        report_priority_failure(nice, &e);
    }
    loop {
        idle.fetch_add(1, Ordering::AcqRel);
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        idle.fetch_sub(1, Ordering::AcqRel);
        match next {
            Ok(work) => work(),
            Err(_) => return,
        }
    }
}

/// Reports a failed priority change once per thread on standard error (this crate does not
/// log); the jobs then run at the runner's own priority.
fn report_priority_failure(nice: i32, e: &rustix::io::Errno) {
    eprintln!("circa: job processes keep the runner's priority (setting niceness {nice}: {e})");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn niceness_of(pid: u32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = stat.rsplit_once(')').unwrap().1;
        // Fields after the command: state is field 3; niceness is field 19.
        after.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn children_get_the_niceness_asked_for() {
        let mut cmd = tokio::process::Command::new("sleep");
        cmd.arg("5");
        let mut child = spawn(cmd, 7).await.unwrap();
        let pid = child.id().unwrap();
        assert_eq!(niceness_of(pid), 7);
        child.kill().await.unwrap();

        let mut cmd = tokio::process::Command::new("sleep");
        cmd.arg("5");
        let mut child = spawn(cmd, 0).await.unwrap();
        let pid = child.id().unwrap();
        assert_eq!(niceness_of(pid), niceness_of(std::process::id()));
        child.kill().await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error() {
        let cmd = tokio::process::Command::new("/nonexistent/program");
        let err = spawn(cmd, 10).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn many_spawns_at_once_all_start() {
        let spawns = (0..20).map(|_| {
            let mut cmd = tokio::process::Command::new("true");
            cmd.kill_on_drop(true);
            spawn(cmd, 3)
        });
        for child in futures_util::future::join_all(spawns).await {
            assert!(child.unwrap().wait().await.unwrap().success());
        }
    }
}
