//! The HTTP/1.1 server: accept loop, routing, request reading.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::models::{self, Invocation, Registry};
use super::wire::{self, Body, Reply};
use super::{async_inference, auth, streaming};

#[derive(Clone)]
pub struct ServerState {
    pub registry: Registry,
    pub require_auth: bool,
    /// The folder that stands in for S3 (InvokeEndpointAsync input and output).
    pub s3_root: Arc<PathBuf>,
}

/// Serves until `shutdown` flips to true; open connections are dropped with the runtime.
pub async fn serve(listener: TcpListener, state: ServerState, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

pub async fn bind(host: &str, port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((host, port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

enum Operation {
    Invoke,
    InvokeWithResponseStream,
    InvokeAsync,
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn route(method: &Method, path: &str) -> Option<(Operation, String)> {
    let rest = path.strip_prefix("/endpoints/")?;
    let (name, operation) = rest.rsplit_once('/')?;
    let name = percent_decode(name)?;
    let operation = match (method, operation) {
        (&Method::POST, "invocations") => Operation::Invoke,
        (&Method::POST, "invocations-response-stream") => Operation::InvokeWithResponseStream,
        (&Method::POST, "async-invocations") => Operation::InvokeAsync,
        _ => return None,
    };
    Some((operation, name))
}

fn unknown_operation() -> Reply {
    wire::error(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "http://internal.amazon.com/coral/com.amazon.coral.service/",
        serde_json::json!({ "message": null }),
    )
}

async fn handle(state: ServerState, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(dispatch(state, request).await.into_response())
}

async fn dispatch(state: ServerState, request: Request<Incoming>) -> Reply {
    let Some((operation, name)) = route(request.method(), request.uri().path()) else {
        return unknown_operation();
    };
    let region = if state.require_auth {
        match auth::check(request.headers()) {
            Ok(scope) => scope.region,
            Err(reply) => return reply,
        }
    } else {
        "us-east-1".to_owned()
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(key, value)| value.to_str().ok().map(|v| (key.as_str().to_owned(), v.to_owned())))
        .collect();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Reply::new(StatusCode::BAD_REQUEST, "request body could not be read"),
    };
    let Some(endpoint) = state.registry.get(&name) else {
        return wire::endpoint_not_found(&name);
    };
    let invocation = Invocation { endpoint: name, region, headers, body };
    match operation {
        Operation::Invoke => models::invoke(endpoint, invocation).await,
        Operation::InvokeWithResponseStream => streaming::invoke(endpoint, invocation).await,
        Operation::InvokeAsync => async_inference::invoke(endpoint, invocation, state.s3_root.clone()).await,
    }
}
