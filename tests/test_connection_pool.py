"""Connection reuse: the sync client keeps a pool per calling thread, the async face one shared pool."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sagemaker_runtime_rs as smr
from conftest import wait_for
from sagemaker_runtime_rs.local import Echo, LocalServer


@pytest.fixture
def pool_server():
    with LocalServer({"echo": Echo()}) as running:
        yield running


def in_new_thread(work):
    """Runs `work` on a fresh thread (a thread's first calls use the shared pool) and returns its result."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # re-raised on the test's thread
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def test_sequential_calls_reuse_one_connection(pool_server):
    client = pool_server.client()
    accepted: list[int] = []

    def calls() -> None:
        for i in range(203):
            if i == 3:  # the first two calls use the shared pool, then the thread's own connection
                accepted.append(pool_server.connections_accepted)
            assert client.invoke_endpoint(EndpointName="echo", Body=str(i))["Body"].read() == str(i).encode()

    in_new_thread(calls)
    assert pool_server.connections_accepted == accepted[0]  # 200 calls, no new connection
    assert accepted[0] <= 3  # the shared pool may open a second one while the first is being returned


def test_a_thread_per_call_reuses_the_shared_pool(pool_server):
    client = pool_server.client()
    for i in range(50):
        body = str(i).encode()
        assert (
            in_new_thread(
                lambda body=body: client.invoke_endpoint(EndpointName="echo", Body=body)["Body"].read()
            )
            == body
        )
    assert pool_server.connections_accepted == 1


def test_each_thread_keeps_its_own_connection(pool_server):
    client = pool_server.client()
    failures: list[BaseException] = []
    halfway = threading.Barrier(5)
    measured = threading.Barrier(5)

    def calls(name: str) -> None:
        for i in range(25):
            body = f"{name}-{i}".encode()
            assert client.invoke_endpoint(EndpointName="echo", Body=body)["Body"].read() == body

    def work(name: str) -> None:
        try:
            calls(name)
            halfway.wait()
            measured.wait()
            calls(name)
        except BaseException as error:  # reported to the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(str(n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    halfway.wait()
    accepted = pool_server.connections_accepted
    measured.wait()
    for thread in threads:
        thread.join()
    assert not failures
    assert pool_server.connections_accepted == accepted  # the second half reused every thread's connection


def test_connection_closed_by_the_server_while_idle_is_replaced_without_error(pool_server):
    client = pool_server.client()

    def calls() -> None:
        for _ in range(3):  # past the shared pool: the thread's own connection
            client.invoke_endpoint(EndpointName="echo", Body=b"first")
        pool_server.close_idle_connections()
        assert wait_for(lambda: pool_server.connections_open == 0)
        for _ in range(3):
            response = client.invoke_endpoint(EndpointName="echo", Body=b"again")
            assert response["Body"].read() == b"again"
            assert response["ResponseMetadata"]["RetryAttempts"] == 0

    in_new_thread(calls)
    assert pool_server.connections_accepted == 3
    assert pool_server.invocations("echo") == 6  # no call ran the model twice


def test_async_client_reconnects_after_idle_close(pool_server):
    async def main() -> list[bytes]:
        async with smr.AsyncClient(**pool_server.client_kwargs()) as client:
            await client.invoke_endpoint(EndpointName="echo", Body=b"first")
            pool_server.close_idle_connections()
            await asyncio.sleep(0.2)
            response = await client.invoke_endpoint(EndpointName="echo", Body=b"again")
            return [await response["Body"].read()]

    assert asyncio.run(main()) == [b"again"]
    assert pool_server.invocations("echo") == 2


def test_close_releases_this_threads_connections(pool_server):
    client = pool_server.client()

    def use_and_close() -> bytes:
        for _ in range(5):
            client.invoke_endpoint(EndpointName="echo", Body=b"x")
        assert pool_server.connections_open >= 2  # the shared pool's and the thread's own
        client.close()
        assert wait_for(lambda: pool_server.connections_open == 0)
        return client.invoke_endpoint(EndpointName="echo", Body=b"y")["Body"].read()

    assert in_new_thread(use_and_close) == b"y"


def test_a_finished_thread_releases_its_connection(pool_server):
    client = pool_server.client()
    in_new_thread(lambda: [client.invoke_endpoint(EndpointName="echo", Body=b"x") for _ in range(5)])
    assert pool_server.connections_accepted == 2
    # The thread's own connection closes with the thread; the shared pool keeps its one.
    assert wait_for(lambda: pool_server.connections_open == 1)


def test_stream_read_on_another_thread_than_the_call(pool_server):
    """Streams run on the shared runtime, so any thread may read them."""
    client = pool_server.client()
    response = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"abc")
    parts: list[bytes] = []
    reader = threading.Thread(
        target=lambda: parts.extend(e["PayloadPart"]["Bytes"] for e in response["Body"])
    )
    reader.start()
    reader.join(10)
    assert b"".join(parts) == b"abc"


def test_concurrent_calls_keep_their_connections_by_default(pool_server):
    """Unlike botocore's cap of 10 idle connections, every connection a burst needed is kept for the next."""
    client = pool_server.client()
    requests = [{"EndpointName": "echo", "Body": b"x"}] * 2000
    assert len(client.invoke_endpoint_many(requests, max_concurrency=32)) == 2000
    assert pool_server.connections_accepted <= 32


def test_max_pool_connections_caps_idle_connections(pool_server):
    client = pool_server.client(config=smr.Config(max_pool_connections=2))
    requests = [{"EndpointName": "echo", "Body": b"x"}] * 2000
    assert len(client.invoke_endpoint_many(requests, max_concurrency=32)) == 2000
    assert pool_server.connections_accepted > 32  # the ones beyond the cap were closed after use


def test_async_client_keeps_its_connections_at_concurrency(pool_server):
    async def main() -> None:
        async with smr.AsyncClient(**pool_server.client_kwargs()) as client:
            for _ in range(20):
                await asyncio.gather(
                    *(client.invoke_endpoint(EndpointName="echo", Body=b"x") for _ in range(16))
                )

    asyncio.run(main())
    assert pool_server.connections_accepted <= 16
