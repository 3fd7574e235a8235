"""Benchmarks: sagemaker_runtime_rs against boto3 and aiobotocore, on one local SageMaker Runtime server.

Usage (from the repository root, after ``maturin develop --release`` and ``pip install ".[bench]"``)::

    python benches/bench.py                     # full run: 5 runs per figure, about 4 minutes on 2 cores
    python benches/bench.py --quick             # a smoke run, under a minute; figures are rough
    python benches/bench.py --runs 9            # more runs per figure
    python benches/bench.py --json out.json     # also write every figure (each run, not only medians)
    python benches/bench.py --markdown          # also print the tables as Markdown, for the README

It builds nothing and measures whatever ``sagemaker_runtime_rs`` is installed; it warns when that is not a
release build, because a debug build is many times slower and its figures mean nothing.

What it measures, all over loopback (127.0.0.1) against ``python -m sagemaker_runtime_rs serve`` running in its own
process (so the server's CPU is not charged to the client's process, though both share the machine's cores):

* Throughput, calls/s, for payloads of 100 B, 64 KiB and 1 MiB. Each call is
  ``invoke_endpoint(EndpointName="echo", Body=payload, ContentType="application/octet-stream")`` and reads the
  whole ``Body``; every echoed length is checked, so a broken client cannot look fast. Rows: boto3 on 1 and 8
  threads sharing one client; aiobotocore at concurrency 8 and 64; our ``Client`` on 1 and 8 threads; our
  ``AsyncClient`` at concurrency 8 and 64; our ``invoke_endpoint_many`` batch (max_concurrency=64); the same
  signed calls driven from Rust with no Python (``_core._bench_sdk``, the batch's target); the raw HTTP
  baseline ``_core._bench_raw_http`` (unsigned POSTs to a second, ``--no-auth`` server; its bodies are not
  checked here) at concurrency 1 and 64. Rows the installed build lacks show "n/a".
  Each figure is calibrated once (a warm-up that also sizes the call count so one measurement takes about
  1.2 s, 0.2 s with ``--quick``), then measured ``--runs`` times with that fixed call count. Runs are
  interleaved (run 1 of every row, then run 2, ...) so drift of the machine hits every row alike. The table
  shows the median calls/s and the median of the per-run ratios against the baseline measured in the same
  run: sync rows against boto3 with the same thread count, async rows against aiobotocore with the same
  concurrency, the batch against aiobotocore at 64, raw HTTP at 1 / 64 against boto3 1 thread / aiobotocore 64.
* Startup, each figure in a fresh interpreter (median of several): import time, first client construction,
  resident memory growth (VmRSS) after import + client, and CPU per call (``time.process_time`` over a
  sequential 100 B loop, all threads of the process) for ours, ours with botocore hidden (an import hook makes
  it look uninstalled, as on an install without boto3) and boto3.
* Response streaming, sequential, ours and boto3: events/s and median time to first event of
  ``invoke_endpoint_with_response_stream`` on the echo endpoint, which streams a 256-word body back as 256
  PayloadPart events (checked); see ``measure_response_stream`` to measure another streaming model.

Compare ratios, not absolute figures, across machines or sessions: the same machine drifts by up to 30%.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import platform
import re
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

import sagemaker_runtime_rs
from sagemaker_runtime_rs import _core
from sagemaker_runtime_rs.local import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

ENDPOINT = "echo"
ECHO_PATH = f"/endpoints/{ENDPOINT}/invocations"
# Response streaming (see measure_response_stream): echo streams a body back as one event per word.
STREAM_ENDPOINT = ENDPOINT
STREAM_EVENTS = 256
STREAM_BODY = b"token " * STREAM_EVENTS
PAYLOADS = {"100 B": 100, "64 KiB": 64 * 1024, "1 MiB": 1024 * 1024}
SERVER_START_TIMEOUT_S = 30.0

Invoke = Callable[[bytes], int]  # one call; returns the length of the echoed body
AsyncInvoke = Callable[[bytes], Awaitable[int]]
# Makes `calls` calls with `payload`; returns the seconds elapsed when it timed itself, else None.
Runner = Callable[[bytes, int], Optional[float]]


class Unavailable(Exception):
    """The installed packages lack what a workload needs; its row shows n/a with this reason."""


@dataclass(frozen=True)
class Settings:
    runs: int
    target_s: float  # how long one measurement should take
    warmup_s: float  # the calibration keeps calling until one batch takes this long
    probe_repeats: int  # fresh interpreters per startup figure
    probe_calls: int  # calls in the CPU-per-call loop
    stream_calls: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        if args.quick:
            return cls(args.runs or 3, 0.2, 0.05, 3, 200, 10)
        return cls(args.runs or 5, 1.2, 0.25, 5, 1000, 50)


# --- the local server ----------------------------------------------------------------------------------------


@contextmanager
def local_server(*flags: str) -> Iterator[str]:
    """Runs `python -m sagemaker_runtime_rs serve` in its own process; yields its URL; SIGTERMs it on exit."""
    command = [sys.executable, "-m", "sagemaker_runtime_rs", "serve", "--host", "127.0.0.1", "--port", "0"]
    # Its own session: Ctrl-C reaches only us, and the finally below is the one place that stops it.
    process = subprocess.Popen(
        [*command, "--endpoint", ENDPOINT, *flags], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        yield _server_url(process)
    finally:
        _stop(process)


def _server_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], SERVER_START_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    # Only ever loopback: refuse anything else the server might print.
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if match is None:
        raise RuntimeError(f"the local server did not start (exit code {process.poll()}, printed {line!r})")
    return match.group(0)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def client_kwargs(url: str) -> dict[str, Any]:
    return {
        "endpoint_url": url,
        "region_name": LOCAL_REGION,
        "aws_access_key_id": LOCAL_ACCESS_KEY_ID,
        "aws_secret_access_key": LOCAL_SECRET_ACCESS_KEY,
    }


def call_kwargs(payload: bytes) -> dict[str, Any]:
    return {"EndpointName": ENDPOINT, "Body": payload, "ContentType": "application/octet-stream"}


def _expect(length: int, payload: bytes) -> None:
    if length != len(payload):
        raise RuntimeError(f"the server echoed {length} bytes for a {len(payload)}-byte body")


async def _close(client: Any) -> None:
    """Closes a client whose close() may be sync or async (or absent, in builds that have none)."""
    result = getattr(client, "close", lambda: None)()
    if inspect.isawaitable(result):
        await result


# --- clients: each yields an Invoke (sync) or AsyncInvoke (async) bound to one client -------------------------


@contextmanager
def boto3_client(url: str, pool: int) -> Iterator[Invoke]:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as error:
        raise Unavailable(f"boto3 is not installed ({error})") from error
    client = boto3.client("sagemaker-runtime", config=Config(max_pool_connections=pool), **client_kwargs(url))
    try:
        yield lambda payload: len(client.invoke_endpoint(**call_kwargs(payload))["Body"].read())
    finally:
        client.close()


@contextmanager
def ours_client(url: str, pool: int) -> Iterator[Invoke]:
    config = sagemaker_runtime_rs.Config(max_pool_connections=pool)
    with sagemaker_runtime_rs.Client(config=config, **client_kwargs(url)) as client:
        yield lambda payload: len(client.invoke_endpoint(**call_kwargs(payload))["Body"].read())


@asynccontextmanager
async def aiobotocore_client(url: str, pool: int) -> AsyncIterator[AsyncInvoke]:
    try:
        from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
        from aiobotocore.session import get_session  # type: ignore[import-untyped]
    except ImportError as error:
        raise Unavailable(f"aiobotocore is not installed ({error})") from error
    config = AioConfig(max_pool_connections=pool)  # the pool caps concurrency in aiohttp: size it to match
    async with get_session().create_client(
        "sagemaker-runtime", config=config, **client_kwargs(url)
    ) as client:

        async def invoke(payload: bytes) -> int:
            response = await client.invoke_endpoint(**call_kwargs(payload))
            async with response["Body"] as body:
                return len(await body.read())

        yield invoke


@asynccontextmanager
async def ours_async_client(url: str, pool: int) -> AsyncIterator[AsyncInvoke]:
    cls = getattr(sagemaker_runtime_rs, "AsyncClient", None)
    if cls is None:
        raise Unavailable("sagemaker_runtime_rs.AsyncClient is not in this build")
    client = cls(config=sagemaker_runtime_rs.Config(max_pool_connections=pool), **client_kwargs(url))

    async def invoke(payload: bytes) -> int:
        response = await client.invoke_endpoint(**call_kwargs(payload))
        return len(await response["Body"].read())

    try:
        yield invoke
    finally:
        await _close(client)


# --- drivers: turn a client into a Runner ------------------------------------------------------------------


def _split(calls: int, lanes: int) -> list[int]:
    """`calls` shared as evenly as possible between `lanes` threads or tasks."""
    return [share for i in range(lanes) if (share := calls // lanes + (i < calls % lanes))]


def _loop(invoke: Invoke, payload: bytes, calls: int) -> None:
    for _ in range(calls):
        _expect(invoke(payload), payload)


@contextmanager
def threaded(invoke: Invoke, threads: int) -> Iterator[Runner]:
    """`threads` threads sharing one client; a single thread runs inline, with no hand-off to time."""
    if threads == 1:
        yield lambda payload, calls: _loop(invoke, payload, calls)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="bench") as pool:

        def run(payload: bytes, calls: int) -> None:
            futures = [pool.submit(_loop, invoke, payload, share) for share in _split(calls, threads)]
            for future in futures:
                future.result()

        yield run


@contextmanager
def gathered(
    client: Callable[[str, int], AbstractAsyncContextManager[AsyncInvoke]], url: str, concurrency: int
) -> Iterator[Runner]:
    """`concurrency` tasks sharing one client on an event loop of its own, kept for the whole benchmark
    (async clients are bound to the loop they were created on)."""
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        invoke = loop.run_until_complete(stack.enter_async_context(client(url, concurrency)))

        async def lane(payload: bytes, calls: int) -> None:
            for _ in range(calls):
                _expect(await invoke(payload), payload)

        async def lanes(payload: bytes, calls: int) -> None:
            await asyncio.gather(*(lane(payload, share) for share in _split(calls, concurrency)))

        yield lambda payload, calls: loop.run_until_complete(lanes(payload, calls))
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


# --- workloads: what each row runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    label: str
    lanes: int  # calls in flight: threads or concurrency
    baseline: str | None  # label of the row its ratio divides by
    open: Callable[[str], AbstractContextManager[Runner]]  # given the server URL


def sync_rows(label: str, client: Callable[[str, int], AbstractContextManager[Invoke]]) -> list[Workload]:
    @contextmanager
    def open_(url: str, threads: int) -> Iterator[Runner]:
        # boto3 logs "Connection pool is full" with 8 threads and its default pool of 10; give both 16.
        with client(url, 16) as invoke, threaded(invoke, threads) as runner:
            yield runner

    return [
        Workload(f"{label}, 1 thread", 1, "boto3, 1 thread", partial(open_, threads=1)),
        Workload(f"{label}, 8 threads", 8, "boto3, 8 threads", partial(open_, threads=8)),
    ]


def async_rows(
    label: str, client: Callable[[str, int], AbstractAsyncContextManager[AsyncInvoke]]
) -> list[Workload]:
    return [
        Workload(
            f"{label}, concurrency {n}",
            n,
            f"aiobotocore, concurrency {n}",
            partial(gathered, client, concurrency=n),
        )
        for n in (8, 64)
    ]


@contextmanager
def ours_batch(url: str, concurrency: int) -> Iterator[Runner]:
    with sagemaker_runtime_rs.Client(**client_kwargs(url)) as client:
        many = getattr(client, "invoke_endpoint_many", None)
        if many is None:
            raise Unavailable("Client.invoke_endpoint_many is not in this build")

        def run(payload: bytes, calls: int) -> None:
            for response in many((call_kwargs(payload) for _ in range(calls)), max_concurrency=concurrency):
                _expect(len(response["Body"].read()), payload)

        yield run


@contextmanager
def raw_http(_signed_url: str, concurrency: int) -> Iterator[Runner]:
    """The machine's limit: unsigned POSTs from Rust, to a server of its own started with --no-auth (the signed
    server would answer 403)."""
    bench = getattr(_core, "_bench_raw_http", None)
    if bench is None:
        raise Unavailable("_core._bench_raw_http is not in this build")
    with local_server("--no-auth") as raw_url:
        yield lambda payload, calls: bench(raw_url, ECHO_PATH, payload, calls, concurrency)


@contextmanager
def rust_sdk(url: str, concurrency: int) -> Iterator[Runner]:
    """The same signed calls driven from Rust with no Python in the loop: what the batch call aims at."""
    bench = getattr(_core, "_bench_sdk", None)
    if bench is None:
        raise Unavailable("_core._bench_sdk is not in this build")
    key, secret = LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
    yield lambda payload, calls: bench(url, key, secret, payload, calls, concurrency)


WORKLOADS: list[Workload] = [
    *sync_rows("boto3", boto3_client),
    *async_rows("aiobotocore", aiobotocore_client),
    *sync_rows("ours Client", ours_client),
    *async_rows("ours AsyncClient", ours_async_client),
    Workload(
        "ours invoke_endpoint_many, 64",
        64,
        "aiobotocore, concurrency 64",
        partial(ours_batch, concurrency=64),
    ),
    Workload(
        "Rust SDK alone, concurrency 64", 64, "aiobotocore, concurrency 64", partial(rust_sdk, concurrency=64)
    ),
    Workload("raw HTTP, concurrency 1", 1, "boto3, 1 thread", partial(raw_http, concurrency=1)),
    Workload(
        "raw HTTP, concurrency 64", 64, "aiobotocore, concurrency 64", partial(raw_http, concurrency=64)
    ),
]


# --- the harness: one for every workload ---------------------------------------------------------------------


@dataclass
class Cell:
    """One figure: a workload at a payload size."""

    workload: str
    payload: str
    baseline: str | None
    calls: int = 0
    rates: list[float] = field(default_factory=list)  # calls/s, one per run
    ratios: list[float] = field(default_factory=list)  # against the baseline's rate in the same run
    unavailable: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None


def _timed(runner: Runner, payload: bytes, calls: int) -> float:
    start = time.perf_counter()
    own = runner(payload, calls)
    return own if own is not None else time.perf_counter() - start


def calibrate(runner: Runner, payload: bytes, lanes: int, settings: Settings) -> int:
    """Warms up (connections, credentials, caches), then times ever larger batches until one takes warmup_s and
    sizes a measurement from its rate. The first batch only warms up: it pays for the cold start."""
    calls = 2 * lanes
    _timed(runner, payload, calls)
    elapsed = _timed(runner, payload, calls)
    while elapsed < settings.warmup_s:
        calls *= min(16, max(2, math.ceil(settings.warmup_s / max(elapsed, 1e-6))))
        elapsed = _timed(runner, payload, calls)
    return max(2 * lanes, round(calls / elapsed * settings.target_s))


def measure(runner: Runner, payload: bytes, lanes: int, calls: int) -> float:
    """calls/s over `calls` calls, after one call per lane to reopen connections idle since the last run."""
    _timed(runner, payload, lanes)
    return calls / _timed(runner, payload, calls)


def measure_throughput(url: str, settings: Settings) -> list[Cell]:
    cells = [Cell(w.label, p, w.baseline) for p in PAYLOADS for w in WORKLOADS]
    payloads = {name: os.urandom(size) for name, size in PAYLOADS.items()}
    with ExitStack() as stack:
        runners = _open_all(stack, url, cells)
        live = [
            (cell, runners[cell.workload], payloads[cell.payload]) for cell in cells if not cell.unavailable
        ]
        lanes = {w.label: w.lanes for w in WORKLOADS}
        for cell, runner, payload in live:
            cell.calls = calibrate(runner, payload, lanes[cell.workload], settings)
            _progress(f"calibrated {cell.workload} @ {cell.payload}: {cell.calls} calls per run")
        for run in range(settings.runs):
            for cell, runner, payload in live:
                cell.rates.append(measure(runner, payload, lanes[cell.workload], cell.calls))
            _progress(f"run {run + 1}/{settings.runs} done")
    _add_ratios(cells)
    return cells


def _open_all(stack: ExitStack, url: str, cells: list[Cell]) -> dict[str, Runner]:
    """Opens every workload once, for the whole benchmark; marks the cells of those that cannot open."""
    runners: dict[str, Runner] = {}
    for workload in WORKLOADS:
        try:
            runners[workload.label] = stack.enter_context(workload.open(url))
        except Unavailable as error:
            for cell in cells:
                if cell.workload == workload.label:
                    cell.unavailable = str(error)
    return runners


def _add_ratios(cells: list[Cell]) -> None:
    by_key = {(cell.workload, cell.payload): cell for cell in cells}
    for cell in cells:
        if cell.baseline is None or cell.baseline == cell.workload:  # a baseline is not compared with itself
            continue
        base = by_key.get((cell.baseline, cell.payload))
        if base is not None and base.rates and cell.rates:
            cell.ratios = [mine / theirs for mine, theirs in zip(cell.rates, base.rates)]


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- startup, memory and CPU per call, each in a fresh interpreter -------------------------------------------

# Runs with `python -c`: this file's own imports (asyncio, json, ...) would otherwise be preloaded and make
# the imports being measured look cheaper. argv: variant, url, key id, secret, region, calls.
_PROBE = """
import sys, time

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

variant, url, key_id, secret, region, calls = sys.argv[1:7]
if variant == "ours-no-botocore":
    class HideBotocore:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "botocore":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, HideBotocore())
kwargs = dict(endpoint_url=url, region_name=region, aws_access_key_id=key_id, aws_secret_access_key=secret)
rss_before = rss_kib()
start = time.perf_counter()
if variant == "boto3":
    import boto3
    imported = time.perf_counter()
    client = boto3.client("sagemaker-runtime", **kwargs)
else:
    import sagemaker_runtime_rs
    imported = time.perf_counter()
    client = sagemaker_runtime_rs.Client(**kwargs)
constructed = time.perf_counter()
rss_after = rss_kib()
body = b"x" * 100
def loop(n):
    for _ in range(n):
        if len(client.invoke_endpoint(EndpointName="echo", Body=body)["Body"].read()) != 100:
            raise RuntimeError("wrong echo length")
loop(20)
cpu = time.process_time()
loop(int(calls))
cpu = time.process_time() - cpu
import json
print(json.dumps({
    "import_ms": (imported - start) * 1e3,
    "client_ms": (constructed - imported) * 1e3,
    "rss_mib": (rss_after - rss_before) / 1024,
    "cpu_us": cpu / int(calls) * 1e6,
    "botocore_loaded": "botocore" in sys.modules,
}))
"""

PROBE_VARIANTS = {
    "ours": "sagemaker_runtime_rs",
    "ours-no-botocore": "ours, botocore hidden",
    "boto3": "boto3",
}
PROBE_METRICS = {
    "import_ms": "import (ms)",
    "client_ms": "first client (ms)",
    "rss_mib": "RSS growth, import + client (MiB)",
    "cpu_us": "CPU per call, 100 B sequential (us)",
}


def _probe(variant: str, url: str, calls: int) -> dict[str, Any]:
    argv = [variant, url, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, LOCAL_REGION, str(calls)]
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"probe failed: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_startup(url: str, settings: Settings) -> dict[str, dict[str, Any]]:
    """Medians per variant; the variants take turns, so drift hits them alike."""
    samples: dict[str, list[dict[str, Any]]] = {variant: [] for variant in PROBE_VARIANTS}
    for repeat in range(settings.probe_repeats):
        for variant in PROBE_VARIANTS:
            samples[variant].append(_probe(variant, url, settings.probe_calls))
        _progress(f"startup probes {repeat + 1}/{settings.probe_repeats} done")
    return {variant: _summarize(runs) for variant, runs in samples.items()}


def _summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [run["error"] for run in runs if "error" in run]
    if errors:
        return {"error": errors[0], "runs": runs}
    summary: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in PROBE_METRICS}
    summary["botocore_loaded"] = runs[0]["botocore_loaded"]
    summary["runs"] = runs
    return summary


# --- response streaming --------------------------------------------------------------------------------------


def measure_response_stream(url: str, settings: Settings) -> dict[str, Any]:
    """Events/s and time to first event of invoke_endpoint_with_response_stream, ours and boto3's, sequential.

    The built-in echo model streams the body back one word per PayloadPart event, so STREAM_BODY makes
    STREAM_EVENTS events a call. To measure another streaming model, serve it (``local_server(...)`` takes extra
    flags) and point STREAM_ENDPOINT and STREAM_BODY at it."""
    ours = sagemaker_runtime_rs.Client(**client_kwargs(url))
    if not hasattr(ours, "invoke_endpoint_with_response_stream"):
        return {"unavailable": "Client.invoke_endpoint_with_response_stream is not in this build"}
    try:
        import boto3
    except ImportError:
        return {"ours": _stream_or_reason(ours, settings)}
    theirs = boto3.client("sagemaker-runtime", **client_kwargs(url))
    return {"ours": _stream_or_reason(ours, settings), "boto3": _stream_or_reason(theirs, settings)}


def _stream_or_reason(client: Any, settings: Settings) -> dict[str, Any]:
    try:
        return _stream_figures(client, settings)
    except Exception as error:  # e.g. the local server cannot stream yet: say why, keep the other figures
        return {"unavailable": f"{type(error).__name__}: {error}"}


def _stream_figures(client: Any, settings: Settings) -> dict[str, float]:
    _stream_once(client)  # warm-up: the connection and the credentials
    timings = [_stream_once(client) for _ in range(settings.stream_calls)]
    return {
        "events_per_s": STREAM_EVENTS * len(timings) / sum(total for _, total in timings),
        "first_event_ms": statistics.median(first for first, _ in timings) * 1e3,
    }


def _stream_once(client: Any) -> tuple[float, float]:
    """One streamed call: (seconds to the first event, seconds to the last)."""
    start = time.perf_counter()
    response = client.invoke_endpoint_with_response_stream(
        EndpointName=STREAM_ENDPOINT, Body=STREAM_BODY, ContentType="text/plain"
    )
    parts: list[bytes] = []
    first = 0.0
    for event in response["Body"]:
        if not parts:
            first = time.perf_counter() - start
        parts.append(event["PayloadPart"]["Bytes"])
    total = time.perf_counter() - start
    # As for invoke_endpoint: a client that drops or merges events must not look fast.
    if len(parts) != STREAM_EVENTS or b"".join(parts) != STREAM_BODY:
        raise RuntimeError(f"expected {STREAM_EVENTS} events echoing the body, got {len(parts)}")
    return first, total


# --- the report ----------------------------------------------------------------------------------------------


@dataclass
class Report:
    machine: dict[str, Any]
    command: str
    build_profile: str
    settings: Settings
    throughput: list[Cell]
    startup: dict[str, dict[str, Any]]
    response_stream: dict[str, Any]


def build_profile() -> str:
    return str(getattr(_core, "_build_profile", lambda: "unknown")())


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine skews the figures (sequential calls most): recorded before measuring.
        "load_average_1min": os.getloadavg()[0],
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("sagemaker-runtime-rs", "boto3", "botocore", "aiobotocore"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    """Plain text with aligned columns, or a Markdown table; the first column is left-aligned."""
    if markdown:
        lines = [headers, [":---", *["---:"] * (len(headers) - 1)], *rows]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:]))]).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def _throughput_rows(cells: list[Cell]) -> list[list[str]]:
    by_key = {(cell.workload, cell.payload): cell for cell in cells}
    rows = []
    for workload in WORKLOADS:
        row = [workload.label]
        for payload in PAYLOADS:
            cell = by_key[(workload.label, payload)]
            rate, ratio = cell.median, cell.ratio
            row += [
                f"{rate:,.0f}" if rate is not None else "n/a",
                f"{ratio:.2f}x" if ratio is not None else "",
            ]
        rows.append(row)
    return rows


def _startup_rows(startup: dict[str, dict[str, Any]]) -> list[list[str]]:
    formats = {"import_ms": "{:.1f}", "client_ms": "{:.2f}", "rss_mib": "{:.1f}", "cpu_us": "{:.0f}"}
    return [
        [label, *(formats[key].format(s[key]) if key in s else "n/a" for s in startup.values())]
        for key, label in PROBE_METRICS.items()
    ]


def _notes(report: Report) -> list[str]:
    notes = []
    for cell in report.throughput:
        note = f"{cell.workload}: n/a ({cell.unavailable})"
        if cell.unavailable and note not in notes:
            notes.append(note)
    for variant, summary in report.startup.items():
        if "error" in summary:
            notes.append(f"startup, {PROBE_VARIANTS[variant]}: n/a ({summary['error']})")
    hidden = report.startup.get("ours-no-botocore", {})
    if hidden.get("botocore_loaded"):
        notes.append("startup, ours with botocore hidden: botocore got imported anyway; figures include it")
    return notes


def _stream_line(stream: dict[str, Any]) -> str:
    if "unavailable" in stream:
        return f"Response streaming: n/a ({stream['unavailable']})"
    parts = [
        f"{who}: n/a ({f['unavailable']})"
        if "unavailable" in f
        else f"{who} {f['events_per_s']:,.0f} events/s, first event after {f['first_event_ms']:.2f} ms (median)"
        for who, f in stream.items()
    ]
    return f"Response streaming, {STREAM_EVENTS} events a call, sequential: " + "; ".join(parts)


def render(report: Report, markdown: bool) -> str:
    m = report.machine
    warning = {"release": "", "unknown": " (may not be a release build)"}.get(
        report.build_profile, " (NOT a release build: figures are meaningless)"
    )
    header = (
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, load {m['load_average_1min']:.2f}, Python {m['python']}; "
        "sagemaker-runtime-rs "
        f"{m['versions']['sagemaker-runtime-rs']}, build profile {report.build_profile}{warning}; "
        f"boto3 {m['versions']['boto3']}, aiobotocore {m['versions']['aiobotocore']}"
    )
    command = f"`{report.command}`" if markdown else report.command
    runs = report.settings.runs
    sizes = [f"{name}{suffix}" for name in PAYLOADS for suffix in (" calls/s", " vs")]
    parts = [
        header,
        f"Command: {command}",
        "",
        f"Throughput, median of {runs} runs; vs = median per-run ratio to boto3 (sync rows, same threads) "
        "or aiobotocore (async rows, same concurrency)",
        "",
        _table(["workload", *sizes], _throughput_rows(report.throughput), markdown),
        "",
        f"Startup and cost per call, fresh interpreter each, median of {report.settings.probe_repeats}",
        "",
        _table(["", *PROBE_VARIANTS.values()], _startup_rows(report.startup), markdown),
        "",
        _stream_line(report.response_stream),
    ]
    notes = _notes(report)
    if notes:
        parts += ["", *(f"- {note}" if markdown else f"note: {note}" for note in notes)]
    return "\n".join(parts)


def _as_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["throughput"] = [{**asdict(c), "median": c.median, "ratio": c.ratio} for c in report.throughput]
    return data


# --- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short measurements, 3 runs: a smoke test")
    parser.add_argument("--runs", type=int, help="runs per figure (default 5, 3 with --quick)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure to PATH")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.from_args(args)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # boto3 would otherwise ask the instance metadata service for credentials or a region: not loopback.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    profile = build_profile()
    if profile != "release":
        shown = "an unknown build profile" if profile == "unknown" else f"a {profile} build"
        print(
            f"WARNING: sagemaker_runtime_rs is {shown}, not release: run `maturin develop --release`.",
            file=sys.stderr,
        )
    host = machine()
    with local_server() as url:
        print(f"local server at {url}; measuring (progress on stderr)", flush=True)
        startup = measure_startup(url, settings)
        stream = measure_response_stream(url, settings)
        throughput = measure_throughput(url, settings)
    command = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(["python", __file__, *argv])
    report = Report(host, command, profile, settings, throughput, startup, stream)
    print("\n" + render(report, markdown=False))
    if args.markdown:
        print("\n" + render(report, markdown=True))
    if args.json:
        args.json.write_text(json.dumps(_as_json(report), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers are already stopped; a traceback would only hide that
        print("interrupted", file=sys.stderr)
        sys.exit(130)
