//! SageMaker-aware retries: on top of the SDK's standard classification, retry ModelNotReadyException (429)
//! and never retry a request that may already have reached the model (read timeout, connection lost after
//! sending) unless the user opts in: the model would run twice. A TLS failure (an untrusted certificate, say)
//! happens before anything is sent, but retrying it is pointless: it is not retried either.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};

use crate::errors::chain_text;

#[derive(Debug)]
pub struct SageMakerRetryPolicy {
    pub retry_sent_requests: bool,
}

/// Failures hyper-util reports while connecting, before any byte of the request was written.
pub fn failed_before_sending(text: &str) -> bool {
    text.contains("client error (Connect)")
        || text.contains("tcp connect error")
        || text.contains("dns error")
        || text.contains("HTTP connect timeout")
}

/// The rustls error behind a failed connection, if TLS is what failed (certificate, handshake). It hides inside
/// an `io::Error`, whose `source()` skips its payload, so payloads are looked into too.
pub fn tls_failure<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    None
}

impl ClassifyRetry for SageMakerRetryPolicy {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(response) = ctx.response() {
            let not_ready = response.status().as_u16() == 429
                && response.headers().get("x-amzn-errortype").is_some_and(|t| t.starts_with("ModelNotReadyException"));
            return if not_ready { RetryAction::throttling_error() } else { RetryAction::NoActionIndicated };
        }
        let Some(connector) = error.as_connector_error() else {
            return RetryAction::NoActionIndicated;
        };
        if tls_failure(connector).is_some() {
            return RetryAction::RetryForbidden; // nothing was sent, and a certificate does not fix itself
        }
        if failed_before_sending(&chain_text(connector)) || self.retry_sent_requests {
            RetryAction::NoActionIndicated // the SDK's transient-error rule retries it
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "SageMakerRetryPolicy"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // Last, so its verdict overrides the SDK's transient-error classifier.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}
