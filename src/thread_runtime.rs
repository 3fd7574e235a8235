//! The sync client's calls run on the calling thread: a current-thread tokio runtime and connection pools
//! owned by that thread. The thread then drives its own socket I/O while the GIL is released, so a call
//! costs no hand-off to a worker thread and back (on these VMs each wake-up costs tens of microseconds).
//! Connections made here never leave the thread: the pool of `crate::http_client` is per thread.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Weak};

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::runtime::{panic_error, SIGNAL_TICK};

/// A thread's runtime and the pools whose connections are its tasks.
struct ThreadState {
    pools: Vec<(Weak<PoolOwner>, SharedHttpClient)>,
    runtime: Option<Rc<Runtime>>,
    pid: u32,
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        let pools = std::mem::take(&mut self.pools);
        let runtime = self.runtime.take();
        if self.pid != crate::runtime::pid() {
            // Inherited through fork(): the sockets and the epoll instance are shared with the parent, which
            // still uses them; closing or deregistering them here would break the parent's connections.
            std::mem::forget(pools);
            std::mem::forget(runtime);
            return;
        }
        drop(pools);
        // Without waiting for a blocking-pool thread (a DNS lookup can take seconds); tasks and sockets go now.
        if let Some(runtime) = runtime.and_then(|runtime| Rc::try_unwrap(runtime).ok()) {
            runtime.shutdown_background();
        }
    }
}

/// Identifies one client's per-thread pools; pools whose owner is gone are dropped on the next lookup.
#[derive(Debug, Default)]
pub struct PoolOwner;

/// Calls a thread makes on the shared runtime before it gets its own: a thread that makes one call (a
/// thread per request) then reuses the shared pool's connections instead of opening one of its own.
const CALLS_BEFORE_OWN_RUNTIME: u32 = 2;

thread_local! {
    static STATE: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
    /// True while this thread drives its own runtime: connectors then hand out this thread's pools.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// This thread's state if it belongs to this process (a forked child's inherited one is forgotten).
fn current(state: &mut Option<ThreadState>) -> Option<&mut ThreadState> {
    if state.as_ref().is_some_and(|current| current.pid != crate::runtime::pid()) {
        drop(state.take()); // forgets, see Drop
    }
    state.as_mut()
}

fn runtime() -> std::io::Result<Rc<Runtime>> {
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        if let Some(runtime) = current(&mut state).and_then(|current| current.runtime.clone()) {
            return Ok(runtime);
        }
        let runtime = Rc::new(tokio::runtime::Builder::new_current_thread().enable_all().build()?);
        *state = Some(ThreadState { pools: Vec::new(), runtime: Some(runtime.clone()), pid: crate::runtime::pid() });
        Ok(runtime)
    })
}

/// Drops this thread's runtime and pools, which closes their connections at once (after Ctrl-C: the server
/// must see the abandoned request go; an undriven current-thread runtime would leave the socket open).
fn discard() {
    let taken = STATE.with(|cell| cell.borrow_mut().take());
    drop(taken);
}

/// This thread's pool for `owner` while the thread drives its own runtime; `None` on any other runtime.
pub fn pool(owner: &Arc<PoolOwner>, build: impl FnOnce() -> SharedHttpClient) -> Option<SharedHttpClient> {
    if !DRIVING.get() {
        return None;
    }
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        // Driving implies `runtime()` has just checked the pid for this call.
        let state = state.as_mut()?;
        state.pools.retain(|(owner, _)| owner.strong_count() > 0);
        if let Some((_, client)) =
            state.pools.iter().find(|(known, _)| std::ptr::eq(known.as_ptr(), Arc::as_ptr(owner)))
        {
            return Some(client.clone());
        }
        let client = build();
        state.pools.push((Arc::downgrade(owner), client.clone()));
        Some(client)
    })
}

/// Closes this thread's pools of clients that were closed or dropped. Their connection tasks end on the
/// next turn of the runtime, which is taken here so the sockets close now.
pub fn prune() {
    let runtime = STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        let state = current(&mut state)?;
        let before = state.pools.len();
        state.pools.retain(|(owner, _)| owner.strong_count() > 0);
        if state.pools.len() < before {
            state.runtime.clone()
        } else {
            None
        }
    });
    if let Some(runtime) = runtime {
        runtime.block_on(settle());
    }
}

struct Driving;

impl Driving {
    fn start() -> Self {
        DRIVING.set(true);
        Self
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.set(false);
    }
}

/// Lets this runtime's other tasks run: connection tasks note closed sockets and hand finished connections
/// back to the pool. Two rounds, because the scheduler polls the main future before tasks the I/O driver woke.
async fn settle() {
    for _ in 0..2 {
        tokio::task::yield_now().await;
    }
}

/// Runs `future` on this thread's runtime with the GIL released, waking every tick for Ctrl-C. On a pending
/// exception (KeyboardInterrupt) or a panic the future is dropped and the runtime with its connections too.
pub fn block_on<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let calls = CALLS.get();
    if calls < CALLS_BEFORE_OWN_RUNTIME {
        CALLS.set(calls + 1);
        return crate::runtime::block_on(py, future);
    }
    let runtime = runtime()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let outcome = drive(py, &runtime, future);
    if outcome.is_err() {
        drop(runtime);
        py.detach(discard);
    }
    outcome
}

fn drive<F>(py: Python<'_>, runtime: &Runtime, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut call = std::pin::pin!(async {
        // Before a pooled connection is picked: let its task notice a close by the server (urllib3 checks too),
        // and let the last call's connection go back to the pool. Not after the call: the next one does it.
        settle().await;
        future.await
    });
    loop {
        let polled = py.detach(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _driving = Driving::start();
                runtime.block_on(async { tokio::time::timeout(SIGNAL_TICK, call.as_mut()).await })
            }))
        });
        match polled {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(_elapsed)) => py.check_signals()?,
            Err(panic) => return Err(panic_error(panic)),
        }
    }
}
