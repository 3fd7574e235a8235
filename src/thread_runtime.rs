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

/// Drop order matters: pools first (their idle connections are tasks of the runtime), then the runtime.
struct ThreadState {
    pools: Vec<(Weak<PoolOwner>, SharedHttpClient)>,
    runtime: Rc<Runtime>,
    pid: u32,
}

/// Identifies one client's per-thread pools; pools whose owner is gone are dropped on the next lookup.
#[derive(Debug, Default)]
pub struct PoolOwner;

thread_local! {
    static STATE: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
    /// True while this thread drives its own runtime: connectors then hand out this thread's pools.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

fn runtime() -> std::io::Result<Rc<Runtime>> {
    STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        let pid = std::process::id();
        if let Some(current) = state.as_ref() {
            if current.pid == pid {
                return Ok(current.runtime.clone());
            }
        }
        if let Some(inherited) = state.take() {
            // Through fork(): the parent's sockets and blocking threads are not ours to close or join.
            std::mem::forget(inherited);
        }
        let runtime = Rc::new(tokio::runtime::Builder::new_current_thread().enable_all().build()?);
        *state = Some(ThreadState { pools: Vec::new(), runtime: runtime.clone(), pid });
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
        let state = state.as_mut()?;
        let before = state.pools.len();
        state.pools.retain(|(owner, _)| owner.strong_count() > 0);
        (state.pools.len() < before).then(|| state.runtime.clone())
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
    let runtime = runtime()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let outcome = drive(py, &runtime, future);
    if outcome.is_err() {
        drop(runtime);
        discard();
    }
    outcome
}

fn drive<F>(py: Python<'_>, runtime: &Runtime, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut call = std::pin::pin!(async {
        // Before a pooled connection is picked: let its task notice a close by the server (urllib3 checks too).
        settle().await;
        let output = future.await;
        settle().await;
        output
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
