//! `Client`: the synchronous face. Extracts arguments under the GIL, runs the shared operation with the GIL
//! released, converts the result after re-attaching.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::config::{ClientConfig, Secret, StaticCredentials};
use crate::convert::Converted;
use crate::convert::ToPython;
use crate::operations::{self, Core, Request};
use crate::response::Face;
use crate::{batch, request, runtime, thread_runtime};

/// Builds the stored configuration from boto3's constructor arguments.
#[allow(clippy::too_many_arguments)]
pub fn client_config(
    region_name: Option<String>,
    endpoint_url: Option<String>,
    aws_access_key_id: Option<String>,
    aws_secret_access_key: Option<String>,
    aws_session_token: Option<String>,
    profile_name: Option<String>,
    config: Option<&Bound<'_, PyAny>>,
) -> PyResult<ClientConfig> {
    let credentials = match (aws_access_key_id, aws_secret_access_key) {
        (Some(access_key_id), Some(secret)) => Some(StaticCredentials {
            access_key_id,
            secret_access_key: Secret(secret),
            session_token: aws_session_token.map(Secret),
        }),
        (None, None) => None,
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "aws_access_key_id and aws_secret_access_key must be given together",
            ))
        }
    };
    if let Some(url) = &endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!("Invalid endpoint: {url}")));
        }
    }
    let mut stored = ClientConfig {
        region_name: region_name.filter(|r| !r.is_empty()),
        endpoint_url,
        credentials,
        profile_name,
        ..ClientConfig::default()
    };
    if let Some(config) = config.filter(|c| !c.is_none()) {
        stored.apply_config_object(config)?;
    }
    Ok(stored)
}

/// What both clients hold: the shared core and the Config object the user passed (for `meta.config`).
pub struct ClientState {
    pub core: Arc<Core>,
    config_object: Option<Py<PyAny>>,
    /// The constructor's arguments, for pickling: configuration, never connections.
    init_kwargs: Py<PyDict>,
}

impl ClientState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        py: Python<'_>,
        region_name: Option<String>,
        endpoint_url: Option<String>,
        aws_access_key_id: Option<String>,
        aws_secret_access_key: Option<String>,
        aws_session_token: Option<String>,
        profile_name: Option<String>,
        verify: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        use_ssl: bool,
    ) -> PyResult<Self> {
        let init_kwargs = PyDict::new(py);
        init_kwargs.set_item("region_name", &region_name)?;
        init_kwargs.set_item("endpoint_url", &endpoint_url)?;
        init_kwargs.set_item("aws_access_key_id", &aws_access_key_id)?;
        init_kwargs.set_item("aws_secret_access_key", &aws_secret_access_key)?;
        init_kwargs.set_item("aws_session_token", &aws_session_token)?;
        init_kwargs.set_item("profile_name", &profile_name)?;
        init_kwargs.set_item("verify", verify)?;
        init_kwargs.set_item("config", config)?;
        init_kwargs.set_item("use_ssl", use_ssl)?;
        let mut stored = client_config(
            region_name,
            endpoint_url,
            aws_access_key_id,
            aws_secret_access_key,
            aws_session_token,
            profile_name,
            config,
        )?;
        stored.apply_verify(verify)?;
        stored.use_ssl = use_ssl;
        Ok(Self {
            core: Core::new(stored),
            config_object: config.filter(|c| !c.is_none()).map(|c| c.clone().unbind()),
            init_kwargs: init_kwargs.unbind(),
        })
    }

    /// `(rebuild, (class, kwargs))`: unpickling constructs a fresh client from the same arguments.
    pub fn reduce<'py>(&self, slf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let rebuild = py.import("sagemaker_runtime_rs._pickle")?.getattr("rebuild")?;
        let args = (slf.get_type(), self.init_kwargs.bind(py).copy()?);
        Ok(pyo3::types::PyTuple::new(py, [rebuild.into_any(), args.into_pyobject(py)?.into_any()])?.into_any())
    }

    pub fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("sagemaker_runtime_rs.exceptions")?.getattr("client_exceptions")
    }

    pub fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let config = &self.core.config;
        py.import("sagemaker_runtime_rs._meta")?.getattr("ClientMeta")?.call1((
            config.region_hint(),
            config.resolved_endpoint_url(),
            self.config_object.as_ref().map(|c| c.bind(py).clone()),
        ))
    }

    pub fn repr(&self, class: &str) -> String {
        let config = &self.core.config;
        format!(
            "<sagemaker_runtime_rs.{class} region_name={:?} endpoint_url={:?}>",
            config.region_hint().unwrap_or_default(),
            config.resolved_endpoint_url().unwrap_or_default()
        )
    }
}

/// Validates keyword arguments for `shape` into a request.
pub fn request_for(
    py: Python<'_>,
    shape: &'static request::Shape,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Request> {
    Ok(Request::from_params(request::parse(py, shape, args, kwargs)?))
}

/// A boto3-compatible SageMaker Runtime client. Thread-safe: share one across threads.
#[pyclass(name = "Client", module = "sagemaker_runtime_rs", frozen, subclass)]
pub struct PyClient {
    state: ClientState,
}

/// Runs a call whose response is read whole on this thread's own runtime (no worker hand-off).
fn sync<T>(
    py: Python<'_>,
    future: impl std::future::Future<Output = Result<T, crate::errors::Error>> + Send,
) -> PyResult<Bound<'_, PyAny>>
where
    T: Send,
    Face<T>: crate::convert::ToPython,
{
    sync_face(py, thread_runtime::block_on(py, future)?)
}

/// A sync call's outcome as the response dict or the exception.
fn sync_face<T>(py: Python<'_>, outcome: Result<T, crate::errors::Error>) -> PyResult<Bound<'_, PyAny>>
where
    Face<T>: crate::convert::ToPython,
{
    Converted(outcome.map(|value| Face { value, asynchronous: false })).into_bound(py)
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (
        *, region_name=None, endpoint_url=None, aws_access_key_id=None, aws_secret_access_key=None,
        aws_session_token=None, profile_name=None, verify=None, config=None, api_version=None, use_ssl=true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        region_name: Option<String>,
        endpoint_url: Option<String>,
        aws_access_key_id: Option<String>,
        aws_secret_access_key: Option<String>,
        aws_session_token: Option<String>,
        profile_name: Option<String>,
        verify: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        api_version: Option<String>,
        use_ssl: bool,
    ) -> PyResult<Self> {
        let _ = api_version; // one API version exists (2017-05-13)
        let state = ClientState::new(
            py,
            region_name,
            endpoint_url,
            aws_access_key_id,
            aws_secret_access_key,
            aws_session_token,
            profile_name,
            verify,
            config,
            use_ssl,
        )?;
        Ok(Self { state })
    }

    /// Invokes a real-time endpoint (InvokeEndpoint). Keyword arguments and the returned dict are boto3's.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT, args, kwargs)?;
        sync(py, operations::invoke_endpoint(self.state.core.clone(), request))
    }

    /// InvokeEndpointWithResponseStream: `Body` is an EventStream of `{"PayloadPart": {"Bytes": ...}}` events.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint_with_response_stream<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT_WITH_RESPONSE_STREAM, args, kwargs)?;
        // On the process runtime: the stream is read after this returns, possibly from another thread.
        let outcome =
            runtime::block_on(py, operations::invoke_endpoint_with_response_stream(self.state.core.clone(), request))?;
        sync_face(py, outcome)
    }

    /// InvokeEndpointAsync (the S3-based asynchronous inference API): returns InferenceId, OutputLocation,
    /// FailureLocation.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT_ASYNC, args, kwargs)?;
        let outcome =
            thread_runtime::block_on(py, operations::invoke_endpoint_async(self.state.core.clone(), request))?;
        Converted(outcome).into_bound(py)
    }

    /// Runs many invoke_endpoint calls concurrently: `requests` is any iterable of keyword-argument dicts,
    /// consumed lazily; returns the responses in input order. With `return_exceptions`, a failed call's
    /// exception takes its place in the list; otherwise the first failure is raised and the rest cancelled.
    #[pyo3(signature = (requests, *, max_concurrency=64, return_exceptions=false, progress=false))]
    fn invoke_endpoint_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
        max_concurrency: usize,
        return_exceptions: bool,
        progress: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (source, options) = batch::prepare(requests, max_concurrency, return_exceptions, progress, false)?;
        let finished = runtime::block_on(py, batch::run(self.state.core.clone(), source, options))?;
        batch::Finished(finished).to_python(py)
    }

    /// The exception classes, as `client.exceptions.ModelError` in boto3.
    #[getter]
    fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state.exceptions(py)
    }

    /// region_name, endpoint_url, config and service_model.service_name, as `client.meta` in boto3.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state.meta(py)
    }

    /// Releases pooled connections; the client stays usable and reconnects on the next call.
    fn close(&self) {
        self.state.core.reset();
        thread_runtime::prune();
    }

    fn can_paginate(&self, operation_name: &str) -> bool {
        let _ = operation_name; // no SageMaker Runtime operation is paginated
        false
    }

    fn get_paginator(&self, py: Python<'_>, operation_name: &str) -> PyResult<()> {
        let exceptions = py.import("sagemaker_runtime_rs.exceptions")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("operation_name", operation_name)?;
        Err(PyErr::from_value(exceptions.getattr("OperationNotPageableError")?.call((), Some(&kwargs))?))
    }

    fn get_waiter(&self, waiter_name: &str) -> PyResult<()> {
        Err(pyo3::exceptions::PyValueError::new_err(format!("Waiter does not exist: {waiter_name}")))
    }

    #[getter]
    fn waiter_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        self.state.repr("Client")
    }

    /// Pickles the configuration (explicit credentials only if they were given), never connections.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.get().state.reduce(slf.as_any())
    }
}
