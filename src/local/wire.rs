//! Response builders speaking SageMaker Runtime's wire format (headers, JSON error bodies).

use std::sync::atomic::{AtomicU64, Ordering};

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

/// Chunks of a streamed body; an `Err` cuts the connection mid-body.
pub type Chunks = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// A response body: whole (with Content-Length) or streamed as produced (chunked).
pub enum Body {
    Full(Option<Bytes>),
    Stream(Chunks),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(chunks) => chunks.poll_recv(cx).map(|chunk| chunk.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

pub const ACCOUNT_ID: &str = "123456789012";

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A request id shaped like AWS's (8-4-4-4-12 hex), unique within the process.
pub fn request_id() -> String {
    let seed = *SEED;
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = splitmix(seed ^ n);
    let more = splitmix(mixed);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (mixed >> 32) as u32,
        (mixed >> 16) as u16,
        mixed as u16,
        (more >> 48) as u16,
        more & 0xffff_ffff_ffff
    )
}

static SEED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
});

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// When set, the body is streamed from here instead.
    pub stream: Option<Chunks>,
}

impl Reply {
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), stream: None }
    }

    pub fn streamed(status: StatusCode, chunks: Chunks) -> Self {
        Self { status, headers: Vec::new(), body: Bytes::new(), stream: Some(chunks) }
    }

    /// Adds a header; a value that HTTP cannot carry is dropped rather than sent corrupt.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), value));
        }
        self
    }

    pub fn header_owned(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            self.headers.push((name, value));
        }
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let body = match self.stream {
            Some(chunks) => Body::Stream(chunks),
            None => Body::Full(Some(self.body)),
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Ok(id) = HeaderValue::from_str(&request_id()) {
            headers.insert(HeaderName::from_static("x-amzn-requestid"), id);
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// An AWS JSON error: `x-amzn-ErrorType` names the code, the body carries the message and modeled fields.
pub fn error(status: StatusCode, code: &str, namespace: &str, body: serde_json::Value) -> Reply {
    Reply::new(status, serde_json::to_vec(&body).unwrap_or_default())
        .header_owned("x-amzn-ErrorType", &format!("{code}:{namespace}"))
        .header_owned(CONTENT_TYPE.as_str(), "application/json")
}

/// What SageMaker answers for an endpoint name the account does not have.
pub fn endpoint_not_found(name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "http://internal.amazon.com/coral/com.amazon.coral.validate/",
        serde_json::json!({ "message": format!("Endpoint {name} of account {ACCOUNT_ID} not found.") }),
    )
}

/// What SageMaker answers when the model container returns an error status (424 ModelError).
pub fn model_error(endpoint: &str, region: &str, original_status: u16, original_message: &str) -> Reply {
    let side = if original_status < 500 { "client" } else { "server" };
    let log_group = format!("/aws/sagemaker/Endpoints/{endpoint}");
    let message = format!(
        "Received {side} error ({original_status}) from primary with message \"{original_message}\". See \
         https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={log_group} \
         in account {ACCOUNT_ID} for more information."
    );
    error(
        StatusCode::FAILED_DEPENDENCY,
        "ModelError",
        "http://internal.amazon.com/coral/com.amazon.sagemaker/",
        serde_json::json!({
            "ErrorCode": if original_status < 500 { "CLIENT_ERROR_FROM_MODEL" } else { "SERVER_ERROR_FROM_MODEL" },
            "LogStreamArn": format!("arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{log_group}"),
            "Message": message,
            "OriginalMessage": original_message,
            "OriginalStatusCode": original_status,
        }),
    )
}
