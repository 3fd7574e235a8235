//! A response body read as the chunks that arrived, copied once, into the Python `bytes` handed to the user.

use std::time::Duration;

use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body_util::BodyExt;
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

    pub fn to_py_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if let [single] = self.0.as_slice() {
            return Ok(PyBytes::new(py, single));
        }
        PyBytes::new_with(py, self.len(), |buffer| {
            let mut offset = 0;
            for chunk in &self.0 {
                buffer[offset..offset + chunk.len()].copy_from_slice(chunk);
                offset += chunk.len();
            }
            Ok(())
        })
    }
}
