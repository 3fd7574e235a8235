//! The local SageMaker Runtime server, driven from Python (`sagemaker_runtime_rs.local`).

mod async_inference;
mod auth;
mod events;
mod faults;
mod models;
mod server;
mod shards;
mod sigv4;
mod streaming;
mod tls;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tokio::sync::watch;

use models::{Model, Registry};

struct Running {
    /// Accepts connections; `shards` serve them.
    runtime: tokio::runtime::Runtime,
    shards: Arc<shards::Shards>,
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
    faults: Arc<RwLock<Option<Arc<faults::Faults>>>>,
    credentials: Arc<RwLock<Option<Arc<sigv4::KeyMap>>>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    registry: Registry,
    connections: Arc<server::Connections>,
    running: Mutex<Option<Running>>,
}

impl PyLocalServer {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyLocalServer {
    /// `tls`: (certificate chain PEM path, private key PEM path) to serve HTTPS.
    #[new]
    #[pyo3(signature = (host, port, require_auth, s3_root, tls=None))]
    fn new(
        host: String,
        port: u16,
        require_auth: bool,
        s3_root: PathBuf,
        tls: Option<(PathBuf, PathBuf)>,
    ) -> PyResult<Self> {
        let tls = match tls {
            Some((cert, key)) => Some(tls::acceptor(&cert, &key).map_err(PyValueError::new_err)?),
            None => None,
        };
        Ok(Self {
            host,
            requested_port: port,
            require_auth,
            s3_root: Arc::new(s3_root),
            faults: Arc::default(),
            credentials: Arc::default(),
            tls,
            registry: Registry::default(),
            connections: Arc::default(),
            running: Mutex::new(None),
        })
    }

    /// Strict mode: verifies every request's SigV4 signature with these keys (access key id -> secret);
    /// implies `require_auth`. None turns it off.
    #[pyo3(signature = (credentials=None))]
    fn set_credentials(&self, credentials: Option<std::collections::HashMap<String, String>>) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = credentials.map(Arc::new);
    }

    #[getter]
    fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Binds and starts serving in background threads; returns the port (useful with port 0).
    fn start(&self, py: Python<'_>) -> PyResult<u16> {
        let mut running = self.running();
        if let Some(active) = running.as_ref() {
            return Ok(active.port);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sagemaker-runtime-rs-local")
            .enable_all()
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the local server's runtime: {e}")))?;
        let (host, port) = (self.host.clone(), self.requested_port);
        let (listener, address) = py
            .detach(|| runtime.block_on(server::bind(&host, port)))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot listen on {host}:{port}: {e}")))?;
        let shards = Arc::new(
            shards::Shards::start()
                .map_err(|e| PyRuntimeError::new_err(format!("cannot start the local server's threads: {e}")))?,
        );
        let (shutdown, receiver) = watch::channel(false);
        let state = server::ServerState {
            registry: self.registry.clone(),
            require_auth: self.require_auth,
            s3_root: self.s3_root.clone(),
            faults: self.faults.clone(),
            credentials: self.credentials.clone(),
            tls: self.tls.clone(),
            connections: self.connections.clone(),
        };
        runtime.spawn(server::serve(listener, state, shards.clone(), receiver));
        *running = Some(Running { runtime, shards, shutdown, port: address.port() });
        Ok(address.port())
    }

    /// Stops accepting, drops open connections and the runtime. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let taken = self.running().take();
        if let Some(active) = taken {
            let _ = active.shutdown.send(true);
            py.detach(move || {
                active.runtime.shutdown_timeout(Duration::from_secs(1));
                active.shards.stop(true);
            });
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

    /// Injects faults into InvokeEndpoint at the given rates (0 to 1); replaces earlier settings.
    #[pyo3(signature = (
        service_unavailable=0.0, model_not_ready=0.0, latency=0.0, latency_seconds=0.0, reset=0.0, truncate=0.0,
        seed=1, track_inference_ids=false, stall=0.0, stall_seconds=0.0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn set_faults(
        &self,
        service_unavailable: f64,
        model_not_ready: f64,
        latency: f64,
        latency_seconds: f64,
        reset: f64,
        truncate: f64,
        seed: u64,
        track_inference_ids: bool,
        stall: f64,
        stall_seconds: f64,
    ) -> PyResult<()> {
        let rates = [service_unavailable, model_not_ready, latency, reset, truncate, stall];
        let seconds = [latency_seconds, stall_seconds];
        if rates.iter().any(|r| !(0.0..=1.0).contains(r)) || seconds.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(PyValueError::new_err(
                "fault rates must be between 0 and 1, latency_seconds and stall_seconds non-negative",
            ));
        }
        let rates = faults::FaultRates {
            service_unavailable,
            model_not_ready,
            latency,
            latency_duration: Duration::from_secs_f64(latency_seconds),
            reset,
            truncate,
            stall,
            stall_duration: Duration::from_secs_f64(stall_seconds),
        };
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(faults::Faults::new(rates, seed, track_inference_ids)));
        Ok(())
    }

    fn clear_faults(&self) {
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Faults injected so far, by kind; with tracking, requests seen per inference id.
    fn fault_counts(&self) -> (std::collections::HashMap<&'static str, u64>, std::collections::HashMap<String, u64>) {
        let mut counts = std::collections::HashMap::new();
        let mut seen = std::collections::HashMap::new();
        if let Some(faults) = self.faults.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let c = &faults.counters;
            counts.insert("service_unavailable", c.service_unavailable.load(Ordering::Relaxed));
            counts.insert("model_not_ready", c.model_not_ready.load(Ordering::Relaxed));
            counts.insert("latency", c.latency.load(Ordering::Relaxed));
            counts.insert("reset", c.reset.load(Ordering::Relaxed));
            counts.insert("truncate", c.truncate.load(Ordering::Relaxed));
            counts.insert("stall", c.stall.load(Ordering::Relaxed));
            if let Some(tracked) = &faults.seen {
                seen = tracked.lock().unwrap_or_else(|p| p.into_inner()).clone();
            }
        }
        (counts, seen)
    }

    /// How many requests for `name` ended with the client gone before the answer was complete.
    fn disconnects(&self, name: &str) -> PyResult<u64> {
        self.registry
            .get(name)
            .map(|e| e.disconnects.load(Ordering::Relaxed))
            .ok_or_else(|| PyKeyError::new_err(name.to_owned()))
    }

    /// (TCP connections accepted so far, connections open now).
    fn connections(&self) -> (u64, u64) {
        (self.connections.accepted.load(Ordering::Relaxed), self.connections.open.load(Ordering::Relaxed))
    }

    /// Closes every idle keep-alive connection, as a load balancer's idle timeout does; requests in flight
    /// finish first.
    fn close_idle_connections(&self) {
        self.connections.close_idle.send_modify(|generation| *generation += 1);
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
            active.shards.stop(false);
        }
    }
}
