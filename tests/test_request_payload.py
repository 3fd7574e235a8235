"""Request bodies: large `bytes` are sent from the caller's object without a copy, and are still signed,
resent on retries and released afterwards; mutable buffers are copied before sending."""

from __future__ import annotations

import asyncio
import gc
import sys
import uuid
from collections.abc import Iterator

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs.local import Echo, LocalServer

KEY_ID = "AKIAPAYLOADLOCAL0001"
SECRET = "payload/secret"
ASYNC_INLINE_LIMIT = 128_000  # larger async-inference inputs go through S3
SIZES = [100, 16 * 1024 - 1, 16 * 1024, 1024 * 1024 + 7]  # around the size from which bytes are borrowed


@pytest.fixture(scope="module")
def strict() -> Iterator[LocalServer]:
    # The strict server hashes the body it received into the signature it expects: a body that was signed
    # but not sent (or sent but not signed) fails with InvalidSignatureException.
    with LocalServer(
        {"echo": Echo(), "upper": lambda body, headers: body.upper()}, credentials={KEY_ID: SECRET}
    ) as server:
        yield server


def payload(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


@pytest.mark.parametrize("size", SIZES)
def test_bytes_bodies_are_signed_and_sent_whole(strict, size):
    body = payload(size)
    response = strict.client().invoke_endpoint(EndpointName="echo", Body=body)
    assert response["Body"].read() == body


@pytest.mark.parametrize("size", SIZES)
def test_streaming_and_async_inference_bodies_too(strict, size):
    client = strict.client()
    body = b"word " * (size // 5)
    stream = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=body)
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"]) == body
    inline = body[:ASYNC_INLINE_LIMIT]
    accepted = client.invoke_endpoint_async(EndpointName="upper", Body=inline, InferenceId=uuid.uuid4().hex)
    assert strict.wait_for_object(accepted["OutputLocation"]) == inline.upper()


@pytest.mark.parametrize(
    "make",
    [memoryview, bytearray, lambda data: data.decode("latin-1")],
    ids=["memoryview", "bytearray", "str"],
)
def test_other_body_types_of_every_size(strict, make):
    for size in SIZES:
        data = b"a" * size
        assert strict.client().invoke_endpoint(EndpointName="echo", Body=make(data))["Body"].read() == data


def test_async_client_sends_large_bodies(strict):
    body = payload(1024 * 1024)

    async def main() -> bytes:
        async with smr.AsyncClient(**strict.client_kwargs()) as client:
            response = await client.invoke_endpoint(EndpointName="echo", Body=body)
            return await response["Body"].read()

    assert asyncio.run(main()) == body


def test_a_retried_call_resends_the_whole_body(server):
    body = payload(512 * 1024)
    server.inject_faults(service_unavailable=0.5, seed=3)
    try:
        client = server.client()
        retried = 0
        for _ in range(12):
            inference_id = uuid.uuid4().hex
            try:
                response = client.invoke_endpoint(EndpointName="echo", Body=body, InferenceId=inference_id)
            except smr.exceptions.ServiceUnavailable:
                continue  # every attempt failed
            assert response["Body"].read() == body
            retried += response["ResponseMetadata"]["RetryAttempts"] > 0
        assert retried > 0, "with half the attempts failing, some calls must have been retried"
    finally:
        server.clear_faults()


def test_the_caller_s_bytes_are_released_after_the_call(client):
    body = payload(1024 * 1024)
    before = sys.getrefcount(body)
    for _ in range(20):
        client.invoke_endpoint(EndpointName="echo", Body=body)["Body"].read()
    client.invoke_endpoint(
        EndpointName="echo", Body=b"x"
    )  # the next call releases references left without the GIL
    gc.collect()
    assert sys.getrefcount(body) == before


def test_a_bytearray_changed_after_the_call_does_not_change_what_was_sent(client):
    body = bytearray(b"a" * (64 * 1024))
    response = client.invoke_endpoint(EndpointName="echo", Body=body)
    body[:] = b"b" * len(body)
    assert response["Body"].read() == b"a" * (64 * 1024)
