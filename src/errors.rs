//! One Rust error type for every failure, turned into the Python classes of `sagemaker_runtime_rs.exceptions`.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sagemakerruntime::error::SdkError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use serde_json::{Map, Value};

use crate::metadata::ResponseMetadata;
use crate::retry::{failed_before_sending, tls_failure};

#[derive(Debug)]
pub enum Error {
    /// botocore's ParamValidationError; the text is the report (one line per problem).
    ParamValidation(String),
    /// An HTTP error response from the service (or the local server), parsed as botocore parses REST-JSON errors.
    Service(Box<ServiceError>),
    EndpointConnection {
        url: String,
        detail: String,
    },
    /// TLS failed while connecting (untrusted or mismatched certificate, handshake): nothing was sent.
    Ssl {
        url: String,
        detail: String,
    },
    /// The connection broke after the request was sent (the model may have run).
    ConnectionClosed {
        url: String,
    },
    ConnectTimeout {
        url: String,
    },
    ReadTimeout {
        url: String,
    },
    NoCredentials,
    NoRegion,
    /// A constructor argument or Config value that cannot be used.
    InvalidConfig(String),
    /// Any other transport failure (botocore's HTTPClientError).
    HttpClient(String),
    /// The response stream broke: cut connection, corrupt frame (botocore's ResponseStreamingError).
    ResponseStreaming {
        url: String,
        detail: String,
    },
}

#[derive(Debug)]
pub struct ServiceError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    /// Members of the modeled error shape found in the body (ModelError: OriginalStatusCode, ...).
    pub modeled: Map<String, Value>,
    pub metadata: ResponseMetadata,
    pub max_attempts_reached: bool,
    /// An error event inside a response stream: botocore's `e.response` then has no ResponseMetadata.
    pub in_stream: bool,
}

/// Members each modeled error shape adds at the top level of `e.response` (botocore's `_add_modeled_error_fields`).
fn modeled_members(code: &str) -> &'static [&'static str] {
    match code {
        "ModelError" => &["Message", "OriginalStatusCode", "OriginalMessage", "LogStreamArn"],
        "ModelStreamError" => &["Message", "ErrorCode"],
        "InternalDependencyException"
        | "InternalFailure"
        | "InternalStreamFailure"
        | "ModelNotReadyException"
        | "ServiceUnavailable"
        | "ValidationError" => &["Message"],
        _ => &[],
    }
}

/// What the retry policy retries (the SDK's standard rules plus ModelNotReadyException).
fn is_retryable(status: u16, code: &str) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
        || matches!(
            code,
            "ModelNotReadyException"
                | "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "ProvisionedThroughputExceededException"
                | "TransactionInProgressException"
                | "RequestLimitExceeded"
                | "BandwidthLimitExceeded"
                | "LimitExceededException"
                | "RequestThrottled"
                | "SlowDown"
                | "PriorRequestNotComplete"
                | "EC2ThrottledException"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "InternalError"
        )
}

/// botocore's `MaxAttemptsReached`: a retryable error that was still failing on the last allowed attempt.
fn gave_up(status: u16, code: &str, metadata: &ResponseMetadata) -> bool {
    is_retryable(status, code) && metadata.attempts >= metadata.max_attempts
}

/// The reason phrase botocore uses for a generic (non-JSON) 5xx body.
fn reason_phrase(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

impl ServiceError {
    /// botocore's REST-JSON error parsing: code from `x-amzn-ErrorType` (cut at ':' and '#'), else the body's
    /// `code`/`Code`/`__type`, else the status; message from `message`/`Message`; a non-JSON body is the message.
    pub fn from_http(operation: &'static str, body: &[u8], metadata: ResponseMetadata) -> Self {
        let status = metadata.status;
        let trimmed = body.trim_ascii();
        if status >= 500 && (trimmed.is_empty() || trimmed.starts_with(b"<html>")) {
            return Self {
                operation,
                code: status.to_string(),
                message: reason_phrase(status).to_owned(),
                modeled: Map::new(),
                max_attempts_reached: gave_up(status, "", &metadata),
                metadata,
                in_stream: false,
            };
        }
        let parsed: Map<String, Value> = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map,
                _ => {
                    let mut map = Map::new();
                    map.insert("message".into(), Value::String(String::from_utf8_lossy(body).into_owned()));
                    map
                }
            }
        };
        let text = |key: &str| parsed.get(key).and_then(Value::as_str).map(str::to_owned);
        let message = text("message").or_else(|| text("Message")).unwrap_or_default();
        let raw_code = metadata
            .header("x-amzn-errortype")
            .map(str::to_owned)
            .or_else(|| text("code"))
            .or_else(|| text("Code"))
            .or_else(|| text("__type"))
            .unwrap_or_else(|| status.to_string());
        let before_colon = raw_code.split(':').next().unwrap_or_default();
        let code = before_colon.rsplit('#').next().unwrap_or_default().to_owned();
        let modeled = modeled_members(&code)
            .iter()
            .filter_map(|member| parsed.get(*member).map(|value| ((*member).to_owned(), value.clone())))
            .collect();
        Self {
            operation,
            max_attempts_reached: gave_up(status, &code, &metadata),
            code,
            message,
            modeled,
            metadata,
            in_stream: false,
        }
    }
}

fn find_source<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

pub fn chain_text(error: &(dyn StdError + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

impl Error {
    /// Maps an SDK failure; `metadata` is what the capture interceptor saw of the last attempt.
    pub fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>, metadata: ResponseMetadata) -> Self
    where
        E: StdError + Send + Sync + 'static,
    {
        if find_source::<CredentialsError>(&error)
            .is_some_and(|e| matches!(e, CredentialsError::CredentialsNotLoaded(_)))
        {
            return Error::NoCredentials;
        }
        let url = metadata.url.clone();
        let text = chain_text(&error);
        match error {
            SdkError::ServiceError(context) => {
                let raw = context.raw();
                let body = raw.body().bytes().unwrap_or_default();
                Error::Service(Box::new(ServiceError::from_http(operation, body, metadata)))
            }
            SdkError::ResponseError(context) => {
                let raw = context.raw();
                let body = raw.body().bytes().unwrap_or_default();
                if raw.status().as_u16() >= 300 {
                    Error::Service(Box::new(ServiceError::from_http(operation, body, metadata)))
                } else if text.contains("error reading a body") {
                    Error::ConnectionClosed { url } // the answer broke off, as when we read the body ourselves
                } else {
                    Error::HttpClient(format!("invalid response from {url}: {text}"))
                }
            }
            SdkError::TimeoutError(_) => Error::ReadTimeout { url },
            SdkError::DispatchFailure(failure) => {
                // TLS first: its failures come wrapped as connect errors, before anything was sent.
                if let Some(tls) = failure.as_connector_error().and_then(|c| tls_failure(c)) {
                    return Error::Ssl { url, detail: tls.to_string() };
                }
                let detail = match failure.as_connector_error() {
                    Some(connector) => chain_text(connector),
                    None => format!("{failure:?}"),
                };
                match failure.as_connector_error() {
                    Some(connector) if connector.is_timeout() => {
                        if detail.contains("connect") {
                            Error::ConnectTimeout { url }
                        } else {
                            Error::ReadTimeout { url }
                        }
                    }
                    Some(_) if failed_before_sending(&detail) => Error::EndpointConnection { url, detail },
                    Some(_) => Error::ConnectionClosed { url },
                    _ => Error::HttpClient(detail),
                }
            }
            SdkError::ConstructionFailure(_) => {
                if text.contains("region") {
                    Error::NoRegion
                } else {
                    Error::ParamValidation(text)
                }
            }
            _ => Error::HttpClient(text),
        }
    }
}

static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn exceptions(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    EXCEPTIONS
        .get_or_try_init(py, || Ok(py.import("sagemaker_runtime_rs.exceptions")?.unbind()))
        .map(|module| module.bind(py))
}

pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(f)) => f.into_pyobject(py)?.into_any(),
            _ => n.to_string().into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = pyo3::types::PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

impl ServiceError {
    /// `e.response` exactly as botocore builds it.
    pub fn response_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let response = PyDict::new(py);
        let error = PyDict::new(py);
        error.set_item("Message", &self.message)?;
        error.set_item("Code", &self.code)?;
        response.set_item("Error", error)?;
        if !self.in_stream {
            let metadata = crate::response::metadata_dict(py, &self.metadata)?;
            if self.max_attempts_reached {
                metadata.set_item("MaxAttemptsReached", true)?;
            }
            response.set_item("ResponseMetadata", metadata)?;
        }
        for (key, value) in &self.modeled {
            response.set_item(key, json_to_py(py, value)?)?;
        }
        Ok(response)
    }
}

impl Error {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self.to_python(py) {
            Ok(err) => err,
            Err(err) => err,
        }
    }

    fn to_python(&self, py: Python<'_>) -> PyResult<PyErr> {
        let module = exceptions(py)?;
        let kwargs = PyDict::new(py);
        let (class, kwargs) = match self {
            Error::ParamValidation(report) => {
                kwargs.set_item("report", report)?;
                ("ParamValidationError", kwargs)
            }
            Error::Service(service) => {
                let class = module.getattr("from_code")?.call1((&service.code,))?;
                let instance = class.call1((service.response_dict(py)?, service.operation))?;
                return Ok(PyErr::from_value(instance));
            }
            Error::EndpointConnection { url, detail } => {
                kwargs.set_item("endpoint_url", url)?;
                kwargs.set_item("error", detail)?;
                ("EndpointConnectionError", kwargs)
            }
            Error::Ssl { url, detail } => {
                kwargs.set_item("endpoint_url", url)?;
                kwargs.set_item("error", detail)?;
                ("SSLError", kwargs)
            }
            Error::ConnectionClosed { url } => {
                kwargs.set_item("endpoint_url", url)?;
                ("ConnectionClosedError", kwargs)
            }
            Error::ConnectTimeout { url } => {
                kwargs.set_item("endpoint_url", url)?;
                ("ConnectTimeoutError", kwargs)
            }
            Error::ReadTimeout { url } => {
                kwargs.set_item("endpoint_url", url)?;
                ("ReadTimeoutError", kwargs)
            }
            Error::NoCredentials => ("NoCredentialsError", kwargs),
            Error::NoRegion => ("NoRegionError", kwargs),
            Error::InvalidConfig(message) => return Ok(pyo3::exceptions::PyValueError::new_err(message.clone())),
            Error::HttpClient(detail) => {
                kwargs.set_item("error", detail)?;
                ("HTTPClientError", kwargs)
            }
            Error::ResponseStreaming { url, detail } => {
                kwargs.set_item("error", format!("{detail} (from {url})"))?;
                ("ResponseStreamingError", kwargs)
            }
        };
        let instance = module.getattr(class)?.call((), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    }
}
