//! boto3 keyword arguments -> request data, validated before anything is sent, with botocore's messages.

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
    Blob(Vec<u8>),
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

    pub fn take_blob(&mut self, name: &str) -> Option<Vec<u8>> {
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

/// Copies a bytes object's content. Large payloads are copied with the GIL released: `bytes` is immutable and
/// `value` keeps it alive, so its buffer cannot change or move meanwhile.
fn copy_bytes(py: Python<'_>, value: &Bound<'_, PyBytes>) -> Vec<u8> {
    let data = value.as_bytes();
    if data.len() < 256 * 1024 {
        return data.to_vec();
    }
    struct Borrowed<'a>(&'a [u8]);
    // SAFETY (Send): the slice points into an immutable bytes object held alive by `value` for this scope.
    unsafe impl Send for Borrowed<'_> {}
    let borrowed = Borrowed(data);
    py.detach(move || {
        let Borrowed(slice) = borrowed;
        slice.to_vec()
    })
}

/// bytes, bytearray, str (UTF-8), any buffer (memoryview, array, numpy), or a file-like object with read().
/// `Ok(None)` means the type is not accepted.
fn extract_blob(py: Python<'_>, value: &Bound<'_, PyAny>, allow_file: bool) -> PyResult<Option<Vec<u8>>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Some(copy_bytes(py, bytes)));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(Some(array.to_vec()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Some(text.to_cow()?.as_bytes().to_vec()));
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
            let flat = builtins.getattr("bytes")?.call1((view,))?;
            Ok(Some(flat.cast::<PyBytes>()?.as_bytes().to_vec()))
        }
        Err(_) => Ok(None),
    }
}

fn header_problem(text: &str) -> Option<char> {
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
