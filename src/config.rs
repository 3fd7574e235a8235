//! boto3-style constructor arguments and botocore `Config` -> the SDK's client configuration.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::Error;
use crate::http_client::{PerThreadHttpClient, PoolFactory};
use crate::metadata::CaptureResponse;
use crate::retry::SageMakerRetryPolicy;
use crate::user_agent::UserAgent;

/// botocore's defaults, except the read timeout: AWS advises a socket timeout above the model's 60 s limit.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(70);

/// A string that never shows in Debug output.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// Everything a client needs to rebuild its SDK client (after fork, after unpickling). No live resources.
/// botocore's `verify`: None/True verifies against the system roots (or AWS_CA_BUNDLE), a path names a CA bundle,
/// False turns verification off.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Verify {
    #[default]
    Default,
    CaBundle(String),
    /// verify=False: TLS without certificate verification.
    Disabled,
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub region_name: Option<String>,
    pub endpoint_url: Option<String>,
    pub credentials: Option<StaticCredentials>,
    pub profile_name: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    /// Total attempts, first one included (botocore's `total_max_attempts`).
    pub total_max_attempts: Option<u32>,
    pub retry_mode: Option<String>,
    pub max_pool_connections: Option<usize>,
    pub user_agent_extra: Option<String>,
    pub verify: Verify,
    pub use_ssl: bool,
    /// Retry read timeouts and connections lost after the request was sent (the model may run twice).
    pub retry_sent_requests: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            region_name: None,
            endpoint_url: None,
            credentials: None,
            profile_name: None,
            connect_timeout: None,
            read_timeout: None,
            total_max_attempts: None,
            retry_mode: None,
            max_pool_connections: None,
            user_agent_extra: None,
            verify: Verify::Default,
            use_ssl: true,
            retry_sent_requests: false,
        }
    }
}

impl ClientConfig {
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    pub fn read_timeout(&self) -> Duration {
        self.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT)
    }

    /// The endpoint requests go to, as `client.meta.endpoint_url` reports it.
    pub fn resolved_endpoint_url(&self) -> Option<String> {
        let from_env = || {
            std::env::var("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
                .ok()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .filter(|url| !url.is_empty())
        };
        self.endpoint_url.clone().or_else(from_env).or_else(|| {
            let scheme = if self.use_ssl { "https" } else { "http" };
            self.region_hint().map(|region| format!("{scheme}://runtime.sagemaker.{region}.amazonaws.com"))
        })
    }

    pub fn apply_verify(&mut self, verify: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(verify) = verify.filter(|v| !v.is_none()) else {
            return Ok(());
        };
        if let Ok(flag) = verify.extract::<bool>() {
            self.verify = if flag { Verify::Default } else { Verify::Disabled };
            return Ok(());
        }
        let path = verify.py().import("os")?.getattr("fspath")?.call1((verify,))?;
        self.verify = Verify::CaBundle(path.extract()?);
        Ok(())
    }

    fn ca_bundle(&self) -> Option<String> {
        match &self.verify {
            Verify::CaBundle(path) => Some(path.clone()),
            Verify::Default => std::env::var("AWS_CA_BUNDLE").ok().filter(|p| !p.is_empty()),
            Verify::Disabled => None,
        }
    }

    /// The SDK's HTTP client: TLS settings are read once here; each thread's pool is built from them.
    fn http_client(&self) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, Error> {
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
        // Unset: keep an idle connection for every call that ran at once, so a batch or 64 concurrent calls
        // do not close and reopen connections (botocore's 10 made 13,756 connections for 20,000 calls at 64).
        let pool_size = self.max_pool_connections.unwrap_or(usize::MAX);
        let factory: PoolFactory = if self.verify == Verify::Disabled {
            crate::insecure::pool_factory(pool_size)
                .map_err(|e| Error::InvalidConfig(format!("TLS configuration: {e}")))?
        } else {
            let mut tls_context = TlsContext::builder();
            if let Some(path) = self.ca_bundle() {
                let pem = std::fs::read(&path)
                    .map_err(|e| Error::InvalidConfig(format!("cannot read the CA bundle {path:?}: {e}")))?;
                tls_context = tls_context
                    .with_trust_store(TrustStore::empty().with_native_roots(false).with_pem_certificate(pem));
            }
            let tls_context =
                tls_context.build().map_err(|e| Error::InvalidConfig(format!("TLS configuration: {e}")))?;
            Arc::new(move || {
                aws_smithy_http_client::Builder::new()
                    .pool_max_idle_per_host(pool_size)
                    .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                    .tls_context(tls_context.clone())
                    .build_https()
            })
        };
        Ok(PerThreadHttpClient::new_shared(factory))
    }

    /// The region as boto3 would pick it without I/O beyond the environment: explicit, then AWS_REGION /
    /// AWS_DEFAULT_REGION. The shared config file is consulted when the SDK client is built.
    pub fn region_hint(&self) -> Option<String> {
        self.region_name
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|region| !region.is_empty())
    }
}

fn seconds(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<Duration>> {
    if value.is_none() {
        return Ok(None);
    }
    let secs: f64 = value.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!("{name} must be a number of seconds, not {}", type_name(value)))
    })?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{name} must be a positive number of seconds, got {secs}"
        )));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".to_owned())
}

/// The options a `Config` object carries: botocore's `Config` keeps the ones the user set in
/// `_user_provided_options`, so its defaults (read_timeout=60) do not override ours.
fn config_option<'py>(config: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(provided) = config.getattr("_user_provided_options") {
        if let Ok(provided) = provided.cast::<PyDict>() {
            return provided.get_item(name);
        }
    }
    match config.getattr(name) {
        Ok(value) if !value.is_none() => Ok(Some(value)),
        Ok(_) => Ok(None),
        Err(_) => Ok(None),
    }
}

impl ClientConfig {
    /// Applies a `botocore.config.Config` or a `sagemaker_runtime_rs.Config` (duck-typed by attribute name).
    pub fn apply_config_object(&mut self, config: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(value) = config_option(config, "region_name")? {
            if self.region_name.is_none() {
                self.region_name = value.extract()?;
            }
        }
        if let Some(value) = config_option(config, "connect_timeout")? {
            self.connect_timeout = seconds(&value, "connect_timeout")?;
        }
        if let Some(value) = config_option(config, "read_timeout")? {
            self.read_timeout = seconds(&value, "read_timeout")?;
        }
        if let Some(value) = config_option(config, "max_pool_connections")? {
            let size: usize = value.extract()?;
            if size == 0 {
                return Err(pyo3::exceptions::PyValueError::new_err("max_pool_connections must be at least 1"));
            }
            self.max_pool_connections = Some(size);
        }
        if let Some(value) = config_option(config, "user_agent_extra")? {
            let extra: Option<String> = value.extract()?;
            if let Some(bad) = extra.as_deref().and_then(crate::request::header_problem) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "user_agent_extra cannot contain the control character {bad:?}: it is sent as an HTTP header"
                )));
            }
            self.user_agent_extra = extra;
        }
        if let Some(value) = config_option(config, "retry_sent_requests")? {
            self.retry_sent_requests = value.is_truthy()?;
        }
        if let Some(retries) = config_option(config, "retries")? {
            self.apply_retries(&retries)?;
        }
        Ok(())
    }

    /// botocore's `retries` dict: `max_attempts` counts retries, `total_max_attempts` counts attempts.
    fn apply_retries(&mut self, retries: &Bound<'_, PyAny>) -> PyResult<()> {
        let retries = retries
            .cast::<PyDict>()
            .map_err(|_| pyo3::exceptions::PyTypeError::new_err("Config retries must be a dict"))?;
        for (key, _) in retries.iter() {
            let key: String = key.extract()?;
            if !matches!(key.as_str(), "max_attempts" | "total_max_attempts" | "mode") {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "Invalid retry configuration key: {key:?}; valid keys: max_attempts, total_max_attempts, mode"
                )));
            }
        }
        if let Some(total) = retries.get_item("total_max_attempts")? {
            let total: u32 = total.extract()?;
            self.total_max_attempts = Some(total.max(1));
        } else if let Some(retries_only) = retries.get_item("max_attempts")? {
            let retries_only: u32 = retries_only.extract()?;
            self.total_max_attempts = Some(retries_only.saturating_add(1));
        }
        if let Some(mode) = retries.get_item("mode")? {
            let mode: String = mode.extract()?;
            if !matches!(mode.as_str(), "legacy" | "standard" | "adaptive") {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "Invalid retry mode: {mode:?}; valid modes: legacy, standard, adaptive"
                )));
            }
            self.retry_mode = Some(mode);
        }
        Ok(())
    }

    fn retry_config(&self) -> Option<RetryConfig> {
        if self.total_max_attempts.is_none() && self.retry_mode.is_none() {
            return None; // let AWS_MAX_ATTEMPTS / AWS_RETRY_MODE / the profile decide
        }
        let base = match self.retry_mode.as_deref() {
            Some("adaptive") => RetryConfig::adaptive(),
            _ => RetryConfig::standard(),
        };
        Some(match self.total_max_attempts {
            Some(attempts) => base.with_max_attempts(attempts),
            None => base,
        })
    }

    fn region_provider(&self) -> RegionProviderChain {
        let explicit = self.region_name.clone().filter(|r| !r.is_empty()).map(Region::new);
        let mut profile = ProfileFileRegionProvider::builder();
        if let Some(name) = &self.profile_name {
            profile = profile.profile_name(name);
        }
        // No instance-metadata lookup: botocore does not do one for the region, and offline it would hang.
        RegionProviderChain::first_try(explicit)
            .or_else(EnvironmentVariableRegionProvider::new())
            .or_else(profile.build())
    }

    /// Builds the SDK client. Reads the environment and shared config files; does no network I/O
    /// (credentials resolve lazily, at the first signed request).
    pub async fn build_sdk_client(&self) -> Result<aws_sdk_sagemakerruntime::Client, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(self.region_provider());
        if let Some(name) = &self.profile_name {
            loader = loader.profile_name(name);
        }
        if let Some(creds) = &self.credentials {
            loader = loader.credentials_provider(Credentials::new(
                creds.access_key_id.clone(),
                creds.secret_access_key.0.clone(),
                creds.session_token.as_ref().map(|t| t.0.clone()),
                None,
                "sagemaker-runtime-rs",
            ));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader = loader.http_client(self.http_client()?);
        if let Some(retry) = self.retry_config() {
            loader = loader.retry_config(retry);
        }
        loader = loader.timeout_config(
            TimeoutConfig::builder().connect_timeout(self.connect_timeout()).read_timeout(self.read_timeout()).build(),
        );
        // Bodies are read by us with the read timeout bounding each wait (payload.rs, event_stream.rs), as
        // botocore's socket timeout does; the SDK's own throughput check would also cut off a token stream
        // that pauses for 20 s, and costs about 6% of a small call. Off in every mode, also with
        // retry_sent_requests (where the SDK reads InvokeEndpoint's body itself): streams would be cut otherwise.
        loader = loader.stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        let shared = loader.load().await;
        if shared.region().is_none() {
            return Err(Error::NoRegion);
        }
        let user_agent = crate::user_agent::header_value(self.user_agent_extra.as_deref())?;
        let mut service = aws_sdk_sagemakerruntime::config::Builder::from(&shared)
            .interceptor(UserAgent(user_agent))
            .interceptor(CaptureResponse)
            .retry_classifier(SageMakerRetryPolicy { retry_sent_requests: self.retry_sent_requests });
        if !self.use_ssl && self.endpoint_url.is_none() && shared.endpoint_url().is_none() {
            service = service.endpoint_url(self.resolved_endpoint_url().unwrap_or_default());
        }
        let service = service.build();
        Ok(aws_sdk_sagemakerruntime::Client::from_conf(service))
    }
}
