//! Captures what boto3 puts in `ResponseMetadata` (status, raw headers, retry count) from the SDK's pipeline.

use std::cell::RefCell;
use std::future::Future;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeDeserializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

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

/// One operation's slot: the request body to send, the metadata, and (when asked for) the body of a
/// successful response.
#[derive(Default)]
struct Capture {
    metadata: ResponseMetadata,
    request_body: Option<Bytes>,
    take_body: bool,
    body: Option<SdkBody>,
}

tokio::task_local! {
    static CAPTURED: RefCell<Capture>;
}

/// Runs one SDK operation with a capture slot; returns its output with the metadata of its last attempt.
/// `request_body`, when given, replaces the operation's (empty placeholder) body before it is signed: the
/// SDK's `Blob` takes only a `Vec`, which would cost a copy of every payload.
pub async fn capture<F: Future>(operation: F, request_body: Option<Bytes>) -> (F::Output, ResponseMetadata) {
    let (output, metadata, _) = capture_inner(operation, request_body, false).await;
    (output, metadata)
}

/// As `capture`, and takes the body of a successful (2xx) response before the SDK reads it, so that the
/// caller reads it straight into its final buffer: the SDK would copy it twice more (into one contiguous
/// buffer, then into its `Blob`). The SDK then deserializes an empty body.
pub async fn capture_with_body<F: Future>(
    operation: F,
    request_body: Option<Bytes>,
) -> (F::Output, ResponseMetadata, Option<SdkBody>) {
    capture_inner(operation, request_body, true).await
}

async fn capture_inner<F: Future>(
    operation: F,
    request_body: Option<Bytes>,
    take_body: bool,
) -> (F::Output, ResponseMetadata, Option<SdkBody>) {
    CAPTURED
        .scope(RefCell::new(Capture { request_body, take_body, ..Capture::default() }), async {
            let output = operation.await;
            let capture = CAPTURED.with(|slot| slot.take());
            (output, capture.metadata, capture.body)
        })
        .await
}

fn with_slot(update: impl FnOnce(&mut ResponseMetadata)) {
    // Outside `capture` (no slot) there is nothing to record into.
    let _ = CAPTURED.try_with(|slot| update(&mut slot.borrow_mut().metadata));
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

    /// Runs once, before the request is saved for retries and before each attempt signs it.
    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = CAPTURED.try_with(|slot| slot.borrow_mut().request_body.take()).ok().flatten();
        if let Some(body) = body {
            let request = context.request_mut();
            request.headers_mut().insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body);
        }
        Ok(())
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

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !context.response().status().is_success() {
            return Ok(()); // error bodies are parsed by the SDK and errors.rs
        }
        let _ = CAPTURED.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.take_body {
                slot.body = Some(std::mem::replace(context.response_mut().body_mut(), SdkBody::empty()));
            }
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
