//! The process-wide tokio runtime, rebuilt transparently in a forked child.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a blocking call re-attaches to check for Ctrl-C.
pub const SIGNAL_TICK: Duration = Duration::from_millis(50);

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's id, read once and forgotten in a forked child: every call checks it, and getpid() is a
/// system call.
static PID: AtomicU32 = AtomicU32::new(0);
static FORGET_PID_AT_FORK: Once = Once::new();

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

/// The id of the current process (cached; correct in a child made by fork()).
pub fn pid() -> u32 {
    let known = PID.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    FORGET_PID_AT_FORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic, which is async-signal-safe. If
        // registration fails the cache is never filled and every call asks the kernel.
        let registered = unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) } == 0;
        if !registered {
            return;
        }
        PID.store(std::process::id(), Ordering::Relaxed);
    });
    match PID.load(Ordering::Relaxed) {
        0 => std::process::id(),
        cached => cached,
    }
}

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
    let pid = pid();
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

/// A task of the process runtime that is aborted when its handle is dropped (Ctrl-C in `block_on`).
pub struct OwnedTask<T>(tokio::task::JoinHandle<T>);

impl<T> Future for OwnedTask<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for OwnedTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` as a task on a worker, where the wake-ups and spawns it causes stay on the runtime's threads
/// instead of waking the thread that waits for it.
pub fn spawn_owned<F>(future: F) -> PyResult<OwnedTask<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime =
        get().map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    Ok(OwnedTask(runtime.spawn(future)))
}

/// Runs `future` to completion with the GIL released, waking every tick to let Python handle signals.
/// On a pending exception (KeyboardInterrupt) the future is dropped, which aborts its HTTP request.
pub fn block_on<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    block_on_inner(py, future, false)
}

/// As block_on, but first polls once without releasing the GIL: for steps that are usually ready at once
/// (the next event of a stream already buffered), which then cost no thread hand-off. Only for futures whose
/// first poll does no heavy work, since it holds the GIL.
pub fn block_on_ready_first<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    block_on_inner(py, future, true)
}

fn block_on_inner<F, T>(py: Python<'_>, future: F, try_now: bool) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime =
        get().map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let mut future = std::pin::pin!(future);
    if try_now {
        let _context = runtime.enter();
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(&mut context))) {
            Ok(std::task::Poll::Ready(output)) => return Ok(output),
            Ok(std::task::Poll::Pending) => {} // a later poll registers the real waker
            Err(panic) => return Err(panic_error(panic)),
        }
    }
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

/// A Rust panic becomes a RuntimeError: PyO3's PanicException is a BaseException that `except Exception` misses.
pub fn panic_error(panic: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    pyo3::exceptions::PyRuntimeError::new_err(format!(
        "internal error in sagemaker_runtime_rs (please report it): {message}"
    ))
}
