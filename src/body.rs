//! StreamingBody: botocore's response body interface over a payload already received in full.

use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

const DEFAULT_CHUNK_SIZE: usize = 1024;

struct Cursor {
    position: usize,
    closed: bool,
}

/// The `Body` of an invoke_endpoint response. `read()` returns `bytes`; the whole payload is in memory, so
/// reading it all at once returns the received object without another copy.
#[pyclass(name = "StreamingBody", module = "sagemaker_runtime_rs", frozen)]
pub struct PyStreamingBody {
    data: Py<PyBytes>,
    cursor: Mutex<Cursor>,
}

impl PyStreamingBody {
    pub fn new(data: Py<PyBytes>) -> Self {
        Self { data, cursor: Mutex::new(Cursor { position: 0, closed: false }) }
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.cursor.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes up to `amt` bytes (all that remain for None) and advances.
    fn take<'py>(&self, py: Python<'py>, amt: Option<usize>) -> Bound<'py, PyBytes> {
        let data = self.data.bind(py);
        let all = data.as_bytes();
        let mut cursor = self.cursor();
        let start = cursor.position.min(all.len());
        let end = match amt {
            Some(n) => start.saturating_add(n).min(all.len()),
            None => all.len(),
        };
        cursor.position = end;
        if start == 0 && end == all.len() {
            return data.clone();
        }
        PyBytes::new(py, &all[start..end])
    }

    fn remaining<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.take(py, None)
    }
}

#[pymethods]
impl PyStreamingBody {
    /// Reads at most `amt` bytes, or everything that remains.
    #[pyo3(signature = (amt=None))]
    fn read<'py>(&self, py: Python<'py>, amt: Option<i64>) -> Bound<'py, PyBytes> {
        let amt = amt.and_then(|n| usize::try_from(n).ok());
        self.take(py, amt)
    }

    /// Reads into a writable buffer; returns the number of bytes written.
    fn readinto(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let view = py.import("builtins")?.getattr("memoryview")?.call1((buffer,))?.call_method1("cast", ("B",))?;
        let capacity: usize = view.len()?;
        let chunk = self.take(py, Some(capacity));
        let written = chunk.as_bytes().len();
        let target = view.get_item(pyo3::types::PySlice::new(py, 0, written as isize, 1))?;
        target.call_method1("__setitem__", (pyo3::types::PySlice::full(py), chunk))?;
        Ok(written)
    }

    /// The remaining lines, each ending in b"\n" (the last one may not), as io.IOBase.readlines() returns them.
    fn readlines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rest = self.remaining(py);
        let bytes = rest.as_bytes();
        let lines = PyList::empty(py);
        let mut start = 0;
        for (index, byte) in bytes.iter().enumerate() {
            if *byte == b'\n' {
                lines.append(PyBytes::new(py, &bytes[start..=index]))?;
                start = index + 1;
            }
        }
        if start < bytes.len() {
            lines.append(PyBytes::new(py, &bytes[start..]))?;
        }
        Ok(lines)
    }

    fn readable(&self) -> bool {
        !self.cursor().closed
    }

    fn tell(&self) -> usize {
        self.cursor().position
    }

    fn close(&self) {
        self.cursor().closed = true;
    }

    #[getter]
    fn closed(&self) -> bool {
        self.cursor().closed
    }

    /// Lines split as bytes.splitlines() splits them (botocore's iter_lines), without line ends unless `keepends`.
    #[pyo3(signature = (chunk_size=1024, keepends=false))]
    fn iter_lines<'py>(&self, py: Python<'py>, chunk_size: usize, keepends: bool) -> PyResult<Bound<'py, PyAny>> {
        check_chunk_size(chunk_size)?;
        let lines = self.remaining(py).call_method1("splitlines", (keepends,))?;
        lines.try_iter().map(Bound::into_any)
    }

    /// Successive chunks of at most `chunk_size` bytes.
    #[pyo3(signature = (chunk_size=1024))]
    fn iter_chunks(slf: Bound<'_, Self>, chunk_size: usize) -> PyResult<ChunkIterator> {
        check_chunk_size(chunk_size)?;
        Ok(ChunkIterator { body: slf.unbind(), chunk_size })
    }

    fn __iter__(slf: Bound<'_, Self>) -> PyResult<ChunkIterator> {
        Self::iter_chunks(slf, DEFAULT_CHUNK_SIZE)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let cursor = self.cursor();
        format!("<StreamingBody: {} bytes, position {}>", self.data.bind(py).as_bytes().len(), cursor.position)
    }
}

fn check_chunk_size(chunk_size: usize) -> PyResult<()> {
    if chunk_size == 0 {
        return Err(PyValueError::new_err("chunk_size must be at least 1"));
    }
    Ok(())
}

#[pyclass(module = "sagemaker_runtime_rs", frozen)]
pub struct ChunkIterator {
    body: Py<PyStreamingBody>,
    chunk_size: usize,
}

#[pymethods]
impl ChunkIterator {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        let chunk = self.body.get().take(py, Some(self.chunk_size));
        if chunk.as_bytes().is_empty() {
            None
        } else {
            Some(chunk)
        }
    }
}
