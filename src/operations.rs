//! One `async fn` per API operation, on Rust-only data, shared by the sync and the async client.

use std::sync::{Arc, Mutex};

use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client as SdkClient;
use bytes::Bytes;

use crate::config::ClientConfig;
use crate::errors::Error;
use crate::event_stream::EventSource;
use crate::metadata::{capture, capture_with_body, ResponseMetadata};
use crate::payload::Payload;
use crate::request::Params;

/// A client's configuration and its SDK client, built on first use and rebuilt in a forked child.
pub struct Core {
    pub config: ClientConfig,
    sdk: Mutex<Option<(u32, SdkClient)>>,
}

impl Core {
    pub fn new(config: ClientConfig) -> Arc<Self> {
        Arc::new(Self { config, sdk: Mutex::new(None) })
    }

    fn cached(&self) -> Option<SdkClient> {
        let slot = self.sdk.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.as_ref().filter(|(pid, _)| *pid == crate::runtime::pid()).map(|(_, client)| client.clone())
    }

    /// Drops the SDK client and with it the pooled connections; the next call builds a new one.
    pub fn reset(&self) {
        let mut slot = self.sdk.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = None;
    }

    /// The SDK client of this process. A client inherited through fork() holds connections of the parent's
    /// runtime, so a child builds its own from the stored configuration.
    pub async fn sdk(&self) -> Result<SdkClient, Error> {
        if let Some(client) = self.cached() {
            return Ok(client);
        }
        // Boxed: loading the configuration is a large future, and every call's future would carry its size.
        let built = Box::pin(self.config.build_sdk_client()).await?;
        let mut slot = self.sdk.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let pid = crate::runtime::pid();
        // Threads that raced to build one all use the first: each SDK client has its own connection pools.
        match slot.as_ref() {
            Some((owner, first)) if *owner == pid => Ok(first.clone()),
            _ => {
                *slot = Some((pid, built.clone()));
                Ok(built)
            }
        }
    }
}

/// Validated arguments of any operation; members an operation does not have stay `None`.
#[derive(Default)]
pub struct Request {
    pub endpoint_name: String,
    /// Sent through `capture`; the SDK's input carries an empty placeholder (see `placeholder`).
    pub body: Option<Bytes>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub custom_attributes: Option<String>,
    pub target_model: Option<String>,
    pub target_variant: Option<String>,
    pub target_container_hostname: Option<String>,
    pub inference_id: Option<String>,
    pub enable_explanations: Option<String>,
    pub inference_component_name: Option<String>,
    pub session_id: Option<String>,
    pub prefix_aware_id: Option<String>,
    pub input_location: Option<String>,
    pub s3_output_path_extension: Option<String>,
    pub filename: Option<String>,
    pub request_ttl_seconds: Option<i32>,
    pub invocation_timeout_seconds: Option<i32>,
}

impl Request {
    pub fn from_params(mut params: Params) -> Self {
        Self {
            endpoint_name: params.take_str("EndpointName").unwrap_or_default(),
            body: params.take_blob("Body"),
            content_type: params.take_str("ContentType"),
            accept: params.take_str("Accept"),
            custom_attributes: params.take_str("CustomAttributes"),
            target_model: params.take_str("TargetModel"),
            target_variant: params.take_str("TargetVariant"),
            target_container_hostname: params.take_str("TargetContainerHostname"),
            inference_id: params.take_str("InferenceId"),
            enable_explanations: params.take_str("EnableExplanations"),
            inference_component_name: params.take_str("InferenceComponentName"),
            session_id: params.take_str("SessionId"),
            prefix_aware_id: params.take_str("PrefixAwareId"),
            input_location: params.take_str("InputLocation"),
            s3_output_path_extension: params.take_str("S3OutputPathExtension"),
            filename: params.take_str("Filename"),
            request_ttl_seconds: params.take_int("RequestTTLSeconds"),
            invocation_timeout_seconds: params.take_int("InvocationTimeoutSeconds"),
        }
    }
}

/// The SDK input's body: `capture` swaps the real payload in before signing, without copying it.
fn placeholder() -> Blob {
    Blob::new(Vec::new())
}

pub struct InvokeEndpointResponse {
    pub body: Payload,
    pub content_type: Option<String>,
    pub invoked_production_variant: Option<String>,
    pub custom_attributes: Option<String>,
    pub new_session_id: Option<String>,
    pub closed_session_id: Option<String>,
    pub metadata: ResponseMetadata,
}

pub async fn invoke_endpoint(core: Arc<Core>, request: Request) -> Result<InvokeEndpointResponse, Error> {
    let sdk = core.sdk().await?;
    let send = sdk
        .invoke_endpoint()
        .endpoint_name(request.endpoint_name)
        .body(placeholder())
        .set_content_type(request.content_type)
        .set_accept(request.accept)
        .set_custom_attributes(request.custom_attributes)
        .set_target_model(request.target_model)
        .set_target_variant(request.target_variant)
        .set_target_container_hostname(request.target_container_hostname)
        .set_inference_id(request.inference_id)
        .set_enable_explanations(request.enable_explanations)
        .set_inference_component_name(request.inference_component_name)
        .set_session_id(request.session_id)
        .set_prefix_aware_id(request.prefix_aware_id)
        .send();
    // The SDK's future is about 24 KiB: boxed, it is not copied again each time ours is moved or spawned.
    let send = Box::pin(send);
    // With retry_sent_requests the SDK must read the body itself: a body cut off is then retried.
    let (result, metadata, taken) = if core.config.retry_sent_requests {
        let (result, metadata) = capture(send, request.body).await;
        (result, metadata, None)
    } else {
        capture_with_body(send, request.body).await
    };
    let output = result.map_err(|e| Error::from_sdk("InvokeEndpoint", e, metadata.clone()))?;
    let body = match taken {
        Some(body) => Payload::read(body, core.config.read_timeout(), &metadata.url).await?,
        None => Payload::from(output.body.map(Blob::into_inner).unwrap_or_default()),
    };
    Ok(InvokeEndpointResponse {
        body,
        content_type: output.content_type,
        invoked_production_variant: output.invoked_production_variant,
        custom_attributes: output.custom_attributes,
        new_session_id: output.new_session_id,
        closed_session_id: output.closed_session_id,
        metadata,
    })
}

pub struct InvokeStreamResponse {
    pub events: EventSource,
    pub content_type: Option<String>,
    pub invoked_production_variant: Option<String>,
    pub custom_attributes: Option<String>,
    pub metadata: ResponseMetadata,
}

pub async fn invoke_endpoint_with_response_stream(
    core: Arc<Core>,
    request: Request,
) -> Result<InvokeStreamResponse, Error> {
    let sdk = core.sdk().await?;
    let send = sdk
        .invoke_endpoint_with_response_stream()
        .endpoint_name(request.endpoint_name)
        .body(placeholder())
        .set_content_type(request.content_type)
        .set_accept(request.accept)
        .set_custom_attributes(request.custom_attributes)
        .set_target_variant(request.target_variant)
        .set_target_container_hostname(request.target_container_hostname)
        .set_inference_id(request.inference_id)
        .set_inference_component_name(request.inference_component_name)
        .set_session_id(request.session_id)
        .set_prefix_aware_id(request.prefix_aware_id)
        .send();
    // The SDK's future is about 24 KiB: boxed, it is not copied again each time ours is moved or spawned.
    let send = Box::pin(send);
    let (result, metadata) = capture(send, request.body).await;
    let output = result.map_err(|e| Error::from_sdk("InvokeEndpointWithResponseStream", e, metadata.clone()))?;
    Ok(InvokeStreamResponse {
        events: EventSource::new(output.body, metadata.url.clone(), core.config.read_timeout()),
        content_type: output.content_type,
        invoked_production_variant: output.invoked_production_variant,
        custom_attributes: output.custom_attributes,
        metadata,
    })
}

pub struct InvokeAsyncResponse {
    pub inference_id: Option<String>,
    pub output_location: Option<String>,
    pub failure_location: Option<String>,
    pub metadata: ResponseMetadata,
}

pub async fn invoke_endpoint_async(core: Arc<Core>, request: Request) -> Result<InvokeAsyncResponse, Error> {
    let sdk = core.sdk().await?;
    let send = sdk
        .invoke_endpoint_async()
        .endpoint_name(request.endpoint_name)
        .set_body(request.body.as_ref().map(|_| placeholder()))
        .set_content_type(request.content_type)
        .set_accept(request.accept)
        .set_custom_attributes(request.custom_attributes)
        .set_inference_id(request.inference_id)
        .set_input_location(request.input_location)
        .set_s3_output_path_extension(request.s3_output_path_extension)
        .set_filename(request.filename)
        .set_request_ttl_seconds(request.request_ttl_seconds)
        .set_invocation_timeout_seconds(request.invocation_timeout_seconds)
        .send();
    // The SDK's future is about 24 KiB: boxed, it is not copied again each time ours is moved or spawned.
    let send = Box::pin(send);
    let (result, metadata) = capture(send, request.body).await;
    let output = result.map_err(|e| Error::from_sdk("InvokeEndpointAsync", e, metadata.clone()))?;
    Ok(InvokeAsyncResponse {
        inference_id: output.inference_id,
        output_location: output.output_location,
        failure_location: output.failure_location,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    /// Each call's future is moved into a task or a pinned slot; the SDK's own future (~24 KiB) and the
    /// configuration loader must stay boxed, or every call copies them (measured: 5% of the async face).
    #[test]
    fn operation_futures_stay_small() {
        let core = super::Core::new(crate::config::ClientConfig::default());
        let call = super::invoke_endpoint(core.clone(), super::Request::default());
        assert!(std::mem::size_of_val(&call) < 4096, "{} bytes", std::mem::size_of_val(&call));
        let stream = super::invoke_endpoint_with_response_stream(core.clone(), super::Request::default());
        assert!(std::mem::size_of_val(&stream) < 4096, "{} bytes", std::mem::size_of_val(&stream));
        let inference = super::invoke_endpoint_async(core, super::Request::default());
        assert!(std::mem::size_of_val(&inference) < 4096, "{} bytes", std::mem::size_of_val(&inference));
    }
}
