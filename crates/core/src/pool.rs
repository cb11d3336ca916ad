//! One bounded pool of threads for the background work of every store in the process
//! (group commits, checkpoints, history diffs), so threads do not grow with stores.
//!
//! A store's work is a [`Job`]: it runs until nothing is left to do *now* and says when
//! to run next at the latest ([`Next::Wait`]), or that it has finished. Guarantees:
//! - A job never runs on two threads at once, so each store's commits stay ordered as
//!   they were on a thread of its own; a [`Task::wake`] during a run makes it run again
//!   right after, so no wake is lost.
//! - A job that waits with no deadline takes no CPU and no timer: waits are event-driven.
//! - Fairness: a job runs one step at a time ([`Next::Again`] puts it at the back of the
//!   queue), so one busy store delays another by at most one step per thread.
//! - Threads: [`size`] of them, started with the first store and kept (set with
//!   `TAD_STORE_THREADS`, 1–64; default the number of cores, clamped to 2–4). A store
//!   whose disk stalls holds one thread; the others go on serving the rest.
//!
//! Lock order: the queue, then a task's state (firing timers); a task's state is released
//! before the queue is taken, and neither is held while a job runs.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// What a job wants after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// More to do now: run again after the jobs already waiting.
    Again,
    /// Nothing to do until woken, or until the instant given.
    Wait(Option<Instant>),
    /// Finished: the job is dropped and never runs again.
    Done,
}

/// A store's background work.
pub trait Job: Send {
    fn run(&mut self) -> Next;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Running,
    /// Woken while running: queued again when the run ends.
    RunningWoken,
    Done,
}

struct TaskState {
    phase: Phase,
    /// The job; taken while it runs, dropped when it is done (with its files).
    job: Option<Box<dyn Job>>,
    /// Its current deadline's number: a timer whose number is not this one is stale.
    timer: u64,
}

/// A job on the pool.
pub struct Task {
    state: Mutex<TaskState>,
    done: Condvar,
}

impl Task {
    fn lock(&self) -> MutexGuard<'_, TaskState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the job run soon (now if a thread is free). Cheap when it is already
    /// queued or running.
    pub fn wake(self: &Arc<Task>) {
        let mut st = self.lock();
        match st.phase {
            Phase::Idle => {
                st.phase = Phase::Queued;
                drop(st);
                pool().enqueue(self.clone());
            }
            Phase::Running => st.phase = Phase::RunningWoken,
            Phase::Queued | Phase::RunningWoken | Phase::Done => {}
        }
    }

    /// Blocks until the job has finished.
    pub fn wait_done(&self) {
        let mut st = self.lock();
        while st.phase != Phase::Done {
            st = self.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Finishes the job here and now, without running it again, unless a thread is
    /// running it (then waits for that run to end and finishes it after). For a job that
    /// must stop without doing anything more: opening failed.
    pub fn cancel(&self) {
        let mut st = self.lock();
        loop {
            match st.phase {
                Phase::Running | Phase::RunningWoken => {
                    st = self.done.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                Phase::Done => return,
                Phase::Idle | Phase::Queued => break,
            }
        }
        st.phase = Phase::Done;
        let job = st.job.take();
        drop(st);
        drop(job);
        self.done.notify_all();
    }
}

/// Puts `job` on the pool and runs it a first time.
pub fn spawn(job: Box<dyn Job>) -> Arc<Task> {
    let task = Arc::new(Task {
        state: Mutex::new(TaskState {
            phase: Phase::Idle,
            job: Some(job),
            timer: 0,
        }),
        done: Condvar::new(),
    });
    task.wake();
    task
}

/// The number of threads the pool runs.
pub fn size() -> usize {
    pool().size
}

struct Timer {
    at: Instant,
    number: u64,
    task: Arc<Task>,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.number) == (other.at, other.number)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.number).cmp(&(other.at, other.number))
    }
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Arc<Task>>,
    timers: BinaryHeap<Reverse<Timer>>,
}

struct Pool {
    queue: Mutex<Queue>,
    work: Condvar,
    size: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let size = configured_size();
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            size,
        }));
        for n in 0..size {
            // Without its threads no store could ever write: that is not recoverable.
            std::thread::Builder::new()
                .name(format!("tad-store-{n}"))
                .spawn(move || pool.work_loop())
                .expect("tad-store: cannot start the store thread pool");
        }
        pool
    })
}

/// `TAD_STORE_THREADS` when it is a number from 1 to 64, else the cores clamped to 2–4:
/// two, so one stalled disk never stops every store; at most four, since the work is
/// mostly waiting on fsync.
fn configured_size() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::env::var("TAD_STORE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| cores.clamp(2, 4))
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(&self, task: Arc<Task>) {
        self.lock().ready.push_back(task);
        self.work.notify_one();
    }

    fn work_loop(&'static self) {
        loop {
            let task = self.next_task();
            self.run(&task);
        }
    }

    /// The next queued task; fires due timers; sleeps until one is due or work comes.
    fn next_task(&self) -> Arc<Task> {
        let mut queue = self.lock();
        loop {
            let now = Instant::now();
            while queue.timers.peek().is_some_and(|t| t.0.at <= now) {
                let Some(Reverse(timer)) = queue.timers.pop() else {
                    break;
                };
                let mut st = timer.task.lock();
                if st.phase == Phase::Idle && st.timer == timer.number {
                    st.phase = Phase::Queued;
                    drop(st);
                    queue.ready.push_back(timer.task);
                }
            }
            if let Some(task) = queue.ready.pop_front() {
                return task;
            }
            queue = match queue.timers.peek().map(|t| t.0.at) {
                Some(at) => {
                    self.work
                        .wait_timeout(queue, at.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.work.wait(queue).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    fn run(&self, task: &Arc<Task>) {
        let mut job = {
            let mut st = task.lock();
            if st.phase != Phase::Queued {
                return; // cancelled while queued
            }
            st.phase = Phase::Running;
            match st.job.take() {
                Some(job) => job,
                None => return,
            }
        };
        // A panicking job is finished: its store reports it (see the committer).
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()))
            .unwrap_or(Next::Done);
        let mut st = task.lock();
        if next == Next::Done {
            st.phase = Phase::Done;
            drop(st);
            drop(job);
            task.done.notify_all();
            return;
        }
        st.job = Some(job);
        let woken = st.phase == Phase::RunningWoken;
        match next {
            Next::Wait(at) if !woken => {
                st.phase = Phase::Idle;
                st.timer += 1;
                let number = st.timer;
                drop(st);
                if let Some(at) = at {
                    self.lock().timers.push(Reverse(Timer {
                        at,
                        number,
                        task: task.clone(),
                    }));
                    self.work.notify_one();
                }
            }
            _ => {
                st.phase = Phase::Queued;
                drop(st);
                self.enqueue(task.clone());
            }
        }
        // A `cancel` waiting for this run to end looks again.
        task.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts its runs; waits `wait` after each, finishes after `runs`.
    struct Counter {
        runs: Arc<AtomicUsize>,
        limit: usize,
        wait: Option<Duration>,
        running: Arc<AtomicUsize>,
        overlapped: Arc<AtomicUsize>,
    }

    impl Job for Counter {
        fn run(&mut self) -> Next {
            if self.running.fetch_add(1, Ordering::SeqCst) > 0 {
                self.overlapped.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(1));
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            self.running.fetch_sub(1, Ordering::SeqCst);
            if n >= self.limit {
                Next::Done
            } else {
                Next::Wait(self.wait.map(|d| Instant::now() + d))
            }
        }
    }

    fn counter(
        limit: usize,
        wait: Option<Duration>,
    ) -> (Box<Counter>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let overlapped = Arc::new(AtomicUsize::new(0));
        let job = Box::new(Counter {
            runs: runs.clone(),
            limit,
            wait,
            running: Arc::default(),
            overlapped: overlapped.clone(),
        });
        (job, runs, overlapped)
    }

    #[test]
    fn a_job_runs_when_woken_never_twice_at_once_and_a_wake_while_running_is_kept() {
        let (job, runs, overlapped) = counter(1000, None);
        let task = spawn(job);
        for _ in 0..200 {
            task.wake();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        // Every wake either queued a run or was folded into one already queued/running;
        // the last wake is always followed by a run.
        while runs.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = runs.load(Ordering::SeqCst);
        task.wake();
        while runs.load(Ordering::SeqCst) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            runs.load(Ordering::SeqCst) > before,
            "a wake after a run runs again"
        );
        assert_eq!(
            overlapped.load(Ordering::SeqCst),
            0,
            "never on two threads at once"
        );
        task.cancel();
        task.wait_done();
    }

    #[test]
    fn a_waiting_job_with_no_deadline_never_runs_and_a_deadline_runs_it() {
        let (job, runs, _) = counter(3, None);
        let task = spawn(job);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "idle: not run again");

        let (job, timed_runs, _) = counter(3, Some(Duration::from_millis(20)));
        let timed = spawn(job);
        timed.wait_done();
        assert_eq!(timed_runs.load(Ordering::SeqCst), 3, "each deadline ran it");
        task.cancel();
        task.wait_done();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_job_that_blocks_holds_one_thread_and_the_others_go_on() {
        assert!(size() >= 2);
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        struct Stall(Arc<(Mutex<bool>, Condvar)>);
        impl Job for Stall {
            fn run(&mut self) -> Next {
                let (lock, cv) = &*self.0;
                let mut released = lock.lock().unwrap();
                while !*released {
                    released = cv.wait(released).unwrap();
                }
                Next::Done
            }
        }
        let stalled = spawn(Box::new(Stall(release.clone())));
        let (job, runs, _) = counter(5, Some(Duration::from_millis(1)));
        let quick = spawn(job);
        quick.wait_done();
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        *release.0.lock().unwrap() = true;
        release.1.notify_all();
        stalled.wait_done();
    }
}
