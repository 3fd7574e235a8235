//! SDK output -> the dict boto3 returns, `ResponseMetadata` included. Absent optional fields are absent keys.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::body::PyStreamingBody;
use crate::metadata::ResponseMetadata;
use crate::operations::InvokeEndpointResponse;

pub fn metadata_dict<'py>(
    py: Python<'py>,
    metadata: &ResponseMetadata,
) -> PyResult<Bound<'py, PyDict>> {
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

pub fn invoke_endpoint_dict(
    py: Python<'_>,
    response: InvokeEndpointResponse,
) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("ResponseMetadata", metadata_dict(py, &response.metadata)?)?;
    set_optional(&dict, "ContentType", response.content_type)?;
    set_optional(
        &dict,
        "InvokedProductionVariant",
        response.invoked_production_variant,
    )?;
    set_optional(&dict, "CustomAttributes", response.custom_attributes)?;
    set_optional(&dict, "NewSessionId", response.new_session_id)?;
    set_optional(&dict, "ClosedSessionId", response.closed_session_id)?;
    let payload = PyBytes::new(py, &response.body).unbind();
    dict.set_item("Body", Py::new(py, PyStreamingBody::new(payload))?)?;
    Ok(dict)
}
