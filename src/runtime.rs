//! The process-wide tokio runtime, rebuilt transparently in a forked child.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a blocking call re-attaches to check for Ctrl-C.
const SIGNAL_TICK: Duration = Duration::from_millis(50);

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

fn build() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sagemaker-runtime-rs")
        .enable_all()
        .build()
}

/// The runtime of this process. After `fork()` the parent's worker threads do not exist in the child, so a
/// runtime created by another pid is leaked (dropping it would join threads that are gone) and a new one built.
pub fn get() -> std::io::Result<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return Ok(runtime.clone());
        }
    }
    if let Some((_, inherited)) = slot.take() {
        std::mem::forget(inherited);
    }
    let runtime = Arc::new(build()?);
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

/// Runs `future` to completion with the GIL released, waking every tick to let Python handle signals.
/// On a pending exception (KeyboardInterrupt) the future is dropped, which aborts its HTTP request.
pub fn block_on<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime =
        get().map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let mut future = std::pin::pin!(future);
    loop {
        let polled = py.detach(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(async { tokio::time::timeout(SIGNAL_TICK, future.as_mut()).await })
            }))
        });
        match polled {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(_elapsed)) => py.check_signals()?,
            Err(panic) => return Err(panic_error(panic)),
        }
    }
}

/// pyo3-async-runtimes' runtime hooks, pointed at our fork-aware runtime.
pub struct AsyncRuntime;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<pyo3_async_runtimes::TaskLocals>;
}

#[derive(Debug)]
pub struct SpawnError(String);

impl pyo3_async_runtimes::generic::JoinError for SpawnError {
    fn is_panic(&self) -> bool {
        false
    }

    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        Box::new(self.0)
    }
}

type JoinFuture = std::pin::Pin<Box<dyn Future<Output = Result<(), SpawnError>> + Send>>;

fn spawned(handle: std::io::Result<tokio::task::JoinHandle<()>>) -> JoinFuture {
    Box::pin(async move {
        match handle {
            Ok(handle) => handle.await.map_err(|e| SpawnError(e.to_string())),
            Err(e) => Err(SpawnError(e.to_string())),
        }
    })
}

impl pyo3_async_runtimes::generic::Runtime for AsyncRuntime {
    type JoinError = SpawnError;
    type JoinHandle = JoinFuture;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        spawned(get().map(|runtime| runtime.spawn(fut)))
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        spawned(get().map(|runtime| runtime.spawn_blocking(f)))
    }
}

impl pyo3_async_runtimes::generic::ContextExt for AsyncRuntime {
    fn scope<F, R>(locals: pyo3_async_runtimes::TaskLocals, fut: F) -> std::pin::Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<pyo3_async_runtimes::TaskLocals> {
        TASK_LOCALS.try_with(|cell| cell.get().cloned()).unwrap_or_default()
    }
}

/// An asyncio awaitable for `future`, run on our runtime. Cancelling the awaiting task drops the future,
/// which aborts its HTTP request.
pub fn future_into_py<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: for<'a> pyo3::IntoPyObject<'a> + Send + 'static,
{
    get().map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    pyo3_async_runtimes::generic::future_into_py::<AsyncRuntime, _, T>(py, async move { Ok(future.await) })
}

/// A Rust panic becomes a RuntimeError: PyO3's PanicException is a BaseException that `except Exception` misses.
fn panic_error(panic: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    pyo3::exceptions::PyRuntimeError::new_err(format!(
        "internal error in sagemaker_runtime_rs (please report it): {message}"
    ))
}
