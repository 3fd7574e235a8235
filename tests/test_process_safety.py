"""Ctrl-C, fork and pickle: the client in notebooks, worker pools and multiprocessing."""

from __future__ import annotations

import _thread
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import sagemaker_runtime_rs as smr
from conftest import wait_for
from sagemaker_runtime_rs.local import Echo


@pytest.fixture(scope="module")
def very_slow(server):
    server.add_endpoint("very-slow", Echo(delay=30.0))
    yield "very-slow"
    server.remove_endpoint("very-slow")


def test_interrupt_main_stops_a_blocking_call(client, server, very_slow):
    before = server.disconnects(very_slow)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        client.invoke_endpoint(EndpointName=very_slow, Body=b"x")
    elapsed = time.monotonic() - started
    timer.join()
    assert elapsed < 5, f"KeyboardInterrupt took {elapsed:.1f} s to arrive during a 30 s call"
    assert wait_for(lambda: server.disconnects(very_slow) > before), "the interrupted request was not aborted"
    assert client.invoke_endpoint(EndpointName="echo", Body=b"after")["Body"].read() == b"after"


def test_interrupt_main_stops_reading_a_stream(client, server):
    server.add_endpoint("drip", lambda body, headers: (time.sleep(0.05) or b"." for _ in range(10_000)))
    try:
        body = client.invoke_endpoint_with_response_stream(EndpointName="drip", Body=b"")["Body"]
        timer = threading.Timer(0.3, _thread.interrupt_main)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            for _ in body:
                pass
        timer.join()
        body.close()
        assert wait_for(lambda: server.disconnects("drip") > 0)
    finally:
        server.remove_endpoint("drip")


CHILD = textwrap.dedent(
    """
    import sys, time
    from sagemaker_runtime_rs.local import Echo, LocalServer

    with LocalServer({"slow": Echo(delay=30.0), "echo": Echo()}) as server:
        client = server.client()
        client.invoke_endpoint(EndpointName="echo", Body=b"warm")
        print("ready", flush=True)
        try:
            client.invoke_endpoint(EndpointName="slow", Body=b"x")
            print("not interrupted", flush=True)
        except KeyboardInterrupt:
            print(f"interrupted {time.time():.6f}", flush=True)
        deadline = time.monotonic() + 5
        while server.disconnects("slow") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        print(f"disconnects {server.disconnects('slow')}", flush=True)
        print(client.invoke_endpoint(EndpointName="echo", Body=b"usable")["Body"].read().decode(), flush=True)
    """
)


def test_real_sigint_to_a_process(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.time()
        process.send_signal(signal.SIGINT)
        interrupted = process.stdout.readline().split()
        assert interrupted[0] == "interrupted"
        assert float(interrupted[1]) - sent < 5, "SIGINT was not handled until the call ended"
        assert process.stdout.readline().strip() != "disconnects 0"
        assert process.stdout.readline().strip() == "usable"
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.stdout.close()


def calls_in_child(client: smr.Client, worker: int) -> list[bool]:
    results = []
    for call in range(200):
        payload = f"worker {worker} call {call}".encode()
        results.append(client.invoke_endpoint(EndpointName="echo", Body=payload)["Body"].read() == payload)
    return results


def test_client_created_before_fork_works_in_children(client):
    assert client.invoke_endpoint(EndpointName="echo", Body=b"parent")["Body"].read() == b"parent"
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        outcomes = pool.starmap(calls_in_child, [(client, worker) for worker in range(4)])
    assert [sum(results) for results in outcomes] == [200, 200, 200, 200]
    assert client.invoke_endpoint(EndpointName="echo", Body=b"parent again")["Body"].read() == b"parent again"


def test_forked_child_with_os_fork(client):
    client.invoke_endpoint(EndpointName="echo", Body=b"warm")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            ok = client.invoke_endpoint(EndpointName="echo", Body=b"child")["Body"].read() == b"child"
            os.write(write_end, b"ok" if ok else b"wrong")
        except BaseException as error:
            os.write(write_end, repr(error).encode()[:200])
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read() == b"ok"
    assert status == 0


FORK_THEN_EXIT = textwrap.dedent(
    """
    import json, os, sys, time
    import sagemaker_runtime_rs as smr

    client = smr.Client(config=smr.Config(read_timeout=5), **json.loads(sys.argv[1]))
    for _ in range(5):  # past the shared pool: this thread now has its own runtime and connection
        client.invoke_endpoint(EndpointName="echo", Body=b"warm")
    pid = os.fork()
    if pid == 0:
        if sys.argv[2] == "close":
            client.close()
        sys.exit(0)  # a normal exit: thread-local state is torn down in the child
    os.waitpid(pid, 0)
    started = time.monotonic()
    body = client.invoke_endpoint(EndpointName="echo", Body=b"after")["Body"].read()
    print(body.decode(), round(time.monotonic() - started, 2))
    """
)


@pytest.mark.parametrize("child", ["exit", "close"])
def test_a_forked_child_leaves_the_parents_connections_alone(server, child):
    """The child shares the parent's sockets and epoll instance: tearing down what it inherited would break
    the parent's next call on that thread (found in review: a 5 s read timeout, or ConnectionClosedError)."""
    kwargs = json.dumps(server.client_kwargs())
    done = subprocess.run(
        [sys.executable, "-c", FORK_THEN_EXIT, kwargs, child], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    body, seconds = done.stdout.split()
    assert body == "after"
    assert float(seconds) < 2


def call_unpickled(pickled: bytes) -> bytes:
    client = pickle.loads(pickled)
    return client.invoke_endpoint(EndpointName="echo", Body=b"spawned")["Body"].read()


def test_client_pickles_and_works_in_a_spawned_process(server):
    client = server.client(config=smr.Config(read_timeout=30))
    pickled = pickle.dumps(client)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(call_unpickled, (pickled,)) == b"spawned"
    restored = pickle.loads(pickled)
    assert type(restored) is smr.Client
    assert restored.meta.config.read_timeout == 30


def test_async_client_pickles(server):
    restored = pickle.loads(pickle.dumps(smr.AsyncClient(**server.client_kwargs())))
    assert type(restored) is smr.AsyncClient
    assert restored.meta.endpoint_url == server.url


def test_pickle_holds_credentials_only_when_given(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-FROM-ENVIRONMENT")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT0")
    implicit = pickle.dumps(smr.Client(region_name="us-east-1"))
    assert b"SECRET-FROM-ENVIRONMENT" not in implicit and b"AKIAFROMENVIRONMENT0" not in implicit
    explicit = pickle.dumps(
        smr.Client(region_name="us-east-1", aws_access_key_id="AKIAEXPLICIT", aws_secret_access_key="given")
    )
    assert b"given" in explicit
