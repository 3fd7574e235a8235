//! `AsyncClient`: the asyncio face. The same operations as `Client`, awaited; nothing blocks the event loop.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::client::{request_for, ClientState};
use crate::convert::{ready, Converted};
use crate::errors::Error;
use crate::operations;
use crate::response::Face;
use crate::{asyncio_bridge, batch, request};

/// A boto3-compatible SageMaker Runtime client for asyncio (aiobotocore's method names, awaited).
#[pyclass(name = "AsyncClient", module = "sagemaker_runtime_rs", frozen, subclass)]
pub struct PyAsyncClient {
    state: ClientState,
}

fn awaitable<'py, T>(
    py: Python<'py>,
    future: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    Face<T>: crate::convert::ToPython,
{
    asyncio_bridge::future_into_py(py, async move {
        Converted(future.await.map(|value| Face { value, asynchronous: true }))
    })
}

#[pymethods]
impl PyAsyncClient {
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

    /// `await client.invoke_endpoint(...)`: boto3's arguments; `await response["Body"].read()`.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT, args, kwargs)?;
        awaitable(py, operations::invoke_endpoint(self.state.core.clone(), request))
    }

    /// `await client.invoke_endpoint_with_response_stream(...)`: `async for event in response["Body"]`.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint_with_response_stream<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT_WITH_RESPONSE_STREAM, args, kwargs)?;
        awaitable(py, operations::invoke_endpoint_with_response_stream(self.state.core.clone(), request))
    }

    /// `await client.invoke_endpoint_async(...)`: the S3-based InvokeEndpointAsync API.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = request_for(py, &request::INVOKE_ENDPOINT_ASYNC, args, kwargs)?;
        let core = self.state.core.clone();
        asyncio_bridge::future_into_py(
            py,
            async move { Converted(operations::invoke_endpoint_async(core, request).await) },
        )
    }

    /// `await client.invoke_endpoint_many(requests, ...)`: as Client.invoke_endpoint_many, without blocking
    /// the event loop; bodies are async (`await body.read()`).
    #[pyo3(signature = (requests, *, max_concurrency=64, return_exceptions=false, progress=false))]
    fn invoke_endpoint_many<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
        max_concurrency: usize,
        return_exceptions: bool,
        progress: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (source, options) = batch::prepare(requests, max_concurrency, return_exceptions, progress, true)?;
        let core = self.state.core.clone();
        asyncio_bridge::future_into_py(py, async move { batch::Finished(batch::run(core, source, options).await) })
    }

    #[getter]
    fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state.exceptions(py)
    }

    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state.meta(py)
    }

    /// `await client.close()`: releases pooled connections; the client stays usable.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state.core.reset();
        ready(py, py.None().into_bound(py))
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.clone().into_any())
    }

    #[pyo3(signature = (*_exc_info))]
    fn __aexit__<'py>(&self, py: Python<'py>, _exc_info: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.state.core.reset();
        ready(py, pyo3::types::PyBool::new(py, false).to_owned().into_any())
    }

    fn __repr__(&self) -> String {
        self.state.repr("AsyncClient")
    }

    /// Pickles the configuration (explicit credentials only if they were given), never connections.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.get().state.reduce(slf.as_any())
    }
}
