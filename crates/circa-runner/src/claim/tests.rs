//! The claimer against a scripted server, on tokio's paused clock: every time below is exact.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;

use super::*;

const MS: Duration = Duration::from_millis(1);

/// What the scripted server answers to one claim, after `after`.
struct Reply {
    after: Duration,
    /// The tasks (each as how long it runs), or an HTTP status.
    outcome: Result<Vec<Duration>, u16>,
}

fn tasks(after_ms: u64, runs_ms: &[u64]) -> Reply {
    Reply {
        after: Duration::from_millis(after_ms),
        outcome: Ok(runs_ms.iter().map(|r| Duration::from_millis(*r)).collect()),
    }
}

fn empty(after_ms: u64) -> Reply {
    tasks(after_ms, &[])
}

fn status(after_ms: u64, status: u16) -> Reply {
    Reply {
        after: Duration::from_millis(after_ms),
        outcome: Err(status),
    }
}

/// A request the server saw: when (since the start), the claim id, how many slots.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    at: Duration,
    id: String,
    slots: u32,
}

#[derive(Default)]
struct Log {
    claims: Vec<Seen>,
    grows: Vec<Seen>,
    started: Vec<Duration>,
    ended: Vec<Duration>,
}

/// A server that answers claims from a script (then holds them until stop), and tasks that
/// run for the time their claim said.
#[derive(Clone)]
struct Scripted {
    t0: Instant,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// How long a growth takes, and the status it fails with (if it does).
    grow: (Duration, Option<u16>),
    log: Arc<Mutex<Log>>,
}

impl Scripted {
    fn new(script: Vec<Reply>) -> Self {
        Scripted {
            t0: Instant::now(),
            script: Arc::new(Mutex::new(script.into())),
            grow: (Duration::ZERO, None),
            log: Arc::default(),
        }
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }

    fn claims(&self) -> Vec<(u64, u32)> {
        let log = self.log();
        log.claims.iter().map(|s| (ms(s.at), s.slots)).collect()
    }

    /// Starts a claimer for `slots` on this server.
    fn start(&self, slots: u32) -> (JoinHandle<Result<(), TokenRefused>>, CancellationToken) {
        let stop = CancellationToken::new();
        let claimer = Claimer::new(self.clone(), slots, stop.clone());
        (tokio::spawn(claimer.run()), stop)
    }

    /// Sleeps until `at_ms` since the start.
    async fn until(&self, at_ms: u64) {
        tokio::time::sleep_until(self.t0 + Duration::from_millis(at_ms)).await;
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn http(status: u16) -> ApiError {
    ApiError::Status {
        url: "/claims".into(),
        status,
        body: String::new(),
    }
}

impl Backend for Scripted {
    type Task = Duration;
    type Folder = ();

    fn claim(
        &self,
        id: String,
        slots: u32,
    ) -> impl Future<Output = Result<Vec<Duration>, ApiError>> + Send {
        let at = self.now();
        self.log().claims.push(Seen { at, id, slots });
        let reply = self.script.lock().unwrap().pop_front();
        async move {
            let Some(Reply { after, outcome }) = reply else {
                return std::future::pending().await;
            };
            tokio::time::sleep(after).await;
            outcome.map_err(http)
        }
    }

    fn grow(&self, id: String, slots: u32) -> impl Future<Output = Result<u32, ApiError>> + Send {
        let at = self.now();
        self.log().grows.push(Seen { at, id, slots });
        let (takes, fails) = self.grow;
        async move {
            tokio::time::sleep(takes).await;
            fails.map_or(Ok(slots), |s| Err(http(s)))
        }
    }

    fn folders_to_make(&self, _slots: usize) -> usize {
        0
    }

    fn make_folders(&self, _n: usize) {}

    fn take_folders(&self, _n: usize) -> Vec<()> {
        Vec::new()
    }

    fn run(
        &self,
        runs: Duration,
        _folder: Option<()>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            let start = this.now();
            this.log().started.push(start);
            tokio::time::sleep(runs).await;
            this.log().ended.push(this.now());
            drop(slot);
        }
    }

    fn discard_folders(&self) {}
}

#[tokio::test(start_paused = true)]
async fn a_slot_freed_while_a_claim_waits_joins_it_and_the_server_is_told() {
    let server = Scripted::new(vec![tasks(10, &[1000]), tasks(4000, &[2000, 2000])]);
    let (_claimer, _stop) = server.start(2);

    // One task for two slots: the other slot goes out in the next claim at once.
    server.until(1009).await;
    assert_eq!(server.claims(), [(0, 2), (10, 1)]);
    assert!(server.log().grows.is_empty());
    // The task ends at 1010: its slot joins the waiting claim, and the server is told.
    server.until(1011).await;
    let second = server.log().claims[1].id.clone();
    assert_eq!(
        server.log().grows,
        [Seen {
            at: 1010 * MS,
            id: second,
            slots: 1
        }]
    );
    assert_eq!(server.claims().len(), 2);
    // The claim brings two tasks for its two slots: both start, no claim is left to send.
    server.until(4011).await;
    assert_eq!(server.log().started, [10 * MS, 4010 * MS, 4010 * MS]);
    assert_eq!(server.claims().len(), 2);
    // Their slots come free together and go out in one claim.
    server.until(6011).await;
    assert_eq!(server.claims(), [(0, 2), (10, 1), (6010, 2)]);
    assert_eq!(server.log().grows.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn slots_freed_during_a_growth_are_told_after_it_and_unused_ones_go_out_at_once() {
    let mut server = Scripted::new(vec![tasks(0, &[1000, 1050]), tasks(3000, &[500])]);
    // Each growth takes 100 ms and fails: its slots stay with the claim all the same.
    server.grow = (100 * MS, Some(503));
    let (_claimer, _stop) = server.start(3);

    server.until(2999).await;
    let second = server.log().claims[1].id.clone();
    let grow = |at: u64| Seen {
        at: Duration::from_millis(at),
        id: second.clone(),
        slots: 1,
    };
    // Freed at 1000: told at once. Freed at 1050, while that growth is on its way: told
    // when it is answered, at 1100.
    assert_eq!(server.log().grows, [grow(1000), grow(1100)]);
    assert_eq!(server.claims(), [(0, 3), (0, 1)]);
    // The claim holds three slots and brings one task: the two left go out at once.
    server.until(3001).await;
    assert_eq!(server.claims(), [(0, 3), (0, 1), (3000, 2)]);
    assert_eq!(
        server.log().started,
        [Duration::ZERO, Duration::ZERO, 3000 * MS]
    );
    assert_eq!(server.log().grows.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_before_the_next_claim() {
    let server = Scripted::new(vec![
        status(0, 503),
        status(0, 502),
        status(0, 404),
        tasks(0, &[1000]),
        status(0, 500),
    ]);
    let (claimer, _stop) = server.start(1);

    // 100 ms after the first failure, 200 after the second, 400 after the third.
    server.until(99).await;
    assert_eq!(server.claims().len(), 1);
    server.until(101).await;
    assert_eq!(server.claims().len(), 2);
    server.until(299).await;
    assert_eq!(server.claims().len(), 2);
    server.until(699).await;
    assert_eq!(server.claims().len(), 3);
    // Tasks reset the back-off: after the next failure the wait is 100 ms again.
    server.until(2000).await;
    let times: Vec<u64> = server.claims().iter().map(|c| c.0).collect();
    assert_eq!(times, [0, 100, 300, 700, 1700, 1800]);
    assert_eq!(server.log().started, [700 * MS]);
    assert!(
        !claimer.is_finished(),
        "only a refused token ends the claimer"
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_answer_that_comes_too_soon_waits_before_the_next_claim() {
    let server = Scripted::new(vec![empty(10), empty(10), empty(60), empty(10)]);
    let (_claimer, _stop) = server.start(1);

    server.until(109).await;
    assert_eq!(server.claims().len(), 1);
    server.until(1000).await;
    // Answered at 10 (too soon): wait 100 ms. At 120: 200 ms. An answer held 60 ms resets
    // the back-off and the next claim goes at once; one too soon after it waits 100 ms.
    let times: Vec<u64> = server.claims().iter().map(|c| c.0).collect();
    assert_eq!(times, [0, 110, 320, 380, 490]);
    assert!(server.log().started.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_ends_the_claimer_once_its_tasks_end() {
    for refusal in [401, 403] {
        let server = Scripted::new(vec![tasks(0, &[5000]), status(1000, refusal)]);
        let (claimer, _stop) = server.start(2);

        server.until(4999).await;
        assert!(!claimer.is_finished(), "the running task is waited for");
        assert_eq!(server.claims(), [(0, 2), (0, 1)]);
        let result = claimer.await.unwrap();
        assert_eq!(result, Err(TokenRefused { status: refusal }));
        assert_eq!(ms(server.now()), 5000);
        assert_eq!(server.log().ended, [5000 * MS]);
        assert_eq!(server.claims().len(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn stop_ends_claiming_and_waits_for_running_tasks() {
    // The second claim is held until stop.
    let server = Scripted::new(vec![tasks(0, &[3000])]);
    let (claimer, stop) = server.start(2);

    server.until(1000).await;
    assert_eq!(server.claims(), [(0, 2), (0, 1)]);
    stop.cancel();
    let result = claimer.await.unwrap();
    assert_eq!(result, Ok(()));
    assert_eq!(ms(server.now()), 3000);
    assert_eq!(server.log().ended, [3000 * MS]);
    // The held claim came back empty at stop and its slot went out in no other claim.
    assert_eq!(server.claims().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn one_claim_takes_at_most_claim_max_tasks() {
    let max = CLAIM_MAX_TASKS as u64;
    let runs = vec![10_000; max as usize];
    let server = Scripted::new(vec![tasks(1000, &runs)]);
    let (_claimer, _stop) = server.start(CLAIM_MAX_TASKS + 50);

    server.until(999).await;
    assert_eq!(server.claims(), [(0, CLAIM_MAX_TASKS)]);
    server.until(1001).await;
    assert_eq!(server.claims(), [(0, CLAIM_MAX_TASKS), (1000, 50)]);
    assert_eq!(server.log().started.len() as u64, max);
}
