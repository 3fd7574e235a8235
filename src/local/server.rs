//! The HTTP/1.1 server: accept loop, routing, request reading.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::faults::Faults;
use super::models::{self, Invocation, Registry};
use super::shards::Shards;
use super::sigv4::{self, KeyMap};
use super::wire::{self, Body, Reply};
use super::{async_inference, auth, streaming};

/// A client that connects and never finishes the TLS handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ServerState {
    pub registry: Registry,
    pub require_auth: bool,
    /// The folder that stands in for S3 (InvokeEndpointAsync input and output).
    pub s3_root: Arc<PathBuf>,
    pub faults: Arc<RwLock<Option<Arc<Faults>>>>,
    /// Strict mode when set: every request's SigV4 signature is verified with these keys.
    pub credentials: Arc<RwLock<Option<Arc<KeyMap>>>>,
    /// HTTPS when set.
    pub tls: Option<TlsAcceptor>,
    pub connections: Arc<Connections>,
}

/// What a load balancer in front of an endpoint does to connections, for tests of the client's pool.
#[derive(Default)]
pub struct Connections {
    /// TCP connections accepted so far.
    pub accepted: AtomicU64,
    /// TCP connections open now.
    pub open: AtomicU64,
    /// Bumped to close every idle keep-alive connection (requests in flight finish first).
    pub close_idle: watch::Sender<u64>,
}

/// Accepts until `shutdown` flips to true; each connection is served on a shard, which drops it when stopped.
pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shards: Arc<Shards>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                // Leaves this runtime's reactor, to be registered with the shard's: its readiness events then
                // wake the shard's thread directly.
                let Ok(stream) = stream.into_std() else { continue };
                state.connections.accepted.fetch_add(1, Ordering::Relaxed);
                let state = state.clone();
                shards.spawn(async move {
                    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else { return };
                    let _open = OpenConnection::new(state.connections.clone());
                    let tls = state.tls.clone();
                    let close_idle = state.connections.close_idle.subscribe();
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let mut http = http1::Builder::new();
                    http.keep_alive(true);
                    match tls {
                        Some(acceptor) => {
                            let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                            else {
                                return;
                            };
                            let connection = http.serve_connection(TokioIo::new(stream), service);
                            serve_until_closed(connection, close_idle).await;
                        }
                        None => {
                            let connection = http.serve_connection(TokioIo::new(stream), service);
                            serve_until_closed(connection, close_idle).await;
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Counts a connection as open for as long as its task lives.
struct OpenConnection(Arc<Connections>);

impl OpenConnection {
    fn new(connections: Arc<Connections>) -> Self {
        connections.open.fetch_add(1, Ordering::Relaxed);
        Self(connections)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one connection; when told to close idle connections, shuts it down gracefully (at once if idle).
async fn serve_until_closed<I, S>(connection: http1::Connection<I, S>, mut close_idle: watch::Receiver<u64>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = close_idle.changed() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
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

/// What the server does with a request: answer it, or (an injected fault) drop the connection.
enum Outcome {
    Reply(Reply),
    Reset,
}

async fn handle(state: ServerState, request: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
    match dispatch(state, request).await {
        Outcome::Reply(reply) => Ok(reply.into_response()),
        Outcome::Reset => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected connection reset")),
    }
}

fn service_error(status: StatusCode, code: &str, message: &str) -> Reply {
    wire::error(
        status,
        code,
        "http://internal.amazon.com/coral/com.amazon.sagemaker/",
        serde_json::json!({ "message": message }),
    )
}

/// Announces the full length, sends half, waits `stall` (holding the connection open), then breaks it.
fn truncated(reply: Reply, stall: Duration) -> Reply {
    let (sender, chunks) = tokio::sync::mpsc::channel(2);
    let half = reply.body.slice(..reply.body.len() / 2);
    let length = reply.body.len().to_string();
    let _ = sender.try_send(Ok(half));
    tokio::spawn(async move {
        tokio::time::sleep(stall).await;
        let cut = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "injected truncation");
        let _ = sender.send(Err(cut)).await;
    });
    let mut cut = Reply::streamed(reply.status, chunks);
    cut.headers = reply.headers;
    cut.header_owned("content-length", &length)
}

/// InvokeEndpoint through the fault plan, when faults are configured.
async fn invoke_with_faults(faults: &Faults, endpoint: Arc<models::Endpoint>, invocation: Invocation) -> Outcome {
    faults.record(invocation.header("x-amzn-sagemaker-inference-id"));
    let plan = faults.plan();
    if plan.service_unavailable {
        return Outcome::Reply(service_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "injected: service unavailable",
        ));
    }
    if plan.model_not_ready {
        return Outcome::Reply(service_error(
            StatusCode::TOO_MANY_REQUESTS,
            "ModelNotReadyException",
            "injected: model not ready",
        ));
    }
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    let reply = models::invoke(endpoint, invocation).await;
    if plan.reset {
        Outcome::Reset
    } else if plan.truncate {
        Outcome::Reply(truncated(reply, Duration::ZERO))
    } else if let Some(stall) = plan.stall {
        Outcome::Reply(truncated(reply, stall))
    } else {
        Outcome::Reply(reply)
    }
}

async fn dispatch(state: ServerState, request: Request<Incoming>) -> Outcome {
    let Some((operation, name)) = route(request.method(), request.uri().path()) else {
        return Outcome::Reply(unknown_operation());
    };
    // The body first: strict mode signs it again.
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Outcome::Reply(Reply::new(StatusCode::BAD_REQUEST, "request body could not be read")),
    };
    let keys = state.credentials.read().unwrap_or_else(|p| p.into_inner()).clone();
    let region = if state.require_auth || keys.is_some() {
        let scope = match auth::check(&parts.headers) {
            Ok(scope) => scope,
            Err(reply) => return Outcome::Reply(reply),
        };
        if let Some(keys) = keys {
            let received =
                sigv4::Received { method: &parts.method, uri: &parts.uri, headers: &parts.headers, body: &body };
            if let Err(reply) = sigv4::verify(&scope, &keys, &received, SystemTime::now()) {
                return Outcome::Reply(reply);
            }
        }
        scope.region
    } else {
        "us-east-1".to_owned()
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(key, value)| value.to_str().ok().map(|v| (key.as_str().to_owned(), v.to_owned())))
        .collect();
    let Some(endpoint) = state.registry.get(&name) else {
        return Outcome::Reply(wire::endpoint_not_found(&name));
    };
    let invocation = Invocation { endpoint: name, region, headers, body };
    let faults = state.faults.read().unwrap_or_else(|p| p.into_inner()).clone();
    Outcome::Reply(match (operation, faults) {
        (Operation::Invoke, Some(faults)) => return invoke_with_faults(&faults, endpoint, invocation).await,
        (Operation::Invoke, None) => models::invoke(endpoint, invocation).await,
        (Operation::InvokeWithResponseStream, _) => streaming::invoke(endpoint, invocation).await,
        (Operation::InvokeAsync, _) => async_inference::invoke(endpoint, invocation, state.s3_root.clone()).await,
    })
}
