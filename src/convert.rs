//! Results crossing into Python: one conversion, done under the GIL by whoever holds it (the sync face after
//! block_on, or the event loop thread when the asyncio bridge resolves the future).

use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use crate::errors::Error;

pub trait ToPython {
    fn to_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>>;
}

/// An operation's outcome; converting it raises the mapped exception for an error.
pub struct Converted<T>(pub Result<T, Error>);

impl<T: ToPython> Converted<T> {
    pub fn into_bound(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self.0 {
            Ok(value) => value.to_python(py),
            Err(error) => Err(error.into_pyerr(py)),
        }
    }
}

impl<'py, T: ToPython> IntoPyObject<'py> for Converted<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.into_bound(py)
    }
}

/// An awaitable that is already complete (for `async with` on objects that need no I/O to enter or exit).
#[pyclass(module = "sagemaker_runtime_rs", frozen)]
pub struct Ready {
    value: Py<PyAny>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<()> {
        Err(PyStopIteration::new_err((self.value.clone_ref(py),)))
    }
}

pub fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(Bound::new(py, Ready { value: value.unbind() })?.into_any())
}
