//! A cheap bridge from tokio futures to asyncio: completed results go into a per-loop queue and the loop is
//! woken through a socketpair it watches (`loop.add_reader`), once per batch of completions. No tokio thread
//! ever takes the GIL; the loop thread converts results while it holds the GIL anyway. It replaced
//! pyo3-async-runtimes' future_into_py (two spawns, a blocking-pool hop, a GIL hand-off and a
//! call_soon_threadsafe per call), which ran a third as many calls per second at concurrency 64.

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::IntoPyObjectExt;
use tokio::task::AbortHandle;

use crate::runtime;

/// A finished operation, converted to Python by the loop thread.
trait Completion: Send {
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

impl<T> Completion for T
where
    T: for<'py> IntoPyObject<'py, Error = PyErr> + Send,
{
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        (*self).into_py_any(py)
    }
}

/// An asyncio future and the outcome to resolve it with.
type Resolution = (Py<PyAny>, Box<dyn Completion>);

struct Shared {
    done: Mutex<Vec<Resolution>>,
    wake_pending: AtomicBool,
    waker: UnixStream,
}

impl Shared {
    fn complete(&self, future: Py<PyAny>, outcome: Box<dyn Completion>) {
        self.done.lock().unwrap_or_else(|p| p.into_inner()).push((future, outcome));
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // A full buffer means a wake-up is already queued.
            let _ = (&self.waker).write(&[1]);
        }
    }
}

/// One event loop's end of the bridge.
#[pyclass(module = "sagemaker_runtime_rs._core", frozen)]
pub struct LoopBridge {
    shared: Arc<Shared>,
    watched: UnixStream,
}

#[pymethods]
impl LoopBridge {
    /// Called by the loop when the socket is readable: resolves every completed future.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        // Order matters: consume the wake-up bytes, then re-arm, then take the queue. A producer that finds
        // the flag still set knows a byte written after the last re-arm is waiting to be read.
        let mut sink = [0u8; 256];
        while matches!((&self.watched).read(&mut sink), Ok(n) if n > 0) {}
        self.shared.wake_pending.store(false, Ordering::Release);
        let done = std::mem::take(&mut *self.shared.done.lock().unwrap_or_else(|p| p.into_inner()));
        for (future, outcome) in done {
            let future = future.bind(py);
            if future.call_method0("done")?.is_truthy()? {
                continue; // cancelled meanwhile
            }
            match outcome.into_python(py) {
                Ok(value) => future.call_method1("set_result", (value,))?,
                Err(error) => future.call_method1("set_exception", (error.into_value(py),))?,
            };
        }
        Ok(())
    }

    fn fileno(&self) -> i32 {
        self.watched.as_raw_fd()
    }
}

/// Aborts the tokio task when the asyncio future is cancelled (the done-callback of the future).
#[pyclass(module = "sagemaker_runtime_rs._core", frozen)]
pub struct CancelOnDone {
    task: AbortHandle,
}

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
const BRIDGE_ATTRIBUTE: &str = "_sagemaker_runtime_rs_bridge";

fn bridge_for<'py>(event_loop: &Bound<'py, PyAny>) -> PyResult<Bound<'py, LoopBridge>> {
    if let Ok(existing) = event_loop.getattr(BRIDGE_ATTRIBUTE) {
        if let Ok(bridge) = existing.cast_into::<LoopBridge>() {
            return Ok(bridge);
        }
    }
    let (waker, watched) = UnixStream::pair()
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot create the asyncio wake-up socket: {e}")))?;
    for end in [&waker, &watched] {
        end.set_nonblocking(true)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot configure the wake-up socket: {e}")))?;
    }
    let shared = Arc::new(Shared { done: Mutex::new(Vec::new()), wake_pending: AtomicBool::new(false), waker });
    let bridge = Bound::new(event_loop.py(), LoopBridge { shared, watched })?;
    event_loop.call_method1("add_reader", (bridge.get().fileno(), bridge.getattr("drain")?))?;
    // Loops without a __dict__ (uvloop) cannot carry it: they get a new bridge per call, which still works.
    let _ = event_loop.setattr(BRIDGE_ATTRIBUTE, &bridge);
    Ok(bridge)
}

/// An asyncio future for `future`, run on our runtime. Cancelling the awaiting task aborts the tokio task,
/// which drops the operation and with it the HTTP request.
pub fn future_into_py<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: for<'a> IntoPyObject<'a, Error = PyErr> + Send + 'static,
{
    let get_running_loop = GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind()))?;
    let event_loop = get_running_loop.bind(py).call0()?;
    let bridge = bridge_for(&event_loop)?;
    let asyncio_future = event_loop.call_method0("create_future")?;
    let shared = bridge.get().shared.clone();
    let target = asyncio_future.clone().unbind();
    let runtime = runtime::get()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let task = runtime.spawn(async move {
        let outcome = future.await;
        shared.complete(target, Box::new(outcome));
    });
    asyncio_future.call_method1("add_done_callback", (CancelOnDone { task: task.abort_handle() },))?;
    Ok(asyncio_future)
}
