use pyo3::prelude::*;

mod body;
mod client;
mod config;
mod errors;
mod local;
mod metadata;
mod operations;
mod request;
mod response;
mod runtime;

/// Large payloads: glibc's allocator page-faults on every fresh 1 MiB buffer (PERF-NOTES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::PyClient>()?;
    m.add_class::<body::PyStreamingBody>()?;
    m.add_class::<body::ChunkIterator>()?;
    m.add_class::<local::PyLocalServer>()?;
    Ok(())
}
