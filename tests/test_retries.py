"""SageMaker-aware retries: what is retried, what never is, and exact retry counts."""

from __future__ import annotations

import time
import uuid

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions


@pytest.fixture
def faulty(server):
    yield server
    server.clear_faults()


def test_service_unavailable_is_retried_and_counted_exactly(client, faulty):
    faulty.inject_faults(service_unavailable=0.5, seed=7, track_inference_ids=True)
    retried = 0
    for _ in range(60):
        inference_id = uuid.uuid4().hex
        try:
            response = client.invoke_endpoint(EndpointName="echo", Body=b"x", InferenceId=inference_id)
            attempts = response["ResponseMetadata"]["RetryAttempts"] + 1
        except exceptions.ServiceUnavailable as error:
            attempts = error.response["ResponseMetadata"]["RetryAttempts"] + 1
            assert attempts == 3 and "(reached max retries: 2)" in str(error)
        assert faulty.requests_by_inference_id()[inference_id] == attempts
        retried += attempts > 1
    assert retried > 10, "with half the requests failing, some calls must have needed retries"


def test_model_not_ready_is_retried(client, faulty):
    faulty.inject_faults(model_not_ready=1.0)
    with pytest.raises(exceptions.ModelNotReadyException) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert faulty.fault_counts()["model_not_ready"] == 3
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2


@pytest.mark.parametrize(
    "endpoint, error", [("failing", exceptions.ModelError), ("crashing", exceptions.ModelError)]
)
def test_model_errors_are_never_retried(client, server, endpoint, error):
    before = server.invocations(endpoint)
    with pytest.raises(error) as raised:
        client.invoke_endpoint(EndpointName=endpoint, Body=b"{}")
    assert server.invocations(endpoint) - before == 1
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert "reached max retries" not in str(raised.value)


def test_read_timeout_is_not_retried_by_default(server):
    client = smr.Client(config=smr.Config(read_timeout=0.3), **server.client_kwargs())
    before = server.invocations("slow")
    with pytest.raises(exceptions.ReadTimeoutError):
        client.invoke_endpoint(EndpointName="slow", Body=b"x")
    assert server.invocations("slow") - before == 1, "a retried read timeout runs the model again"


def test_read_timeout_retry_is_an_opt_in(server):
    config = smr.Config(read_timeout=0.3, retry_sent_requests=True, retries={"total_max_attempts": 2})
    client = smr.Client(config=config, **server.client_kwargs())
    before = server.invocations("slow")
    with pytest.raises(exceptions.ReadTimeoutError):
        client.invoke_endpoint(EndpointName="slow", Body=b"x")
    assert server.invocations("slow") - before == 2


def test_connection_lost_after_sending_is_not_retried(client, faulty):
    faulty.inject_faults(reset=1.0)
    before = faulty.invocations("echo")
    with pytest.raises(exceptions.ConnectionClosedError) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert faulty.invocations("echo") - before == 1
    assert isinstance(raised.value, ConnectionError)


def test_truncated_answer_is_a_connection_closed_error(client, faulty):
    faulty.inject_faults(truncate=1.0)
    with pytest.raises(exceptions.ConnectionClosedError):
        client.invoke_endpoint(EndpointName="echo", Body=b"0123456789")


def test_truncated_answer_is_retried_only_with_the_opt_in(server, faulty):
    """With retry_sent_requests the SDK reads the body itself and retries a cut-off answer."""
    faulty.inject_faults(truncate=1.0)
    config = smr.Config(retry_sent_requests=True, retries={"total_max_attempts": 2})
    client = smr.Client(config=config, **server.client_kwargs())
    before = faulty.invocations("echo")
    with pytest.raises(exceptions.ConnectionClosedError):
        client.invoke_endpoint(EndpointName="echo", Body=b"0123456789")
    assert faulty.invocations("echo") - before == 2


def test_body_that_stalls_after_the_headers_times_out(server, faulty):
    """The read timeout bounds every wait for more of the body, as botocore's socket timeout does."""
    faulty.inject_faults(stall=1.0, stall_seconds=30)
    client = smr.Client(config=smr.Config(read_timeout=0.5), **server.client_kwargs())
    started = time.monotonic()
    with pytest.raises(exceptions.ReadTimeoutError) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"0123456789")
    assert time.monotonic() - started < 10
    assert "Read timeout on endpoint URL" in str(raised.value)
    assert faulty.fault_counts()["stall"] == 1


def test_body_arriving_in_many_pieces_is_joined_exactly(server):
    """A large answer arrives in many reads; the chunks are joined once into the returned bytes."""
    payload = bytes(range(256)) * 12_289  # 3,145,984 bytes: many socket reads, not a round size
    response = server.client().invoke_endpoint(EndpointName="echo", Body=payload)
    assert response["Body"].read() == payload


def test_environment_sets_attempts(server, faulty, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    faulty.inject_faults(service_unavailable=1.0)
    with pytest.raises(exceptions.ServiceUnavailable) as raised:
        server.client().invoke_endpoint(EndpointName="echo", Body=b"x")
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 4
    assert faulty.fault_counts()["service_unavailable"] == 5


def test_adaptive_mode_retries_too(server, faulty):
    faulty.inject_faults(service_unavailable=1.0)
    client = smr.Client(
        config=smr.Config(retries={"mode": "adaptive", "total_max_attempts": 2}), **server.client_kwargs()
    )
    with pytest.raises(exceptions.ServiceUnavailable):
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert faulty.fault_counts()["service_unavailable"] == 2
