//! EventStream (sync iterator) and AsyncEventStream (async iterator) over the SDK's event receiver, with
//! line and server-sent-event reassembly across PayloadParts.

use std::sync::Arc;

use aws_sdk_sagemakerruntime::error::SdkError;
use aws_sdk_sagemakerruntime::primitives::event_stream::EventReceiver;
use aws_sdk_sagemakerruntime::types::error::ResponseStreamError;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::convert::{Converted, ToPython};
use crate::errors::{Error, ServiceError};
use crate::lines::{LineSplitter, SseParser, TooLong, DEFAULT_MAX_LINE_BYTES};
use crate::metadata::ResponseMetadata;
use crate::{asyncio_bridge, runtime};

const OPERATION: &str = "InvokeEndpointWithResponseStream";

type Receiver = EventReceiver<ResponseStream, ResponseStreamError>;

/// The events of one response. Dropping the receiver closes the connection.
/// Events decoded ahead of the reader: the receiver is drained on a runtime task into this many slots, so a
/// reader that is busy converting the previous event finds the next one waiting instead of handing off
/// between threads per event; a full buffer stops reading from the socket (backpressure).
const READ_AHEAD: usize = 64;

type Part = Result<Vec<u8>, Error>;

/// The events of one response. Closing it (or dropping it) aborts the reading task, which drops the
/// receiver and with it the connection.
pub struct EventSource {
    parts: Mutex<Option<tokio::sync::mpsc::Receiver<Part>>>,
    reader: tokio::task::AbortHandle,
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl EventSource {
    /// Starts draining `receiver`; must run inside the runtime (operations do). `read_timeout` bounds each
    /// wait for the next event, as botocore's socket timeout does.
    pub fn new(receiver: Receiver, url: String, read_timeout: std::time::Duration) -> Self {
        let (sender, parts) = tokio::sync::mpsc::channel(READ_AHEAD);
        let reader = tokio::spawn(read_events(receiver, url, read_timeout, sender)).abort_handle();
        Self { parts: Mutex::new(Some(parts)), reader }
    }

    /// The next PayloadPart's bytes; `None` at the end (or after close).
    pub async fn next_part(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut slot = self.parts.lock().await;
        let Some(parts) = slot.as_mut() else { return Ok(None) };
        match parts.recv().await {
            Some(Ok(part)) => Ok(Some(part)),
            Some(Err(error)) => {
                *slot = None;
                Err(error)
            }
            None => {
                *slot = None;
                Ok(None)
            }
        }
    }

    /// Stops reading: the connection is dropped now; iteration then ends.
    pub fn close(&self) {
        self.reader.abort();
        if let Ok(mut slot) = self.parts.try_lock() {
            *slot = None;
        }
    }
}

/// Decodes events into `sender` until the stream ends, fails, or nobody listens. Unknown event types are
/// skipped, so a service that adds one does not break readers.
async fn read_events(
    mut receiver: Receiver,
    url: String,
    read_timeout: std::time::Duration,
    sender: tokio::sync::mpsc::Sender<Part>,
) {
    loop {
        let Ok(received) = tokio::time::timeout(read_timeout, receiver.recv()).await else {
            let _ = sender.send(Err(Error::ReadTimeout { url })).await;
            return;
        };
        let part = match received {
            Ok(Some(ResponseStream::PayloadPart(part))) => Ok(part.bytes.map(|b| b.into_inner()).unwrap_or_default()),
            Ok(Some(_unknown)) => continue,
            Ok(None) => return,
            Err(error) => Err(stream_error(&url, error)),
        };
        let failed = part.is_err();
        if sender.send(part).await.is_err() || failed {
            return;
        }
    }
}

fn stream_error<R: std::fmt::Debug + 'static>(url: &str, error: SdkError<ResponseStreamError, R>) -> Error {
    match error {
        SdkError::ServiceError(context) => {
            let error = context.into_err();
            let (code, message, error_code) = match &error {
                ResponseStreamError::ModelStreamError(e) => {
                    ("ModelStreamError".to_owned(), e.message.clone(), e.error_code.clone())
                }
                ResponseStreamError::InternalStreamFailure(e) => {
                    ("InternalStreamFailure".to_owned(), e.message.clone(), None)
                }
                other => (other.code().unwrap_or("Unknown").to_owned(), other.message().map(str::to_owned), None),
            };
            let mut modeled = Map::new();
            modeled.insert("Message".into(), Value::String(message.clone().unwrap_or_default()));
            if let Some(error_code) = error_code {
                modeled.insert("ErrorCode".into(), Value::String(error_code));
            }
            Error::Service(Box::new(ServiceError {
                operation: OPERATION,
                code,
                message: message.unwrap_or_default(),
                modeled,
                metadata: ResponseMetadata::default(),
                max_attempts_reached: false,
                in_stream: true,
            }))
        }
        other => Error::ResponseStreaming { url: url.to_owned(), detail: crate::errors::chain_text(&other) },
    }
}

enum Framing {
    Lines(LineSplitter),
    Sse(SseParser),
}

/// Lines or server-sent events over an EventSource, shared by the sync and async iterators.
pub struct Reassembler {
    source: Arc<EventSource>,
    state: Mutex<(Framing, bool)>,
}

fn too_long(limit: TooLong) -> Error {
    Error::InvalidConfig(format!(
        "a line or event in the response stream exceeds {} bytes; raise the limit (max_line_bytes) if that is expected",
        limit.limit
    ))
}

impl Reassembler {
    fn new(source: Arc<EventSource>, framing: Framing) -> Self {
        Self { source, state: Mutex::new((framing, false)) }
    }

    pub async fn next(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut guard = self.state.lock().await;
        let (framing, finished) = &mut *guard;
        loop {
            let ready = match framing {
                Framing::Lines(lines) => lines.pop(),
                Framing::Sse(events) => events.pop(),
            };
            if ready.is_some() {
                return Ok(ready);
            }
            if *finished {
                return Ok(None);
            }
            match self.source.next_part().await? {
                Some(part) => match framing {
                    Framing::Lines(lines) => lines.push(&part).map_err(too_long)?,
                    Framing::Sse(events) => events.push(&part).map_err(too_long)?,
                },
                None => {
                    *finished = true;
                    match framing {
                        Framing::Lines(lines) => return Ok(lines.finish()),
                        Framing::Sse(events) => events.finish().map_err(too_long)?,
                    }
                }
            }
        }
    }
}

/// What each iterator yields, converted under the GIL.
pub enum Item {
    Part(Vec<u8>),
    Line(Vec<u8>),
    Text(Vec<u8>),
}

impl ToPython for Item {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        Ok(match self {
            Item::Part(bytes) => {
                let part = PyDict::new(py);
                part.set_item("Bytes", PyBytes::new(py, &bytes))?;
                let event = PyDict::new(py);
                event.set_item("PayloadPart", part)?;
                event.into_any()
            }
            Item::Line(bytes) => PyBytes::new(py, &bytes).into_any(),
            Item::Text(bytes) => PyString::new(py, &String::from_utf8_lossy(&bytes)).into_any(),
        })
    }
}

/// End of iteration, as the sync (StopIteration) or async (StopAsyncIteration) protocol needs it.
pub struct Step {
    item: Option<Item>,
    asynchronous: bool,
}

impl ToPython for Step {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self.item {
            Some(item) => item.to_python(py),
            None if self.asynchronous => Err(PyStopAsyncIteration::new_err(())),
            None => Err(PyStopIteration::new_err(())),
        }
    }
}

enum Producer {
    Events(Arc<EventSource>),
    Lines(Arc<Reassembler>),
    Sse(Arc<Reassembler>),
}

impl Producer {
    fn clone_ref(&self) -> Self {
        match self {
            Producer::Events(source) => Producer::Events(source.clone()),
            Producer::Lines(r) => Producer::Lines(r.clone()),
            Producer::Sse(r) => Producer::Sse(r.clone()),
        }
    }

    async fn step(self, asynchronous: bool) -> Result<Step, Error> {
        let item = match self {
            Producer::Events(source) => source.next_part().await?.map(Item::Part),
            Producer::Lines(reassembler) => reassembler.next().await?.map(Item::Line),
            Producer::Sse(reassembler) => reassembler.next().await?.map(Item::Text),
        };
        Ok(Step { item, asynchronous })
    }
}

/// The Body of an invoke_endpoint_with_response_stream response: iterate it for
/// `{"PayloadPart": {"Bytes": b"..."}}` events as they arrive.
#[pyclass(name = "EventStream", module = "sagemaker_runtime_rs", frozen)]
pub struct PyEventStream {
    source: Arc<EventSource>,
}

/// The async Body of AsyncClient.invoke_endpoint_with_response_stream: `async for event in body`.
#[pyclass(name = "AsyncEventStream", module = "sagemaker_runtime_rs", frozen)]
pub struct PyAsyncEventStream {
    source: Arc<EventSource>,
}

/// Lines (bytes) or server-sent-event data (str) reassembled across parts; sync or async by its stream.
#[pyclass(name = "StreamIterator", module = "sagemaker_runtime_rs", frozen)]
pub struct PyStreamIterator {
    producer: Producer,
    source: Arc<EventSource>,
    asynchronous: bool,
}

impl PyEventStream {
    pub fn new(source: EventSource) -> Self {
        Self { source: Arc::new(source) }
    }
}

impl PyAsyncEventStream {
    pub fn new(source: EventSource) -> Self {
        Self { source: Arc::new(source) }
    }
}

fn reassembled(
    source: &Arc<EventSource>,
    sse: bool,
    keepends: bool,
    limit: usize,
    asynchronous: bool,
) -> PyStreamIterator {
    let producer = if sse {
        Producer::Sse(Arc::new(Reassembler::new(source.clone(), Framing::Sse(SseParser::new(limit)))))
    } else {
        Producer::Lines(Arc::new(Reassembler::new(source.clone(), Framing::Lines(LineSplitter::new(keepends, limit)))))
    };
    PyStreamIterator { producer, source: source.clone(), asynchronous }
}

fn blocking_step(py: Python<'_>, producer: Producer) -> PyResult<Bound<'_, PyAny>> {
    Converted(runtime::block_on_ready_first(py, producer.step(false))?).into_bound(py)
}

fn awaitable_step(py: Python<'_>, producer: Producer) -> PyResult<Bound<'_, PyAny>> {
    asyncio_bridge::future_into_py(py, async move { Converted(producer.step(true).await) })
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        blocking_step(py, Producer::Events(self.source.clone()))
    }

    /// Lines reassembled across PayloadParts (split on b"\n"; the last may lack one), as bytes.
    #[pyo3(signature = (keepends=false, max_line_bytes=8388608))]
    fn iter_lines(&self, keepends: bool, max_line_bytes: usize) -> PyStreamIterator {
        reassembled(&self.source, false, keepends, max_line_bytes, false)
    }

    /// The `data` of each server-sent event, as str (the format most LLM containers stream).
    #[pyo3(signature = (max_event_bytes=8388608))]
    fn iter_sse(&self, max_event_bytes: usize) -> PyStreamIterator {
        reassembled(&self.source, true, false, max_event_bytes, false)
    }

    /// Releases the connection; iteration then ends.
    fn close(&self) {
        self.source.close();
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}

#[pymethods]
impl PyAsyncEventStream {
    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable_step(py, Producer::Events(self.source.clone()))
    }

    /// `async for line in body.iter_lines()`: lines reassembled across PayloadParts, as bytes.
    #[pyo3(signature = (keepends=false, max_line_bytes=8388608))]
    fn iter_lines(&self, keepends: bool, max_line_bytes: usize) -> PyStreamIterator {
        reassembled(&self.source, false, keepends, max_line_bytes, true)
    }

    /// `async for data in body.iter_sse()`: the data of each server-sent event, as str.
    #[pyo3(signature = (max_event_bytes=8388608))]
    fn iter_sse(&self, max_event_bytes: usize) -> PyStreamIterator {
        reassembled(&self.source, true, false, max_event_bytes, true)
    }

    fn close(&self) {
        self.source.close();
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::ready(slf.py(), slf.clone().into_any())
    }

    #[pyo3(signature = (*_exc_info))]
    fn __aexit__<'py>(&self, py: Python<'py>, _exc_info: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.close();
        crate::convert::ready(py, pyo3::types::PyBool::new(py, false).to_owned().into_any())
    }
}

#[pymethods]
impl PyStreamIterator {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.asynchronous {
            return Err(pyo3::exceptions::PyTypeError::new_err("this iterator is asynchronous: use `async for`"));
        }
        blocking_step(py, self.producer.clone_ref())
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if !self.asynchronous {
            return Err(pyo3::exceptions::PyTypeError::new_err("this iterator is synchronous: use `for`"));
        }
        awaitable_step(py, self.producer.clone_ref())
    }

    /// Releases the underlying connection.
    fn close(&self) {
        self.source.close();
    }
}

// The Python signatures above spell the default out (stubtest needs a literal); keep them in step.
const _: () = assert!(DEFAULT_MAX_LINE_BYTES == 8_388_608);
