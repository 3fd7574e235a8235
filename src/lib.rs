use pyo3::prelude::*;

mod async_client;
mod asyncio_bridge;
mod batch;
mod bench;
mod body;
mod client;
mod config;
mod convert;
mod errors;
mod event_stream;
mod http_client;
mod insecure;
mod lines;
mod local;
mod metadata;
mod operations;
mod payload;
mod request;
mod response;
mod retry;
mod runtime;
mod thread_runtime;
mod user_agent;

/// Large payloads: glibc's allocator page-faults on every fresh 1 MiB buffer (PERF-NOTES.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let version = m.py().version_info();
    user_agent::set_python_version(format!("{}.{}.{}", version.major, version.minor, version.patch));
    m.add_class::<client::PyClient>()?;
    m.add_class::<async_client::PyAsyncClient>()?;
    m.add_class::<event_stream::PyEventStream>()?;
    m.add_class::<event_stream::PyAsyncEventStream>()?;
    m.add_class::<event_stream::PyStreamIterator>()?;
    m.add_class::<convert::Ready>()?;
    m.add_class::<asyncio_bridge::LoopBridge>()?;
    m.add_class::<asyncio_bridge::CancelOnDone>()?;
    m.add_function(wrap_pyfunction!(bench::_build_profile, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_raw_http, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_sdk, m)?)?;
    m.add_class::<body::PyStreamingBody>()?;
    m.add_class::<body::ChunkIterator>()?;
    m.add_class::<local::PyLocalServer>()?;
    Ok(())
}
