//! boto3 keyword arguments -> request data, validated before anything is sent, with botocore's messages.

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString, PyTuple};

use crate::errors::Error;

/// InvokeEndpoint's payload limit; larger payloads go through InvokeEndpointAsync (input from S3).
pub const MAX_REALTIME_BODY: usize = 6_291_456;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Blob,
    Str,
    Int,
}

pub struct Member {
    pub name: &'static str,
    pub kind: Kind,
    /// Minimum length (strings) or value (integers), as botocore checks it.
    pub min: i64,
    /// Sent as an HTTP header: control characters would split or corrupt the request.
    pub header: bool,
}

pub struct Shape {
    pub method: &'static str,
    pub required: &'static [&'static str],
    pub members: &'static [Member],
    /// The payload limit of the operation and what to do beyond it.
    pub max_body: usize,
    pub max_body_hint: &'static str,
}

const fn header(name: &'static str, min: i64) -> Member {
    Member { name, kind: Kind::Str, min, header: true }
}

const ENDPOINT_NAME: Member = Member { name: "EndpointName", kind: Kind::Str, min: 1, header: false };
const BODY: Member = Member { name: "Body", kind: Kind::Blob, min: 0, header: false };
const REALTIME_HINT: &str =
    "the real-time inference payload limit); send larger payloads with invoke_endpoint_async, which reads its input from S3";

pub const INVOKE_ENDPOINT: Shape = Shape {
    method: "invoke_endpoint",
    required: &["EndpointName", "Body"],
    members: &[
        ENDPOINT_NAME,
        BODY,
        header("ContentType", 0),
        header("Accept", 0),
        header("CustomAttributes", 0),
        header("TargetModel", 1),
        header("TargetVariant", 0),
        header("TargetContainerHostname", 0),
        header("InferenceId", 1),
        header("EnableExplanations", 1),
        header("InferenceComponentName", 0),
        header("SessionId", 0),
        header("PrefixAwareId", 1),
    ],
    max_body: MAX_REALTIME_BODY,
    max_body_hint: REALTIME_HINT,
};

pub const INVOKE_ENDPOINT_WITH_RESPONSE_STREAM: Shape = Shape {
    method: "invoke_endpoint_with_response_stream",
    required: &["EndpointName", "Body"],
    members: &[
        ENDPOINT_NAME,
        BODY,
        header("ContentType", 0),
        header("Accept", 0),
        header("CustomAttributes", 0),
        header("TargetVariant", 0),
        header("TargetContainerHostname", 0),
        header("InferenceId", 1),
        header("InferenceComponentName", 0),
        header("SessionId", 0),
        header("PrefixAwareId", 1),
    ],
    max_body: MAX_REALTIME_BODY,
    max_body_hint: REALTIME_HINT,
};

/// InvokeEndpointAsync's inline payload limit.
pub const MAX_ASYNC_INLINE_BODY: usize = 128_000;

pub const INVOKE_ENDPOINT_ASYNC: Shape = Shape {
    method: "invoke_endpoint_async",
    required: &["EndpointName"],
    members: &[
        ENDPOINT_NAME,
        header("ContentType", 0),
        header("Accept", 0),
        header("CustomAttributes", 0),
        header("InferenceId", 1),
        header("InputLocation", 1),
        header("S3OutputPathExtension", 1),
        header("Filename", 1),
        Member { name: "RequestTTLSeconds", kind: Kind::Int, min: 60, header: true },
        Member { name: "InvocationTimeoutSeconds", kind: Kind::Int, min: 1, header: true },
        BODY,
    ],
    max_body: MAX_ASYNC_INLINE_BODY,
    max_body_hint: "the InvokeEndpointAsync inline payload limit); upload larger payloads to S3 and pass InputLocation",
};

pub enum Value {
    Blob(Bytes),
    Str(String),
    Int(i32),
}

/// Validated arguments, one slot per member of the shape.
pub struct Params {
    values: Vec<Option<Value>>,
    shape: &'static Shape,
}

impl Params {
    fn index(&self, name: &str) -> usize {
        self.shape.members.iter().position(|m| m.name == name).unwrap_or(usize::MAX)
    }

    pub fn take_str(&mut self, name: &str) -> Option<String> {
        let index = self.index(name);
        match self.values.get_mut(index).and_then(Option::take) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn take_int(&mut self, name: &str) -> Option<i32> {
        let index = self.index(name);
        match self.values.get_mut(index).and_then(Option::take) {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        }
    }

    pub fn take_blob(&mut self, name: &str) -> Option<Bytes> {
        let index = self.index(name);
        match self.values.get_mut(index).and_then(Option::take) {
            Some(Value::Blob(b)) => Some(b),
            _ => None,
        }
    }
}

fn type_repr(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(value.get_type().str()?.to_string())
}

fn invalid_type(name: &str, value: &Bound<'_, PyAny>, valid: &str) -> PyResult<String> {
    Ok(format!(
        "Invalid type for parameter {name}, value: {}, type: {}, valid types: {valid}",
        value.str()?,
        type_repr(value)?
    ))
}

/// Payloads from this size on are sent from the caller's `bytes` object itself instead of a copy.
const BORROW_FROM: usize = 16 * 1024;

/// A `bytes` object's buffer, held alive by a reference to it. `bytes` is immutable and its buffer never
/// moves, so it can be read (hashed for SigV4, written to the socket) with the GIL released. Dropped without
/// the GIL, the reference is released by PyO3 at the next attach.
struct BorrowedBytes {
    _owner: Py<PyBytes>,
    data: *const u8,
    len: usize,
}

// SAFETY: `data` points into the immutable buffer of `_owner`, which this value keeps alive; nothing writes it.
unsafe impl Send for BorrowedBytes {}
// SAFETY: as for Send; shared access is read-only.
unsafe impl Sync for BorrowedBytes {}

impl AsRef<[u8]> for BorrowedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see the Send impl; `len` is the object's size, read with the GIL held.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

/// A bytes object's content: copied when small (cheaper than holding a reference), borrowed when large.
fn bytes_payload(value: &Bound<'_, PyBytes>) -> Bytes {
    let data = value.as_bytes();
    if data.len() < BORROW_FROM {
        return Bytes::copy_from_slice(data);
    }
    Bytes::from_owner(BorrowedBytes { data: data.as_ptr(), len: data.len(), _owner: value.clone().unbind() })
}

/// bytes, bytearray, str (UTF-8), any buffer (memoryview, array, numpy), or a file-like object with read().
/// `Ok(None)` means the type is not accepted. Mutable buffers are copied: the caller may change them while
/// the request is sent.
fn extract_blob(py: Python<'_>, value: &Bound<'_, PyAny>, allow_file: bool) -> PyResult<Option<Bytes>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Some(bytes_payload(bytes)));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(Some(Bytes::from(array.to_vec())));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Some(Bytes::copy_from_slice(text.to_cow()?.as_bytes())));
    }
    if allow_file && value.hasattr("read")? {
        let content = value.call_method0("read")?;
        return match extract_blob(py, &content, false)? {
            Some(data) => Ok(Some(data)),
            None => Err(PyTypeError::new_err(format!(
                "Body.read() must return bytes or str, not {}",
                content.get_type().name()?
            ))),
        };
    }
    let builtins = py.import("builtins")?;
    match builtins.getattr("memoryview")?.call1((value,)) {
        Ok(view) => {
            // bytes(view) is a fresh copy that nobody else holds: send from it.
            let flat = builtins.getattr("bytes")?.call1((view,))?;
            Ok(Some(bytes_payload(flat.cast::<PyBytes>()?)))
        }
        Err(_) => Ok(None),
    }
}

/// The first character an HTTP header value cannot carry (control characters other than tab).
pub fn header_problem(text: &str) -> Option<char> {
    text.chars().find(|c| (c.is_control() && *c != '\t') || *c == '\u{7f}')
}

/// One argument: its value, or the line botocore would report for it.
fn validate_member(
    py: Python<'_>,
    shape: &Shape,
    member: &Member,
    value: &Bound<'_, PyAny>,
) -> PyResult<Result<Value, String>> {
    Ok(match member.kind {
        Kind::Blob => match extract_blob(py, value, true)? {
            Some(data) if member.name == "Body" && data.len() > shape.max_body => Err(format!(
                "Invalid length for parameter Body, value: {} bytes, valid max length: {} bytes ({}",
                data.len(),
                shape.max_body,
                shape.max_body_hint
            )),
            Some(data) => Ok(Value::Blob(data)),
            None => Err(invalid_type(member.name, value, "<class 'bytes'>, <class 'bytearray'>, file-like object")?),
        },
        Kind::Str => match value.cast::<PyString>() {
            Ok(text) => {
                let text = text.to_cow()?.into_owned();
                let length = text.chars().count() as i64;
                if length < member.min {
                    Err(format!(
                        "Invalid length for parameter {}, value: {length}, valid min length: {}",
                        member.name, member.min
                    ))
                } else if let Some(bad) = header_problem(&text).filter(|_| member.header) {
                    Err(format!(
                        "Invalid value for parameter {}: {:?} contains the control character {:?}, \
                         which an HTTP header cannot carry",
                        member.name, text, bad
                    ))
                } else {
                    Ok(Value::Str(text))
                }
            }
            Err(_) => Err(invalid_type(member.name, value, "<class 'str'>")?),
        },
        Kind::Int => match value.cast::<pyo3::types::PyInt>() {
            Ok(number) => match number.extract::<i64>() {
                Ok(n) if n < member.min => Err(format!(
                    "Invalid value for parameter {}, value: {n}, valid min value: {}",
                    member.name, member.min
                )),
                Ok(n) => match i32::try_from(n) {
                    Ok(n) => Ok(Value::Int(n)),
                    Err(_) => Err(format!(
                        "Invalid value for parameter {}, value: {n}, valid max value: {}",
                        member.name,
                        i32::MAX
                    )),
                },
                Err(_) => {
                    Err(format!("Invalid value for parameter {}, value: {}, out of range", member.name, value.str()?))
                }
            },
            Err(_) => Err(invalid_type(member.name, value, "<class 'int'>")?),
        },
    })
}

/// Validates keyword arguments against `shape` and collects every problem into one ParamValidationError,
/// in botocore's order: missing required members, then each given argument in turn.
pub fn parse(
    py: Python<'_>,
    shape: &'static Shape,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Params> {
    if !args.is_empty() {
        return Err(PyTypeError::new_err(format!("{}() only accepts keyword arguments.", shape.method)));
    }
    let mut report: Vec<String> = Vec::new();
    let mut values: Vec<Option<Value>> = shape.members.iter().map(|_| None).collect();
    for required in shape.required {
        if !kwargs.is_some_and(|k| k.contains(*required).unwrap_or(false)) {
            report.push(format!("Missing required parameter in input: \"{required}\""));
        }
    }
    // botocore reports every unknown name first, then validates the known ones in the order given.
    let mut known = Vec::new();
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let name: String = key.extract()?;
            match shape.members.iter().position(|m| m.name == name) {
                Some(index) => known.push((index, value)),
                None => {
                    let valid: Vec<&str> = shape.members.iter().map(|m| m.name).collect();
                    report
                        .push(format!("Unknown parameter in input: \"{name}\", must be one of: {}", valid.join(", ")));
                }
            }
        }
    }
    for (index, value) in known {
        let member = &shape.members[index];
        match validate_member(py, shape, member, &value)? {
            Ok(parsed) => values[index] = Some(parsed),
            Err(problem) => report.push(problem),
        }
    }
    if report.is_empty() {
        Ok(Params { values, shape })
    } else {
        Err(Error::ParamValidation(report.join("\n")).into_pyerr(py))
    }
}
