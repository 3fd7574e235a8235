//! SDK output -> the dict boto3 returns, `ResponseMetadata` included. Absent optional fields are absent keys.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use pyo3::sync::PyOnceLock;

use crate::body::PyStreamingBody;
use crate::convert::ToPython;
use crate::event_stream::{PyAsyncEventStream, PyEventStream};
use crate::metadata::ResponseMetadata;
use crate::operations::{InvokeAsyncResponse, InvokeEndpointResponse, InvokeStreamResponse};

pub fn metadata_dict<'py>(py: Python<'py>, metadata: &ResponseMetadata) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    if let Some(request_id) = metadata.request_id() {
        dict.set_item("RequestId", request_id)?;
    }
    dict.set_item("HTTPStatusCode", metadata.status)?;
    let headers = PyDict::new(py);
    for (name, value) in &metadata.headers {
        // Repeated headers are joined as urllib3 (and so botocore) joins them.
        let joined = match headers.get_item(name)? {
            Some(previous) => format!("{}, {value}", previous.extract::<String>()?),
            None => value.clone(),
        };
        headers.set_item(name, joined)?;
    }
    dict.set_item("HTTPHeaders", headers)?;
    dict.set_item("RetryAttempts", metadata.retry_attempts())?;
    Ok(dict)
}

fn set_optional(dict: &Bound<'_, PyDict>, key: &str, value: Option<String>) -> PyResult<()> {
    match value {
        Some(value) => dict.set_item(key, value),
        None => Ok(()),
    }
}

/// A response for the sync client (file-like bodies) or the async one (awaitable bodies).
pub struct Face<T> {
    pub value: T,
    pub asynchronous: bool,
}

static ASYNC_BODY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn async_body<'py>(py: Python<'py>, body: Bound<'py, PyStreamingBody>) -> PyResult<Bound<'py, PyAny>> {
    let class = ASYNC_BODY.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("sagemaker_runtime_rs._async_body")?.getattr("AsyncStreamingBody")?.unbind())
    })?;
    class.bind(py).call1((body,))
}

/// The keys both real-time responses share: metadata, content type, variant, custom attributes.
fn response_head<'py>(
    py: Python<'py>,
    metadata: &ResponseMetadata,
    content_type: Option<String>,
    invoked_production_variant: Option<String>,
    custom_attributes: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("ResponseMetadata", metadata_dict(py, metadata)?)?;
    set_optional(&dict, "ContentType", content_type)?;
    set_optional(&dict, "InvokedProductionVariant", invoked_production_variant)?;
    set_optional(&dict, "CustomAttributes", custom_attributes)?;
    Ok(dict)
}

impl ToPython for Face<InvokeEndpointResponse> {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let response = self.value;
        let dict = response_head(
            py,
            &response.metadata,
            response.content_type,
            response.invoked_production_variant,
            response.custom_attributes,
        )?;
        set_optional(&dict, "NewSessionId", response.new_session_id)?;
        set_optional(&dict, "ClosedSessionId", response.closed_session_id)?;
        let payload = response.body.to_py_bytes(py)?.unbind();
        let body = Bound::new(py, PyStreamingBody::new(payload))?;
        if self.asynchronous {
            dict.set_item("Body", async_body(py, body)?)?;
        } else {
            dict.set_item("Body", body)?;
        }
        Ok(dict.into_any())
    }
}

impl ToPython for Face<InvokeStreamResponse> {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let response = self.value;
        let dict = response_head(
            py,
            &response.metadata,
            response.content_type,
            response.invoked_production_variant,
            response.custom_attributes,
        )?;
        if self.asynchronous {
            dict.set_item("Body", Bound::new(py, PyAsyncEventStream::new(response.events))?)?;
        } else {
            dict.set_item("Body", Bound::new(py, PyEventStream::new(response.events))?)?;
        }
        Ok(dict.into_any())
    }
}

impl ToPython for InvokeAsyncResponse {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let dict = PyDict::new(py);
        dict.set_item("ResponseMetadata", metadata_dict(py, &self.metadata)?)?;
        set_optional(&dict, "InferenceId", self.inference_id)?;
        set_optional(&dict, "OutputLocation", self.output_location)?;
        set_optional(&dict, "FailureLocation", self.failure_location)?;
        Ok(dict.into_any())
    }
}
