//! EventStream (sync iterator) and AsyncEventStream (async iterator) over the SDK's event receiver, with
//! line and server-sent-event reassembly across PayloadParts.

use std::sync::atomic::{AtomicBool, Ordering};
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
pub struct EventSource {
    receiver: Mutex<Option<Receiver>>,
    closed: AtomicBool,
    url: String,
}

impl EventSource {
    pub fn new(receiver: Receiver, url: String) -> Self {
        Self { receiver: Mutex::new(Some(receiver)), closed: AtomicBool::new(false), url }
    }

    /// The next PayloadPart's bytes; `None` at the end (or after close). Unknown event types are skipped, so a
    /// service that adds one does not break readers.
    pub async fn next_part(&self) -> Result<Option<Vec<u8>>, Error> {
        let mut slot = self.receiver.lock().await;
        loop {
            if self.closed.load(Ordering::Acquire) {
                *slot = None;
            }
            let Some(receiver) = slot.as_mut() else { return Ok(None) };
            match receiver.recv().await {
                Ok(Some(ResponseStream::PayloadPart(part))) => {
                    return Ok(Some(part.bytes.map(|b| b.into_inner()).unwrap_or_default()));
                }
                Ok(Some(_unknown)) => continue,
                Ok(None) => {
                    *slot = None;
                    return Ok(None);
                }
                Err(error) => {
                    *slot = None;
                    return Err(self.stream_error(error));
                }
            }
        }
    }

    fn stream_error<R: std::fmt::Debug + 'static>(&self, error: SdkError<ResponseStreamError, R>) -> Error {
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
            other => Error::ResponseStreaming { url: self.url.clone(), detail: crate::errors::chain_text(&other) },
        }
    }

    /// Stops reading: the connection is dropped now, or by the reader that holds it at its next step.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut slot) = self.receiver.try_lock() {
            *slot = None;
        }
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
    Converted(runtime::block_on(py, producer.step(false))?).into_bound(py)
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
