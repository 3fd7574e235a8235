//! The local SageMaker Runtime server, driven from Python (`sagemaker_runtime_rs.local`).

mod async_inference;
mod auth;
mod events;
mod models;
mod server;
mod streaming;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tokio::sync::watch;

use models::{Model, Registry};

struct Running {
    runtime: tokio::runtime::Runtime,
    shutdown: watch::Sender<bool>,
    port: u16,
}

/// The native half of `sagemaker_runtime_rs.local.LocalServer`: its own runtime, listener and endpoints.
#[pyclass(name = "_LocalServer", module = "sagemaker_runtime_rs._core", frozen)]
pub struct PyLocalServer {
    host: String,
    requested_port: u16,
    require_auth: bool,
    s3_root: Arc<PathBuf>,
    registry: Registry,
    running: Mutex<Option<Running>>,
}

impl PyLocalServer {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyLocalServer {
    #[new]
    fn new(host: String, port: u16, require_auth: bool, s3_root: PathBuf) -> Self {
        Self {
            host,
            requested_port: port,
            require_auth,
            s3_root: Arc::new(s3_root),
            registry: Registry::default(),
            running: Mutex::new(None),
        }
    }

    /// Binds and starts serving in background threads; returns the port (useful with port 0).
    fn start(&self, py: Python<'_>) -> PyResult<u16> {
        let mut running = self.running();
        if let Some(active) = running.as_ref() {
            return Ok(active.port);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sagemaker-runtime-rs-local")
            .enable_all()
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the local server's runtime: {e}")))?;
        let (host, port) = (self.host.clone(), self.requested_port);
        let (listener, address) = py
            .detach(|| runtime.block_on(server::bind(&host, port)))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot listen on {host}:{port}: {e}")))?;
        let (shutdown, receiver) = watch::channel(false);
        let state = server::ServerState {
            registry: self.registry.clone(),
            require_auth: self.require_auth,
            s3_root: self.s3_root.clone(),
        };
        runtime.spawn(server::serve(listener, state, receiver));
        *running = Some(Running { runtime, shutdown, port: address.port() });
        Ok(address.port())
    }

    /// Stops accepting, drops open connections and the runtime. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let taken = self.running().take();
        if let Some(active) = taken {
            let _ = active.shutdown.send(true);
            py.detach(move || active.runtime.shutdown_timeout(Duration::from_secs(1)));
        }
    }

    #[getter]
    fn port(&self) -> Option<u16> {
        self.running().as_ref().map(|r| r.port)
    }

    #[getter]
    fn host(&self) -> String {
        self.host.clone()
    }

    /// Serves `name` with the echo model (`model=None`) or a Python callable.
    #[pyo3(signature = (name, model=None, delay=0.0))]
    fn set_endpoint(&self, name: String, model: Option<Py<PyAny>>, delay: f64) -> PyResult<()> {
        if !(delay.is_finite() && delay >= 0.0) {
            return Err(PyValueError::new_err(format!("delay must be a non-negative number of seconds, got {delay}")));
        }
        let model = match model {
            None => Model::Echo { delay: Duration::from_secs_f64(delay) },
            Some(callable) => Model::Python(callable),
        };
        self.registry.insert(name, model);
        Ok(())
    }

    fn remove_endpoint(&self, name: &str) -> PyResult<()> {
        if self.registry.remove(name) {
            Ok(())
        } else {
            Err(PyKeyError::new_err(name.to_owned()))
        }
    }

    fn endpoint_names(&self) -> Vec<String> {
        self.registry.names()
    }

    /// How many requests for `name` ended with the client gone before the answer was complete.
    fn disconnects(&self, name: &str) -> PyResult<u64> {
        self.registry
            .get(name)
            .map(|e| e.disconnects.load(Ordering::Relaxed))
            .ok_or_else(|| PyKeyError::new_err(name.to_owned()))
    }

    /// How many requests reached the model of `name`.
    fn invocations(&self, name: &str) -> PyResult<u64> {
        self.registry
            .get(name)
            .map(|e| e.invocations.load(Ordering::Relaxed))
            .ok_or_else(|| PyKeyError::new_err(name.to_owned()))
    }
}

impl Drop for PyLocalServer {
    fn drop(&mut self) {
        if let Some(active) = self.running().take() {
            let _ = active.shutdown.send(true);
            active.runtime.shutdown_background();
        }
    }
}
