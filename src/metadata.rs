//! Captures what boto3 puts in `ResponseMetadata` (status, raw headers, retry count) from the SDK's pipeline.

use std::cell::RefCell;
use std::future::Future;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The HTTP facts of the last attempt of one operation.
#[derive(Clone, Debug, Default)]
pub struct ResponseMetadata {
    pub status: u16,
    /// Lower-cased names in arrival order; repeated names are joined with ", " when turned into a dict.
    pub headers: Vec<(String, String)>,
    /// Attempts made, first one included; boto3's `RetryAttempts` is this minus one.
    pub attempts: u32,
    /// The URL of the last request, for transport error messages.
    pub url: String,
    /// The most attempts the retry strategy allows (to tell "gave up after the last attempt").
    pub max_attempts: u32,
}

impl ResponseMetadata {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-amzn-requestid").or_else(|| self.header("x-amz-request-id"))
    }

    pub fn retry_attempts(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

tokio::task_local! {
    static CAPTURED: RefCell<ResponseMetadata>;
}

/// Runs one SDK operation with a capture slot; returns its output with the metadata of its last attempt.
pub async fn capture<F: Future>(operation: F) -> (F::Output, ResponseMetadata) {
    CAPTURED
        .scope(RefCell::new(ResponseMetadata::default()), async {
            let output = operation.await;
            (output, CAPTURED.with(|slot| slot.take()))
        })
        .await
}

fn with_slot(update: impl FnOnce(&mut ResponseMetadata)) {
    // Outside `capture` (no slot) there is nothing to record into.
    let _ = CAPTURED.try_with(|slot| update(&mut slot.borrow_mut()));
}

fn attempts(cfg: &ConfigBag) -> u32 {
    cfg.load::<RequestAttempts>().map(|a| a.attempts()).unwrap_or(1)
}

fn max_attempts(cfg: &ConfigBag) -> u32 {
    cfg.load::<aws_smithy_types::retry::RetryConfig>().map(|r| r.max_attempts()).unwrap_or(1)
}

#[derive(Debug)]
pub struct CaptureResponse;

impl Intercept for CaptureResponse {
    fn name(&self) -> &'static str {
        "CaptureResponse"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let url = context.request().uri().to_owned();
        let attempts = attempts(cfg);
        let max_attempts = max_attempts(cfg);
        with_slot(|slot| {
            slot.url = url;
            slot.attempts = attempts;
            slot.max_attempts = max_attempts;
            slot.status = 0;
            slot.headers.clear();
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        let headers =
            response.headers().iter().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        let attempts = attempts(cfg);
        with_slot(|slot| {
            slot.status = status;
            slot.headers = headers;
            slot.attempts = attempts;
        });
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempts = attempts(cfg);
        with_slot(|slot| slot.attempts = slot.attempts.max(attempts));
        Ok(())
    }
}
