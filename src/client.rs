//! `Client`: the synchronous face. Extracts arguments under the GIL, runs the shared operation with the GIL
//! released, converts the result after re-attaching.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::config::{ClientConfig, Secret, StaticCredentials};
use crate::operations::{self, Core, InvokeEndpointRequest};
use crate::{request, response, runtime};

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
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "Invalid endpoint: {url}"
            )));
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

/// A boto3-compatible SageMaker Runtime client. Thread-safe: share one across threads.
#[pyclass(name = "Client", module = "sagemaker_runtime_rs", frozen, subclass)]
pub struct PyClient {
    pub core: Arc<Core>,
    config_object: Option<Py<PyAny>>,
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
        })
    }

    /// Invokes a real-time endpoint (InvokeEndpoint). Keyword arguments and the returned dict are boto3's.
    #[pyo3(signature = (*args, **kwargs))]
    fn invoke_endpoint<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let params = request::parse(py, &request::INVOKE_ENDPOINT, args, kwargs)?;
        let request = InvokeEndpointRequest::from_params(params);
        match runtime::block_on(py, operations::invoke_endpoint(self.core.clone(), request))? {
            Ok(output) => response::invoke_endpoint_dict(py, output),
            Err(error) => Err(error.into_pyerr(py)),
        }
    }

    /// The exception classes, as `client.exceptions.ModelError` in boto3.
    #[getter]
    fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("sagemaker_runtime_rs.exceptions")?
            .getattr("client_exceptions")
    }

    /// region_name, endpoint_url, config and service_model.service_name, as `client.meta` in boto3.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let config = &self.core.config;
        py.import("sagemaker_runtime_rs._meta")?
            .getattr("ClientMeta")?
            .call1((
                config.region_hint(),
                config.resolved_endpoint_url(),
                self.config_object.as_ref().map(|c| c.bind(py).clone()),
            ))
    }

    /// Releases pooled connections; the client stays usable and reconnects on the next call.
    fn close(&self) {
        self.core.reset();
    }

    fn can_paginate(&self, operation_name: &str) -> bool {
        let _ = operation_name; // no SageMaker Runtime operation is paginated
        false
    }

    fn get_paginator(&self, py: Python<'_>, operation_name: &str) -> PyResult<()> {
        let exceptions = py.import("sagemaker_runtime_rs.exceptions")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("operation_name", operation_name)?;
        Err(PyErr::from_value(
            exceptions
                .getattr("OperationNotPageableError")?
                .call((), Some(&kwargs))?,
        ))
    }

    fn get_waiter(&self, waiter_name: &str) -> PyResult<()> {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "Waiter does not exist: {waiter_name}"
        )))
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
        let config = &self.core.config;
        format!(
            "<sagemaker_runtime_rs.Client region_name={:?} endpoint_url={:?}>",
            config.region_hint().unwrap_or_default(),
            config.resolved_endpoint_url().unwrap_or_default()
        )
    }
}
