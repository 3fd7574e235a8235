//! A response body read as the chunks that arrived, copied once, into the Python `bytes` handed to the user.

use std::time::Duration;

use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::BodyExt;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Error;

#[derive(Debug, Default)]
pub struct Payload(Vec<Bytes>);

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self(vec![Bytes::from(bytes)])
    }
}

impl Payload {
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// Reads `body` to its end. `read_timeout` bounds each wait for more data, as a socket timeout does in
    /// botocore; a connection that breaks off is `ConnectionClosedError`, as when the SDK reads the body.
    pub async fn read(mut body: SdkBody, read_timeout: Duration, url: &str) -> Result<Self, Error> {
        let mut chunks = Vec::new();
        loop {
            let frame = tokio::time::timeout(read_timeout, body.frame())
                .await
                .map_err(|_| Error::ReadTimeout { url: url.to_owned() })?;
            match frame {
                None => return Ok(Self(chunks)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            chunks.push(data);
                        }
                    }
                }
                Some(Err(_)) => return Err(Error::ConnectionClosed { url: url.to_owned() }),
            }
        }
    }

    /// The payload as one `bytes` object: the one copy of the response. Large payloads are copied with the
    /// GIL released, into a buffer nobody else can see yet.
    pub fn to_py_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if let [single] = self.0.as_slice() {
            if single.len() < COPY_DETACHED_FROM {
                return Ok(PyBytes::new(py, single));
            }
        }
        let len = self.len();
        let size = ffi::Py_ssize_t::try_from(len)
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("response body too large"))?;
        // PyBytes::new_with would zero the buffer first; every byte is written below.
        // SAFETY: a NULL source asks CPython for an uninitialized buffer of `size` bytes; the result is checked.
        let bytes =
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), size))? };
        // SAFETY: `bytes` is a new bytes object of `len` bytes that only this function holds.
        let buffer = unsafe { ffi::PyBytes_AsString(bytes.as_ptr()) };
        if buffer.is_null() {
            return Err(PyErr::fetch(py));
        }
        let target = Target(buffer.cast::<u8>());
        let fill = move || {
            let mut offset = 0;
            for chunk in &self.0 {
                // SAFETY: the chunks sum to `len`, the size of the buffer behind `target`, so every write lands
                // inside it; the object is kept alive by `bytes` and not yet shared.
                unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), target.at(offset), chunk.len()) };
                offset += chunk.len();
            }
        };
        if len < COPY_DETACHED_FROM {
            fill();
        } else {
            py.detach(fill);
        }
        Ok(bytes.cast_into::<PyBytes>()?)
    }
}

/// From this size on the copy into `bytes` runs with the GIL released, so other threads run meanwhile.
const COPY_DETACHED_FROM: usize = 256 * 1024;

/// The buffer of a bytes object under construction, written from a detached thread.
struct Target(*mut u8);

// SAFETY: the buffer belongs to an object no other thread can reach until it is returned.
unsafe impl Send for Target {}

impl Target {
    /// # Safety
    /// `offset` must lie inside the buffer.
    unsafe fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: as the caller promises.
        unsafe { self.0.add(offset) }
    }
}
