//! InvokeEndpointWithResponseStream on the local server: PayloadPart events as the model produces them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};
use tokio::sync::{mpsc, oneshot};

use super::events;
use super::models::{Endpoint, Invocation, Model};
use super::wire::{model_error, Reply};

/// Frames in flight between the model and the socket; a slow reader stalls the model, as backpressure should.
const CHANNEL_DEPTH: usize = 16;

type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

fn stream_reply(
    content_type: &str,
    custom_attributes: Option<&str>,
    variant: &str,
    chunks: super::wire::Chunks,
) -> Reply {
    let mut reply = Reply::streamed(StatusCode::OK, chunks)
        .header("content-type", "application/vnd.amazon.eventstream")
        .header("x-amzn-sagemaker-content-type", content_type)
        .header("x-amzn-invoked-production-variant", variant);
    if let Some(attributes) = custom_attributes {
        reply = reply.header("x-amzn-sagemaker-custom-attributes", attributes);
    }
    reply
}

/// Splits text into word-like tokens that keep their trailing whitespace ("a b" -> "a ", "b").
fn tokens(body: &[u8]) -> Vec<Bytes> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (index, byte) in body.iter().enumerate() {
        let space = byte.is_ascii_whitespace();
        if in_space && !space {
            parts.push(Bytes::copy_from_slice(&body[start..index]));
            start = index;
        }
        in_space = space;
    }
    if start < body.len() {
        parts.push(Bytes::copy_from_slice(&body[start..]));
    }
    parts
}

pub async fn invoke(endpoint: Arc<Endpoint>, invocation: Invocation) -> Reply {
    endpoint.invocations.fetch_add(1, Ordering::Relaxed);
    let variant = invocation.header("x-amzn-sagemaker-target-variant").unwrap_or("AllTraffic").to_owned();
    let (sender, chunks) = mpsc::channel(CHANNEL_DEPTH);
    match &endpoint.model {
        Model::Echo { delay } => {
            let content_type = invocation.header("content-type").unwrap_or("application/octet-stream").to_owned();
            let attributes = invocation.header("x-amzn-sagemaker-custom-attributes").map(str::to_owned);
            let delay = *delay;
            let parts = tokens(&invocation.body);
            let endpoint = endpoint.clone();
            tokio::spawn(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                for part in parts {
                    if sender.send(Ok(events::payload_part(part))).await.is_err() {
                        endpoint.disconnects.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            });
            stream_reply(&content_type, attributes.as_deref(), &variant, chunks)
        }
        Model::Python(callable) => {
            let callable = Python::attach(|py| callable.clone_ref(py));
            let (head_sender, head) = oneshot::channel();
            let name = invocation.endpoint.clone();
            let region = invocation.region.clone();
            let endpoint = endpoint.clone();
            tokio::task::spawn_blocking(move || run_python(&endpoint, &callable, &invocation, head_sender, &sender));
            match head.await {
                Ok(Head::Stream { content_type, custom_attributes }) => {
                    stream_reply(&content_type, custom_attributes.as_deref(), &variant, chunks)
                }
                Ok(Head::Reply(reply)) => reply,
                Ok(Head::Failed(message)) => model_error(&name, &region, 500, &message),
                Err(_) => model_error(&name, &region, 500, "the model's stream ended before it started"),
            }
        }
    }
}

enum Head {
    Stream { content_type: String, custom_attributes: Option<String> },
    Reply(Reply),
    Failed(String),
}

/// On a blocking thread: starts the model, reports how the response begins, then pumps its parts. The GIL is
/// taken per step, so the model's own sleeps and the rest of Python run in between.
fn run_python(
    endpoint: &Endpoint,
    callable: &Py<PyAny>,
    invocation: &Invocation,
    head: oneshot::Sender<Head>,
    sender: &Sender,
) {
    let started = Python::attach(|py| start(py, callable, invocation));
    let stepper = match started {
        Ok((first, stepper)) => {
            let _ = head.send(first);
            match stepper {
                Some(stepper) => stepper,
                None => return,
            }
        }
        Err(error) => {
            let _ = head.send(Head::Failed(format!("local model adapter failed: {error}")));
            return;
        }
    };
    loop {
        let step = Python::attach(|py| -> PyResult<Option<Frame>> {
            let step = stepper.bind(py).call_method0("step")?;
            let step = step.cast::<PyTuple>()?;
            let kind: String = step.get_item(0)?.extract()?;
            let bytes_at = |index: usize| -> PyResult<Bytes> {
                Ok(Bytes::copy_from_slice(step.get_item(index)?.cast::<PyBytes>()?.as_bytes()))
            };
            Ok(match kind.as_str() {
                "part" => Some(Frame::Data(events::payload_part(bytes_at(1)?))),
                "event" => Some(Frame::Data(events::event(&step.get_item(1)?.extract::<String>()?, bytes_at(2)?))),
                "corrupt" => Some(Frame::Data(events::corrupt_part(bytes_at(1)?))),
                "error" => {
                    let exception_type: String = step.get_item(1)?.extract()?;
                    let message: String = step.get_item(2)?.extract()?;
                    let error_code: Option<String> = step.get_item(3)?.extract()?;
                    Some(Frame::Last(events::exception(&exception_type, &message, error_code.as_deref())))
                }
                "cut" => Some(Frame::Cut),
                _ => None,
            })
        });
        let outcome = match step {
            Ok(Some(Frame::Data(frame))) => sender.blocking_send(Ok(frame)).map(|_| true),
            Ok(Some(Frame::Last(frame))) => sender.blocking_send(Ok(frame)).map(|_| false),
            Ok(Some(Frame::Cut)) => {
                // The parts before the cut must reach the client: hyper drops its write buffer on a body error.
                while sender.capacity() < sender.max_capacity() && !sender.is_closed() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                let _ = sender.blocking_send(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut")));
                Ok(false)
            }
            Ok(None) => Ok(false),
            Err(error) => {
                let frame = events::exception(
                    "ModelStreamError",
                    &format!("local model adapter failed: {error}"),
                    Some("StreamBroken"),
                );
                sender.blocking_send(Ok(frame)).map(|_| false)
            }
        };
        match outcome {
            Ok(true) => continue,
            Ok(false) => break,
            Err(_) => {
                endpoint.disconnects.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    Python::attach(|py| {
        let _ = stepper.bind(py).call_method0("close");
    });
}

enum Frame {
    Data(Bytes),
    Last(Bytes),
    Cut,
}

/// Calls `_start_stream(model, body, headers)`: ("stream", content_type, custom_attributes, stepper),
/// ("error", status, message) for a ModelError, or ("service", status, body, headers) for a service failure.
fn start(py: Python<'_>, callable: &Py<PyAny>, invocation: &Invocation) -> PyResult<(Head, Option<Py<PyAny>>)> {
    let headers = PyDict::new(py);
    for (name, value) in &invocation.headers {
        headers.set_item(name, value)?;
    }
    let body = PyBytes::new(py, &invocation.body);
    let local = py.import("sagemaker_runtime_rs.local")?;
    let started = local.getattr("_start_stream")?.call1((callable.bind(py), body, headers))?;
    let started = started.cast::<PyTuple>()?;
    let kind: String = started.get_item(0)?.extract()?;
    match kind.as_str() {
        "stream" => Ok((
            Head::Stream {
                content_type: started.get_item(1)?.extract()?,
                custom_attributes: started.get_item(2)?.extract()?,
            },
            Some(started.get_item(3)?.unbind()),
        )),
        "error" => {
            let status: u16 = started.get_item(1)?.extract()?;
            let message: String = started.get_item(2)?.extract()?;
            Ok((Head::Reply(model_error(&invocation.endpoint, &invocation.region, status, &message)), None))
        }
        _ => {
            let status: u16 = started.get_item(1)?.extract()?;
            let payload = Bytes::copy_from_slice(started.get_item(2)?.cast::<PyBytes>()?.as_bytes());
            let extra: std::collections::HashMap<String, String> = started.get_item(3)?.extract()?;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut reply = Reply::new(status, payload).header("content-type", "application/json");
            for (name, value) in extra {
                reply = reply.header_owned(&name, &value);
            }
            Ok((Head::Reply(reply), None))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_keep_whitespace() {
        let parts: Vec<Vec<u8>> = super::tokens(b"hello  big world\n").into_iter().map(|b| b.to_vec()).collect();
        assert_eq!(parts, vec![b"hello  ".to_vec(), b"big ".to_vec(), b"world\n".to_vec()]);
    }
}
