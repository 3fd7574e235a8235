"""invoke_endpoint_many: concurrent calls, lazy inputs, input order, per-item errors, progress, Ctrl-C."""

from __future__ import annotations

import _thread
import asyncio
import itertools
import threading
import time

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import Echo


def test_results_in_input_order(client):
    requests = [{"EndpointName": "echo", "Body": b"%d" % i, "CustomAttributes": f"i={i}"} for i in range(500)]
    results = client.invoke_endpoint_many(requests, max_concurrency=32)
    assert [r["Body"].read() for r in results] == [b"%d" % i for i in range(500)]
    assert [r["CustomAttributes"] for r in results] == [f"i={i}" for i in range(500)]


def test_calls_run_concurrently(client):
    started = time.monotonic()
    results = client.invoke_endpoint_many([{"EndpointName": "slow", "Body": b"x"}] * 8, max_concurrency=8)
    assert len(results) == 8
    assert time.monotonic() - started < 4, "eight 1 s calls at concurrency 8 ran one after another"


def test_generator_input_is_consumed_lazily(client):
    pulled = 0

    def requests():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield {"EndpointName": "echo", "Body": b"%d" % i}

    limited = itertools.islice(requests(), 1000)
    assert len(client.invoke_endpoint_many(limited, max_concurrency=16)) == 1000
    assert pulled == 1000

    pulled = 0

    def failing_after_some():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield {"EndpointName": "echo" if i < 100 else "missing", "Body": b"x"}

    with pytest.raises(exceptions.ValidationError):
        client.invoke_endpoint_many(failing_after_some(), max_concurrency=8)
    assert pulled < 200, f"the batch pulled {pulled} requests from an endless generator"


def test_generator_runs_on_the_calling_thread(client, tmp_path):
    """Requests may come from thread-bound objects, such as a sqlite cursor (usable only where it was made)."""
    import sqlite3

    database = sqlite3.connect(tmp_path / "requests.db")
    database.execute("create table inputs (payload blob)")
    database.executemany("insert into inputs values (?)", [(f"row {i}".encode(),) for i in range(300)])
    cursor = database.execute("select payload from inputs order by rowid")
    requests = ({"EndpointName": "echo", "Body": payload} for (payload,) in cursor)
    results = client.invoke_endpoint_many(requests, max_concurrency=16)
    assert [r["Body"].read() for r in results] == [f"row {i}".encode() for i in range(300)]


def test_per_item_errors_returned_or_raised(client, server):
    requests = [
        {"EndpointName": "echo", "Body": b"ok"},
        {"EndpointName": "failing", "Body": b"{}"},
        {"EndpointName": "echo"},
        {"EndpointName": "nope", "Body": b""},
    ]
    results = client.invoke_endpoint_many(requests, return_exceptions=True)
    assert results[0]["Body"].read() == b"ok"
    assert type(results[1]) is exceptions.ModelError and results[1].response["OriginalStatusCode"] == 400
    assert type(results[2]) is exceptions.ParamValidationError
    assert type(results[3]) is exceptions.ValidationError
    with pytest.raises(exceptions.ModelError):
        client.invoke_endpoint_many(requests[:2])
    with pytest.raises(exceptions.ParamValidationError):
        client.invoke_endpoint_many([{"EndpointName": "echo"}])


def test_bad_inputs(client):
    with pytest.raises(TypeError, match="keyword-argument dicts"):
        client.invoke_endpoint_many([("echo", b"x")])
    with pytest.raises(TypeError):
        client.invoke_endpoint_many(5)
    with pytest.raises(ValueError, match="max_concurrency"):
        client.invoke_endpoint_many([], max_concurrency=0)
    assert client.invoke_endpoint_many([]) == []


def test_progress_bar(client, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)  # the fallback line, tqdm or not
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)
    client.invoke_endpoint_many([{"EndpointName": "echo", "Body": b"x"}] * 50, progress=True)
    assert "invoke_endpoint_many: 50/50 calls" in capsys.readouterr().err


def test_async_batch(server):
    async def main():
        client = smr.AsyncClient(**server.client_kwargs())
        results = await client.invoke_endpoint_many(
            ({"EndpointName": "echo", "Body": b"%d" % i} for i in range(300)), max_concurrency=64
        )
        return [await r["Body"].read() for r in results]

    assert asyncio.run(main()) == [b"%d" % i for i in range(300)]


def test_ctrl_c_stops_a_batch_promptly(client, server):
    server.add_endpoint("batch-slow", Echo(delay=30.0))
    try:
        timer = threading.Timer(0.5, _thread.interrupt_main)
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            client.invoke_endpoint_many(
                [{"EndpointName": "batch-slow", "Body": b"x"}] * 20, max_concurrency=4
            )
        timer.join()
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while server.disconnects("batch-slow") < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.disconnects("batch-slow") == 4, "in-flight calls were not aborted"
        assert server.invocations("batch-slow") == 4, "calls were started after the interrupt"
    finally:
        server.remove_endpoint("batch-slow")
