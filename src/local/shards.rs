//! Connection shards: each accepted connection is served, for its whole life, by one of a few threads that
//! each run a single-threaded runtime. A request then wakes no other thread; on a work-stealing runtime every
//! request woke an idle worker to look for work (measured: 49 to 36 us of server CPU per sequential call).
//! Connections are dealt out in turn, so concurrent clients still use every core.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A test or demo server needs a few cores at most; a test suite may run many servers at once.
const MAX_SHARDS: usize = 4;

pub struct Shards {
    handles: Vec<Handle>,
    next: AtomicUsize,
    threads: Mutex<Vec<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl Shards {
    /// One shard per core the process may use, up to `MAX_SHARDS`.
    pub fn start() -> std::io::Result<Self> {
        let count = std::thread::available_parallelism().map(usize::from).unwrap_or(1).min(MAX_SHARDS);
        let mut handles = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            let thread =
                std::thread::Builder::new().name(format!("sagemaker-runtime-rs-local-{index}")).spawn(move || {
                    // A dropped sender stops the shard too (the server object went away).
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                    // Drops the connections' tasks, which closes their sockets; Python model calls in progress
                    // get a moment to finish.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })?;
            threads.push((stop, thread));
        }
        Ok(Self { handles, next: AtomicUsize::new(0), threads: Mutex::new(threads) })
    }

    /// Runs a connection's task on the next shard in turn.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        drop(self.handles[index].spawn(task));
    }

    /// Stops every shard, which drops its open connections; with `wait`, returns once they are closed.
    pub fn stop(&self, wait: bool) {
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut joins = Vec::with_capacity(threads.len());
        for (stop, thread) in threads {
            let _ = stop.send(());
            joins.push(thread);
        }
        if wait {
            for thread in joins {
                let _ = thread.join();
            }
        }
    }
}
