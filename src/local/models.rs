//! The endpoints a local server serves: the built-in echo model, or a Python callable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::wire::{model_error, Reply};

pub enum Model {
    /// Returns the request body, content type and custom attributes, after an optional delay.
    Echo { delay: Duration },
    /// `sagemaker_runtime_rs.local` normalizes what the callable returns (see `_call_model`).
    Python(Py<PyAny>),
}

pub struct Endpoint {
    pub model: Model,
    pub invocations: AtomicU64,
    /// Requests whose client went away before the answer was complete.
    pub disconnects: AtomicU64,
}

/// Counts a disconnect unless the request completes: the handler's future is dropped when the client leaves.
struct InFlight<'a> {
    endpoint: &'a Endpoint,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.endpoint.disconnects.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<HashMap<String, Arc<Endpoint>>>>);

impl Registry {
    pub fn get(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    pub fn insert(&self, name: String, model: Model) {
        let endpoint = Arc::new(Endpoint { model, invocations: AtomicU64::new(0), disconnects: AtomicU64::new(0) });
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(name, endpoint);
    }

    pub fn remove(&self, name: &str) -> bool {
        self.0.write().unwrap_or_else(|p| p.into_inner()).remove(name).is_some()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort();
        names
    }
}

/// One InvokeEndpoint request as the model sees it.
pub struct Invocation {
    pub endpoint: String,
    pub region: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Invocation {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

pub async fn invoke(endpoint: Arc<Endpoint>, invocation: Invocation) -> Reply {
    endpoint.invocations.fetch_add(1, Ordering::Relaxed);
    let mut in_flight = InFlight { endpoint: &endpoint, done: false };
    let reply = answer(&endpoint, invocation).await;
    in_flight.done = true;
    reply
}

async fn answer(endpoint: &Endpoint, invocation: Invocation) -> Reply {
    match &endpoint.model {
        Model::Echo { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(*delay).await;
            }
            echo(invocation)
        }
        Model::Python(callable) => {
            let callable = Python::attach(|py| callable.clone_ref(py));
            let endpoint_name = invocation.endpoint.clone();
            let region = invocation.region.clone();
            let outcome =
                tokio::task::spawn_blocking(move || Python::attach(|py| call_python(py, &callable, &invocation))).await;
            match outcome {
                Ok(Ok(reply)) => reply,
                Ok(Err(message)) => model_error(&endpoint_name, &region, 500, &message),
                Err(join) => model_error(&endpoint_name, &region, 500, &format!("model task failed: {join}")),
            }
        }
    }
}

fn echo(invocation: Invocation) -> Reply {
    let content_type = invocation.header("content-type").unwrap_or("application/octet-stream").to_owned();
    let variant = invocation.header("x-amzn-sagemaker-target-variant").unwrap_or("AllTraffic").to_owned();
    let mut reply = Reply::new(StatusCode::OK, Bytes::new())
        .header("content-type", &content_type)
        .header("x-amzn-invoked-production-variant", &variant);
    if let Some(attributes) = invocation.header("x-amzn-sagemaker-custom-attributes") {
        reply = reply.header("x-amzn-sagemaker-custom-attributes", attributes);
    }
    if invocation.header("x-amzn-sagemaker-session-id") == Some("NEW_SESSION") {
        reply = reply.header(
            "x-amzn-sagemaker-new-session-id",
            &format!("{}; Expires=2099-01-01T00:00:00Z", super::wire::request_id()),
        );
    }
    reply.body = invocation.body;
    reply
}

/// Calls `_call_model(model, body, headers)`, which returns (status, body, content_type, custom_attributes,
/// extra_headers, verbatim) and turns a raised exception into a status and message. `Err` is a bug in that
/// contract.
fn call_python(py: Python<'_>, callable: &Py<PyAny>, invocation: &Invocation) -> Result<Reply, String> {
    let run = || -> PyResult<Reply> {
        let headers = PyDict::new(py);
        for (name, value) in &invocation.headers {
            headers.set_item(name, value)?;
        }
        let body = PyBytes::new(py, &invocation.body);
        let local = py.import("sagemaker_runtime_rs.local")?;
        let result = local.getattr("_call_model")?.call1((callable.bind(py), body, headers))?;
        let result = result.cast::<PyTuple>()?;
        let status: u16 = result.get_item(0)?.extract()?;
        let payload = result.get_item(1)?;
        let payload = payload.cast::<PyBytes>()?.as_bytes();
        let content_type: Option<String> = result.get_item(2)?.extract()?;
        let extra: HashMap<String, String> = result.get_item(4)?.extract()?;
        let verbatim: bool = result.get_item(5)?.extract()?;
        if verbatim {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut reply = Reply::new(status, Bytes::copy_from_slice(payload))
                .header("content-type", content_type.as_deref().unwrap_or("application/json"));
            for (name, value) in extra {
                reply = reply.header_owned(&name, &value);
            }
            return Ok(reply);
        }
        if status >= 400 {
            let message = String::from_utf8_lossy(payload);
            return Ok(model_error(&invocation.endpoint, &invocation.region, status, &message));
        }
        let custom_attributes: Option<String> = result.get_item(3)?.extract()?;
        let variant = invocation.header("x-amzn-sagemaker-target-variant").unwrap_or("AllTraffic").to_owned();
        let mut reply = Reply::new(StatusCode::OK, Bytes::copy_from_slice(payload))
            .header("content-type", content_type.as_deref().unwrap_or("application/json"))
            .header("x-amzn-invoked-production-variant", &variant);
        if let Some(attributes) = custom_attributes {
            reply = reply.header("x-amzn-sagemaker-custom-attributes", &attributes);
        }
        for (name, value) in extra {
            reply = reply.header_owned(&name, &value);
        }
        Ok(reply)
    };
    run().map_err(|err| format!("local model adapter failed: {err}"))
}
