"""AsyncClient: awaited operations, async bodies and streams, cancellation, many event loops."""

from __future__ import annotations

import asyncio
import time

import pytest
import sagemaker_runtime_rs as smr
from conftest import wait_for
from sagemaker_runtime_rs import exceptions


@pytest.fixture(scope="module")
def async_client(server) -> smr.AsyncClient:
    return smr.AsyncClient(**server.client_kwargs())


def run(coroutine):
    return asyncio.run(coroutine)


def test_invoke_endpoint_and_async_body(async_client):
    async def main():
        response = await async_client.invoke_endpoint(
            EndpointName="echo", Body=b"x" * 3000, ContentType="text/plain", CustomAttributes="k=v"
        )
        assert response["ContentType"] == "text/plain"
        assert response["CustomAttributes"] == "k=v"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        async with response["Body"] as body:
            chunks = [chunk async for chunk in body.iter_chunks(1024)]
        assert [len(c) for c in chunks] == [1024, 1024, 952]
        again = await async_client.invoke_endpoint(EndpointName="echo", Body=b"read me")
        assert await again["Body"].read() == b"read me"

    run(main())


def test_results_equal_the_sync_client(async_client, client):
    async def main():
        return await async_client.invoke_endpoint(EndpointName="upper", Body=b"same")

    ours = run(main())
    sync = client.invoke_endpoint(EndpointName="upper", Body=b"same")
    assert run(ours["Body"].read()) == sync["Body"].read() == b"SAME"
    assert ours["ContentType"] == sync["ContentType"]


def test_errors_are_raised_on_await(async_client):
    async def main():
        with pytest.raises(exceptions.ModelError) as raised:
            await async_client.invoke_endpoint(EndpointName="failing", Body=b"{}")
        assert raised.value.response["OriginalStatusCode"] == 400
        with pytest.raises(async_client.exceptions.ValidationError):
            await async_client.invoke_endpoint(EndpointName="missing", Body=b"{}")

    run(main())
    with pytest.raises(exceptions.ParamValidationError):
        async_client.invoke_endpoint(EndpointName="echo")  # validated before any awaitable exists


def test_concurrent_calls_on_one_loop(async_client):
    async def main():
        payloads = [b"%d" % i for i in range(200)]
        responses = await asyncio.gather(
            *(async_client.invoke_endpoint(EndpointName="echo", Body=p) for p in payloads)
        )
        return [await r["Body"].read() for r in responses], payloads

    bodies, payloads = run(main())
    assert bodies == payloads


def test_slow_calls_overlap_and_the_loop_stays_responsive(async_client):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.gather(
            *(async_client.invoke_endpoint(EndpointName="slow", Body=b"x") for _ in range(4))
        )
        elapsed = time.monotonic() - started
        task.cancel()
        return ticks, elapsed

    ticks, elapsed = run(main())
    assert ticks > 20, "the event loop was blocked during the calls"
    assert elapsed < 3.5, f"four 1 s calls took {elapsed:.1f} s: they did not overlap"


def test_works_across_many_event_loops(async_client):
    for round_number in range(3):

        async def main(n=round_number):
            response = await async_client.invoke_endpoint(EndpointName="echo", Body=b"loop %d" % n)
            return await response["Body"].read()

        assert run(main()) == b"loop %d" % round_number


def test_cancellation_aborts_the_request(async_client, server):
    before = server.disconnects("slow")

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(async_client.invoke_endpoint(EndpointName="slow", Body=b"x"), 0.2)

    run(main())
    assert wait_for(lambda: server.disconnects("slow") > before), (
        "the server never saw the cancelled request go"
    )


def test_async_with_client(server):
    async def main():
        async with smr.AsyncClient(**server.client_kwargs()) as scoped:
            response = await scoped.invoke_endpoint(EndpointName="echo", Body=b"ctx")
            assert await response["Body"].read() == b"ctx"
            await scoped.close()
            again = await scoped.invoke_endpoint(EndpointName="echo", Body=b"still usable")
            assert await again["Body"].read() == b"still usable"

    run(main())


def test_async_response_stream(async_client, server):
    server.add_endpoint("async-stream", lambda body, headers: (w + b"\n" for w in body.split()))
    try:

        async def main():
            response = await async_client.invoke_endpoint_with_response_stream(
                EndpointName="async-stream", Body=b"l1 l2 l3"
            )
            events = [event async for event in response["Body"]]
            response = await async_client.invoke_endpoint_with_response_stream(
                EndpointName="async-stream", Body=b"a b"
            )
            lines = [line async for line in response["Body"].iter_lines()]
            return events, lines

        events, lines = run(main())
    finally:
        server.remove_endpoint("async-stream")
    assert [e["PayloadPart"]["Bytes"] for e in events] == [b"l1\n", b"l2\n", b"l3\n"]
    assert lines == [b"a", b"b"]


def test_sync_and_async_iterators_refuse_the_wrong_protocol(client, async_client):
    body = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"a b")["Body"]
    with pytest.raises(TypeError, match="synchronous"):
        body.iter_lines().__anext__()
    body.close()


aiobotocore_session = pytest.importorskip("aiobotocore.session")


def test_equal_to_aiobotocore(async_client, server):
    async def main():
        session = aiobotocore_session.get_session()
        async with session.create_client("sagemaker-runtime", **server.client_kwargs()) as theirs:
            expected = await theirs.invoke_endpoint(
                EndpointName="echo", Body=b"peer", ContentType="text/plain"
            )
            expected_body = await expected["Body"].read()
            try:
                await theirs.invoke_endpoint(EndpointName="failing", Body=b"{}")
            except Exception as error:  # aiobotocore's dynamically created ModelError
                expected_error = error
        ours = await async_client.invoke_endpoint(EndpointName="echo", Body=b"peer", ContentType="text/plain")
        with pytest.raises(exceptions.ModelError) as raised:
            await async_client.invoke_endpoint(EndpointName="failing", Body=b"{}")
        return expected, expected_body, expected_error, ours, await ours["Body"].read(), raised.value

    expected, expected_body, expected_error, ours, body, error = run(main())
    assert body == expected_body
    assert ours["ContentType"] == expected["ContentType"]
    assert type(expected_error).__name__ == type(error).__name__ == "ModelError"
    assert error.response["Error"] == expected_error.response["Error"]
