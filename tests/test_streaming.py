"""invoke_endpoint_with_response_stream: events as they arrive, mid-stream errors, broken streams, reassembly."""

from __future__ import annotations

import threading
import time

import pytest
import sagemaker_runtime_rs as smr
from conftest import wait_for
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import (
    CorruptFrame,
    CutConnection,
    StreamError,
    StreamingResponse,
    UnknownEvent,
)

botocore_exceptions = pytest.importorskip("botocore.exceptions")

RELEASE = threading.Event()


def tokens(body: bytes, headers: dict):
    return StreamingResponse(
        (word + b" " for word in body.split()), content_type="text/plain", custom_attributes="streamed=1"
    )


def held(body: bytes, headers: dict):
    yield b"first"
    RELEASE.wait(10)
    yield b"second"


def timeout_midway(body: bytes, headers: dict):
    yield b"partial "
    raise StreamError("Model took too long", error_code="ModelInvocationTimeExceeded")


def internal_midway(body: bytes, headers: dict):
    yield b"partial "
    raise StreamError("stream failed inside the service", internal=True)


def corrupt_midway(body: bytes, headers: dict):
    yield b"good "
    yield CorruptFrame(b"bad")
    yield b"never"


def cut_midway(body: bytes, headers: dict):
    yield b"good "
    yield CutConnection()


def unknown_event(body: bytes, headers: dict):
    yield b"a"
    yield UnknownEvent("FutureEvent", b"?")
    yield b"b"


def endless(body: bytes, headers: dict):
    for index in range(100_000):
        yield b"%d " % index
        time.sleep(0.001)


def parts_of(body: bytes, headers: dict):
    # the request body is a list of parts separated by NUL, so tests choose the part boundaries
    return [part for part in body.split(b"\x00")]


async def async_parts(body: bytes, headers: dict):
    for word in body.split():
        yield word


STREAMING_ENDPOINTS = {
    "tokens": tokens,
    "held": held,
    "timeout-midway": timeout_midway,
    "internal-midway": internal_midway,
    "corrupt-midway": corrupt_midway,
    "cut-midway": cut_midway,
    "unknown-event": unknown_event,
    "endless": endless,
    "parts": parts_of,
    "async-parts": async_parts,
}


@pytest.fixture(scope="module", autouse=True)
def streaming_endpoints(server):
    for name, model in STREAMING_ENDPOINTS.items():
        server.add_endpoint(name, model)
    yield
    for name in STREAMING_ENDPOINTS:
        server.remove_endpoint(name)


def stream(client, endpoint: str, body: bytes = b"", **kwargs):
    return client.invoke_endpoint_with_response_stream(EndpointName=endpoint, Body=body, **kwargs)


def payloads(events) -> list[bytes]:
    return [event["PayloadPart"]["Bytes"] for event in events]


def test_events_and_response_fields(client):
    response = stream(client, "tokens", b"one two three", CustomAttributes="c")
    assert response["ContentType"] == "text/plain"
    assert response["CustomAttributes"] == "streamed=1"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert payloads(response["Body"]) == [b"one ", b"two ", b"three "]


def test_echo_model_streams_word_tokens(client):
    response = stream(client, "echo", b"hello big world", ContentType="text/plain")
    assert payloads(response["Body"]) == [b"hello ", b"big ", b"world"]
    assert response["ContentType"] == "text/plain"


def test_async_generator_models_stream(client):
    assert payloads(stream(client, "async-parts", b"x y")["Body"]) == [b"x", b"y"]


def test_every_parameter_reaches_the_server(client, recorder):
    client.invoke_endpoint_with_response_stream(
        EndpointName="headers",
        Body=b"{}",
        ContentType="application/json",
        Accept="text/event-stream",
        CustomAttributes="a=1",
        TargetVariant="v",
        TargetContainerHostname="h",
        InferenceId="i",
        InferenceComponentName="ic",
        SessionId="s",
    )
    expected = {
        "content-type": "application/json",
        "x-amzn-sagemaker-accept": "text/event-stream",
        "x-amzn-sagemaker-custom-attributes": "a=1",
        "x-amzn-sagemaker-target-variant": "v",
        "x-amzn-sagemaker-target-container-hostname": "h",
        "x-amzn-sagemaker-inference-id": "i",
        "x-amzn-sagemaker-inference-component": "ic",
        "x-amzn-sagemaker-session-id": "s",
    }
    assert {key: recorder.last.get(key) for key in expected} == expected


def test_first_event_arrives_while_the_server_holds_back_the_rest(client):
    RELEASE.clear()
    body = stream(client, "held")["Body"]
    events = iter(body)
    assert next(events) == {"PayloadPart": {"Bytes": b"first"}}
    assert not RELEASE.is_set(), "the first event must arrive before the model produces the second"
    RELEASE.set()
    assert payloads(events) == [b"second"]


def test_a_stream_silent_for_longer_than_the_read_timeout_times_out(server):
    """Each wait for the next event is bounded by the read timeout (botocore's socket timeout), not by a
    throughput rule: a pause shorter than it is fine, a longer one raises ReadTimeoutError."""
    RELEASE.clear()
    client = server.client(config=smr.Config(read_timeout=0.5))
    events = iter(stream(client, "held")["Body"])
    assert next(events) == {"PayloadPart": {"Bytes": b"first"}}
    with pytest.raises(exceptions.ReadTimeoutError):
        next(events)
    RELEASE.set()
    events = iter(stream(client, "parts", b"a\x00b\x00c")["Body"])
    assert [e["PayloadPart"]["Bytes"] for e in events] == [b"a", b"b", b"c"]


@pytest.mark.parametrize(
    "endpoint, cls, error_code",
    [
        ("timeout-midway", exceptions.ModelStreamError, "ModelInvocationTimeExceeded"),
        ("internal-midway", exceptions.InternalStreamFailure, None),
    ],
)
def test_mid_stream_errors(client, boto_client, endpoint, cls, error_code):
    received = []
    with pytest.raises(cls) as raised:
        for event in stream(client, endpoint)["Body"]:
            received.append(event)
    assert payloads(received) == [b"partial "]
    error = raised.value
    assert isinstance(error, exceptions.EventStreamError)
    assert isinstance(error, botocore_exceptions.EventStreamError)
    assert isinstance(error, getattr(client.exceptions, cls.__name__))
    assert error.response.get("ErrorCode") == error_code
    boto_body = boto_client.invoke_endpoint_with_response_stream(EndpointName=endpoint, Body=b"")["Body"]
    with pytest.raises(botocore_exceptions.EventStreamError) as theirs:
        try:
            list(boto_body)
        finally:
            boto_body.close()
    assert error.response["Error"] == theirs.value.response["Error"]
    assert str(error) == str(theirs.value)


@pytest.mark.parametrize("endpoint", ["corrupt-midway", "cut-midway"])
def test_broken_streams_raise_response_streaming_error_after_the_good_parts(client, endpoint):
    received = []
    with pytest.raises(exceptions.ResponseStreamingError) as raised:
        for event in stream(client, endpoint)["Body"]:
            received.append(event)
    assert payloads(received) == [b"good "]
    assert isinstance(raised.value, botocore_exceptions.BotoCoreError)


def test_unknown_event_types_are_skipped(client):
    assert payloads(stream(client, "unknown-event")["Body"]) == [b"a", b"b"]


def test_model_failure_before_streaming_is_a_model_error(client, boto_client):
    with pytest.raises(exceptions.ModelError) as ours:
        stream(client, "failing")
    with pytest.raises(botocore_exceptions.ClientError) as theirs:
        boto_client.invoke_endpoint_with_response_stream(EndpointName="failing", Body=b"")
    assert ours.value.response["Error"] == theirs.value.response["Error"]
    assert ours.value.operation_name == "InvokeEndpointWithResponseStream"


def test_early_break_and_close_release_the_connection(client, server):
    before = server.disconnects("endless")
    body = stream(client, "endless")["Body"]
    for _ in body:
        break
    body.close()
    assert wait_for(lambda: server.disconnects("endless") > before), "the server never saw the client leave"
    assert list(body) == []


def test_context_manager_closes(client, server):
    before = server.disconnects("endless")
    with stream(client, "endless")["Body"] as body:
        next(iter(body))
    assert wait_for(lambda: server.disconnects("endless") > before)


@pytest.mark.parametrize(
    "endpoint, body",
    [
        ("tokens", b"alpha beta"),
        ("unknown-event", b""),
        ("echo", b"some words here"),
        ("parts", b"a\x00b\x00c"),
    ],
)
def test_events_equal_boto3(client, boto_client, endpoint, body):
    ours = stream(client, endpoint, body)
    theirs = boto_client.invoke_endpoint_with_response_stream(EndpointName=endpoint, Body=body)
    try:
        assert list(ours["Body"]) == [e for e in theirs["Body"] if e]
    finally:
        theirs["Body"].close()
    for key in ("ContentType", "CustomAttributes", "InvokedProductionVariant"):
        assert ours.get(key) == theirs.get(key)


# --- reassembly of lines and server-sent events across parts ---


def lines_from(client, parts: list[bytes], **kwargs) -> list:
    return list(stream(client, "parts", b"\x00".join(parts))["Body"].iter_lines(**kwargs))


def test_lines_across_parts_split_utf8_and_last_line_without_newline(client):
    text = "caf\u00e9 one\nsecond line\r\n\u2603 third"
    data = text.encode()
    split_inside_e_acute = data.index(b"\xa9")  # between the two bytes of "\u00e9"
    parts = [data[:split_inside_e_acute], data[split_inside_e_acute:20], data[20:]]
    lines = lines_from(client, parts)
    assert [line.decode() for line in lines] == ["caf\u00e9 one", "second line", "\u2603 third"]
    assert lines_from(client, parts, keepends=True)[1] == b"second line\r\n"


def test_line_buffer_is_bounded(client):
    with pytest.raises(ValueError, match="exceeds 8 bytes"):
        lines_from(client, [b"0123", b"45678"], max_line_bytes=8)


def test_server_sent_events(client):
    raw = b'data: {"token": "Hel"}\n\n: keep-alive\n\ndata: {"token": "lo"}\ndata: more\n\ndata: [DONE]'
    parts = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    events = list(stream(client, "parts", b"\x00".join(parts))["Body"].iter_sse())
    assert events == ['{"token": "Hel"}', '{"token": "lo"}\nmore', "[DONE]"]


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(blacklist_characters="\x00\r", blacklist_categories=("Cs",)), max_size=80
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_any_split_gives_the_same_lines(client, text, cuts):
    data = text.encode()
    bounds = sorted({min(cut, len(data)) for cut in cuts})
    parts, start = [], 0
    for bound in [*bounds, len(data)]:
        parts.append(data[start:bound])
        start = bound
    parts = [part for part in parts if part] or [b""]
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    assert lines_from(client, parts) == expected
