//! invoke_endpoint_many: many InvokeEndpoint calls run concurrently on the runtime, inputs pulled lazily from
//! any Python iterable (a generator of a million requests is never materialized), results in input order.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::convert::ToPython;
use crate::errors::Error;
use crate::operations::{self, Core, InvokeEndpointResponse, Request};
use crate::response::Face;
use crate::{request, runtime};

pub struct BatchOptions {
    pub max_concurrency: usize,
    pub return_exceptions: bool,
    pub progress: Option<Progress>,
    pub asynchronous: bool,
}

/// A progress bar (tqdm when installed); closed when the batch ends, however it ends.
pub struct Progress(Py<PyAny>);

impl Progress {
    fn advance(&self, py: Python<'_>, count: usize) -> PyResult<()> {
        self.0.bind(py).call_method1("update", (count,)).map(drop)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        Python::attach(|py| {
            let _ = self.0.bind(py).call_method0("close");
        });
    }
}

/// Checks the arguments and sets up the source and options of a batch.
pub fn prepare(
    requests: &Bound<'_, PyAny>,
    max_concurrency: usize,
    return_exceptions: bool,
    progress: bool,
    asynchronous: bool,
) -> PyResult<(Source, BatchOptions)> {
    if max_concurrency == 0 {
        return Err(pyo3::exceptions::PyValueError::new_err("max_concurrency must be at least 1"));
    }
    let progress = if progress {
        let total = requests.len().ok();
        let bar = requests.py().import("sagemaker_runtime_rs._progress")?.getattr("progress_bar")?.call1((total,))?;
        Some(Progress(bar.unbind()))
    } else {
        None
    };
    let source = Source::new(requests)?;
    Ok((source, BatchOptions { max_concurrency, return_exceptions, progress, asynchronous }))
}

/// Where the batch's requests come from: a Python iterator of kwargs dicts.
pub struct Source {
    iterator: Py<PyAny>,
    exhausted: bool,
}

impl Source {
    pub fn new(requests: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self { iterator: requests.try_iter()?.into_any().unbind(), exhausted: false })
    }

    /// Up to `count` more requests, each validated; an invalid one is its ParamValidationError.
    fn pull(&mut self, py: Python<'_>, count: usize) -> PyResult<Vec<PyResult<Request>>> {
        let iterator = self.iterator.bind(py);
        let mut pulled = Vec::with_capacity(count);
        while pulled.len() < count {
            let Some(item) = iterator.call_method0("__next__").map(Some).or_else(|err| {
                if err.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) {
                    Ok(None)
                } else {
                    Err(err)
                }
            })?
            else {
                self.exhausted = true;
                break;
            };
            let kwargs = item.cast::<PyDict>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "invoke_endpoint_many takes an iterable of keyword-argument dicts, got {}",
                    item.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                ))
            })?;
            let args = PyTuple::empty(py);
            pulled.push(request::parse(py, &request::INVOKE_ENDPOINT, &args, Some(kwargs)).map(Request::from_params));
        }
        Ok(pulled)
    }
}

/// The batch's results in input order, already Python objects (each converted while later calls were in
/// flight); a failed call's exception object in its place with `return_exceptions`.
pub struct Results(Vec<Py<PyAny>>);

pub enum Abort {
    Call(Error),
    Python(PyErr),
}

/// Turns the calls that just finished into Python objects, with one GIL acquisition for all of them.
fn convert(finished: Vec<CallReport>, outcomes: &mut [Option<Py<PyAny>>], options: &BatchOptions) -> Result<(), Abort> {
    Python::attach(|py| {
        let count = finished.len();
        for (index, result) in finished {
            let object = match result {
                Ok(response) => {
                    Face { value: response, asynchronous: options.asynchronous }.to_python(py).map_err(Abort::Python)?
                }
                Err(error) if options.return_exceptions => {
                    error.into_pyerr(py).into_value(py).into_bound(py).into_any()
                }
                Err(error) => return Err(Abort::Call(error)),
            };
            outcomes[index] = Some(object.unbind());
        }
        if let Some(progress) = &options.progress {
            progress.advance(py, count).map_err(Abort::Python)?;
        }
        Ok(())
    })
}

type CallReport = (usize, Result<InvokeEndpointResponse, Error>);

/// Runs the calls handed over on `requests` as tasks of the process runtime and reports each as it ends
/// (a call that panicked as an error: its index is lost, so the batch stops); on a worker, the many spawns
/// and completions stay off the thread that drives the batch.
async fn execute(
    core: Arc<Core>,
    mut requests: mpsc::UnboundedReceiver<(usize, Request)>,
    finished: mpsc::UnboundedSender<Result<CallReport, Error>>,
) {
    let mut in_flight = JoinSet::new();
    let mut open = true;
    loop {
        tokio::select! {
            received = requests.recv(), if open => match received {
                Some((index, request)) => {
                    let core = core.clone();
                    in_flight.spawn(async move { (index, operations::invoke_endpoint(core, request).await) });
                }
                None => open = false,
            },
            Some(joined) = in_flight.join_next() => {
                let report = joined.map_err(|e| Error::HttpClient(format!("batch task failed: {e}")));
                if finished.send(report).is_err() {
                    return; // the batch was dropped (Ctrl-C, or a failure without return_exceptions)
                }
            }
            else => return,
        }
    }
}

/// The batch: requests are pulled (from the caller's iterable, on the caller's thread: a generator may
/// hold thread-bound objects such as a sqlite cursor) and results converted here; the calls themselves run
/// in `execute`.
pub async fn run(core: Arc<Core>, mut source: Source, options: BatchOptions) -> Result<Results, Abort> {
    let limit = options.max_concurrency.max(1);
    // Refill in chunks: each refill takes the GIL once, so it waits until a quarter of the slots are free.
    let refill_at = (limit / 4).max(1);
    let (requests, requests_out) = mpsc::unbounded_channel();
    let (finished_in, mut finished) = mpsc::unbounded_channel();
    let _calls = runtime::spawn_owned(execute(core, requests_out, finished_in)).map_err(Abort::Python)?;
    let mut outcomes: Vec<Option<Py<PyAny>>> = Vec::new();
    let mut in_flight = 0;
    loop {
        let room = limit.saturating_sub(in_flight);
        if !source.exhausted && (room >= refill_at || in_flight == 0) {
            let pulled = Python::attach(|py| source.pull(py, room)).map_err(Abort::Python)?;
            for item in pulled {
                let index = outcomes.len();
                outcomes.push(None);
                match item {
                    Ok(request) => {
                        requests
                            .send((index, request))
                            .map_err(|_| Abort::Call(Error::HttpClient("batch runner stopped".to_owned())))?;
                        in_flight += 1;
                    }
                    Err(invalid) if options.return_exceptions => {
                        outcomes[index] = Some(Python::attach(|py| invalid.into_value(py).into_any()))
                    }
                    Err(invalid) => return Err(Abort::Python(invalid)),
                }
            }
        }
        if in_flight == 0 {
            if source.exhausted {
                break;
            }
            continue;
        }
        let Some(first) = finished.recv().await else {
            return Err(Abort::Call(Error::HttpClient("batch runner stopped".to_owned())));
        };
        // Take every call that finished meanwhile before sleeping again: one wake-up, many completions.
        let mut done = vec![first.map_err(Abort::Call)?];
        while let Ok(more) = finished.try_recv() {
            done.push(more.map_err(Abort::Call)?);
        }
        in_flight -= done.len();
        convert(done, &mut outcomes, &options)?;
    }
    Ok(Results(outcomes.into_iter().flatten().collect()))
}

impl ToPython for Results {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        Ok(PyList::new(py, self.0)?.into_any())
    }
}

/// A batch's end result as Python sees it: the list, or the exception that stopped it.
pub struct Finished(pub Result<Results, Abort>);

impl ToPython for Finished {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self.0 {
            Ok(results) => results.to_python(py),
            Err(Abort::Call(error)) => Err(error.into_pyerr(py)),
            Err(Abort::Python(error)) => Err(error),
        }
    }
}

impl<'py> IntoPyObject<'py> for Finished {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_python(py)
    }
}
