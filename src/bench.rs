//! Benchmark support: the build profile, and a raw HTTP client that marks the limit of this machine.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::runtime;

/// The cargo profile that built this extension ("release", "dev-release", "debug").
#[pyfunction]
pub fn _build_profile() -> &'static str {
    env!("SAGEMAKER_RUNTIME_RS_PROFILE")
}

/// Sends `requests` unsigned POSTs of `body` to `url` + `path` over `concurrency` connections with a bare
/// hyper client (no SDK, no signing) and returns the seconds taken: the machine's ceiling for one call.
#[pyfunction]
pub fn _bench_raw_http(
    py: Python<'_>,
    url: &str,
    path: &str,
    body: Vec<u8>,
    requests: usize,
    concurrency: usize,
) -> PyResult<f64> {
    let uri: hyper::Uri = format!("{url}{path}").parse().map_err(|e| PyValueError::new_err(format!("bad URL: {e}")))?;
    let concurrency = concurrency.max(1);
    let body = Bytes::from(body);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run = async move {
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (client, uri, body, next) = (client.clone(), uri.clone(), body.clone(), next.clone());
            workers.spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                    let request = hyper::Request::post(uri.clone())
                        .header("content-type", "application/octet-stream")
                        .body(Full::new(body.clone()))
                        .map_err(|e| e.to_string())?;
                    let response = client.request(request).await.map_err(|e| e.to_string())?;
                    if !response.status().is_success() {
                        return Err(format!("status {}", response.status()));
                    }
                    response.into_body().collect().await.map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            });
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        Ok::<f64, String>(started.elapsed().as_secs_f64())
    };
    runtime::block_on(py, run)?.map_err(PyRuntimeError::new_err)
}

/// The same InvokeEndpoint calls as the clients make (SDK, signing, our interceptors), driven from Rust with
/// no Python in the loop: what the batch call is measured against. Returns the seconds taken.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn _bench_sdk(
    py: Python<'_>,
    url: String,
    access_key_id: String,
    secret_access_key: String,
    body: Vec<u8>,
    requests: usize,
    concurrency: usize,
) -> PyResult<f64> {
    let config = crate::config::ClientConfig {
        region_name: Some("us-east-1".to_owned()),
        endpoint_url: Some(url),
        credentials: Some(crate::config::StaticCredentials {
            access_key_id,
            secret_access_key: crate::config::Secret(secret_access_key),
            session_token: None,
        }),
        ..crate::config::ClientConfig::default()
    };
    let core = crate::operations::Core::new(config);
    let body = Bytes::from(body);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run = async move {
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (core, body, next) = (core.clone(), body.clone(), next.clone());
            workers.spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                    let request = crate::operations::Request {
                        endpoint_name: "echo".to_owned(),
                        body: Some(body.clone()),
                        ..crate::operations::Request::default()
                    };
                    crate::operations::invoke_endpoint(core.clone(), request).await.map_err(|e| format!("{e:?}"))?;
                }
                Ok::<(), String>(())
            });
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        Ok::<f64, String>(started.elapsed().as_secs_f64())
    };
    runtime::block_on(py, run)?.map_err(PyRuntimeError::new_err)
}
