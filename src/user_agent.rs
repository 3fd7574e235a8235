//! The User-Agent header, formatted once per client. The SDK's own interceptor rebuilds two user-agent headers
//! on every call (environment lookups, feature metrics, string formatting: about 5% of a small call's CPU in
//! callgrind), and names only the Rust SDK. botocore sends one `User-Agent` and appends `user_agent_extra`.

use std::sync::OnceLock;

use aws_runtime::user_agent::UserAgentInterceptor;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::{disable_interceptor, Intercept};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use http::HeaderValue;

use crate::errors::Error;

static PYTHON_VERSION: OnceLock<String> = OnceLock::new();

/// Records the interpreter's version for the header (called once, at module import).
pub fn set_python_version(version: String) {
    let _ = PYTHON_VERSION.set(version);
}

/// `sagemaker-runtime-rs/0.1.0 aws-sdk-rust/1.123 lang/python#3.11.7 os/linux md/arch#x86_64[ extra]`.
pub fn header_value(extra: Option<&str>) -> Result<HeaderValue, Error> {
    let mut value = format!(
        "sagemaker-runtime-rs/{} aws-sdk-rust/{} lang/python#{} os/{} md/arch#{}",
        env!("CARGO_PKG_VERSION"),
        aws_sdk_sagemakerruntime::meta::PKG_VERSION,
        PYTHON_VERSION.get().map(String::as_str).unwrap_or("unknown"),
        std::env::consts::OS,
        std::env::consts::ARCH,
    );
    if let Some(extra) = extra.filter(|extra| !extra.is_empty()) {
        value.push(' ');
        value.push_str(extra);
    }
    HeaderValue::try_from(value)
        .map_err(|_| Error::InvalidConfig("user_agent_extra cannot carry control characters".to_owned()))
}

#[derive(Debug)]
pub struct UserAgent(pub HeaderValue);

impl Intercept for UserAgent {
    fn name(&self) -> &'static str {
        "UserAgent"
    }

    /// The first hook of an operation: the SDK's interceptor is off before its first hook runs.
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(disable_interceptor::<UserAgentInterceptor>("sagemaker-runtime-rs sends its own User-Agent"));
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().headers_mut().insert(http::header::USER_AGENT, self.0.clone());
        Ok(())
    }
}
