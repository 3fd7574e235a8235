"""Construction, boto3-style factory functions, client.meta, Config handling, repr."""

from __future__ import annotations

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions


def test_client_factory_accepts_both_service_names(server):
    for name in ("sagemaker-runtime", "runtime.sagemaker"):
        client = smr.client(name, **server.client_kwargs())
        assert isinstance(client, smr.Client)
        assert client.invoke_endpoint(EndpointName="echo", Body=b"ok")["Body"].read() == b"ok"


def test_client_factory_refuses_other_services():
    with pytest.raises(ValueError, match="'s3'"):
        smr.client("s3")


def test_positional_region_as_in_boto3():
    assert smr.client("sagemaker-runtime", "eu-central-1").meta.region_name == "eu-central-1"


def test_session_client_uses_session_settings(server, recorder):
    session = smr.Session(
        aws_access_key_id="AKIASESSION000000000", aws_secret_access_key="s", region_name="sa-east-1"
    )
    client = session.client("sagemaker-runtime", endpoint_url=server.url)
    client.invoke_endpoint(EndpointName="headers", Body=b"{}")
    assert "Credential=AKIASESSION000000000/" in recorder.last["authorization"]
    assert "/sa-east-1/sagemaker/" in recorder.last["authorization"]


def test_constructor_is_keyword_only():
    with pytest.raises(TypeError):
        smr.Client("us-east-1")  # type: ignore[misc]


def test_meta(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", raising=False)
    config = smr.Config(read_timeout=5)
    client = smr.Client(region_name="us-west-2", config=config)
    assert client.meta.region_name == "us-west-2"
    assert client.meta.endpoint_url == "https://runtime.sagemaker.us-west-2.amazonaws.com"
    assert client.meta.config is config
    assert client.meta.service_model.service_name == "sagemaker-runtime"
    assert smr.Client(region_name="us-west-2", use_ssl=False).meta.endpoint_url.startswith("http://")
    assert smr.Client(endpoint_url="http://127.0.0.1:9").meta.endpoint_url == "http://127.0.0.1:9"


def test_endpoint_url_from_the_environment(monkeypatch, server):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    kwargs = {k: v for k, v in server.client_kwargs().items() if k != "endpoint_url"}
    client = smr.Client(**kwargs)
    assert client.meta.endpoint_url == server.url
    assert client.invoke_endpoint(EndpointName="echo", Body=b"env")["Body"].read() == b"env"


def test_boto3_client_methods():
    client = smr.Client(region_name="us-east-1")
    assert client.can_paginate("invoke_endpoint") is False
    assert client.waiter_names == []
    with pytest.raises(ValueError, match="Waiter does not exist: x"):
        client.get_waiter("x")
    with pytest.raises(exceptions.OperationNotPageableError):
        client.get_paginator("invoke_endpoint")


def test_construction_does_no_io():
    # Nothing listens on port 9: construction must not notice, only the first call may.
    client = smr.Client(endpoint_url="http://127.0.0.1:9", region_name="us-east-1")
    assert "127.0.0.1:9" in repr(client)


def test_close_keeps_the_client_usable(server):
    client = server.client()
    assert client.invoke_endpoint(EndpointName="echo", Body=b"1")["Body"].read() == b"1"
    client.close()
    assert client.invoke_endpoint(EndpointName="echo", Body=b"2")["Body"].read() == b"2"
    with server.client() as scoped:
        assert scoped.invoke_endpoint(EndpointName="echo", Body=b"3")["Body"].read() == b"3"


def test_secrets_never_appear_in_repr():
    client = smr.Client(
        region_name="us-east-1",
        aws_access_key_id="AKIAVISIBLE",
        aws_secret_access_key="TOPSECRET",
        aws_session_token="TOK",
    )
    assert "TOPSECRET" not in repr(client) and "TOK" not in repr(client)


def test_half_given_keys_are_refused():
    with pytest.raises(ValueError, match="together"):
        smr.Client(aws_access_key_id="only-the-id")


@pytest.mark.parametrize(
    "config, message",
    [
        (smr.Config(read_timeout=-1), "positive"),
        (smr.Config(connect_timeout=0), "positive"),
        (smr.Config(retries={"mode": "sometimes"}), "Invalid retry mode"),
        (smr.Config(retries={"attempts": 3}), "Invalid retry configuration key"),
        (smr.Config(max_pool_connections=0), "at least 1"),
        (smr.Config(user_agent_extra="app\r\nX-Injected: 1"), "control character"),
    ],
)
def test_invalid_config_values_are_refused_at_construction(config, message):
    with pytest.raises(ValueError, match=message):
        smr.Client(region_name="us-east-1", config=config)


def test_invalid_endpoint_url_is_refused():
    with pytest.raises(ValueError, match="Invalid endpoint"):
        smr.Client(endpoint_url="127.0.0.1:8080")


def test_retry_attempts_follow_config(server):
    from sagemaker_runtime_rs.local import ServiceFailure

    def busy(body: bytes, headers: dict) -> bytes:
        raise ServiceFailure("ServiceUnavailable", "busy", 503)

    server.add_endpoint("busy", busy)
    try:
        for config, attempts in (
            (smr.Config(retries={"max_attempts": 1}), 2),
            (smr.Config(retries={"total_max_attempts": 4}), 4),
        ):
            before = server.invocations("busy")
            client = smr.Client(config=config, **server.client_kwargs())
            with pytest.raises(exceptions.ServiceUnavailable) as raised:
                client.invoke_endpoint(EndpointName="busy", Body=b"x")
            assert server.invocations("busy") - before == attempts
            assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == attempts - 1
            assert f"(reached max retries: {attempts - 1})" in str(raised.value)
    finally:
        server.remove_endpoint("busy")


def test_config_object_semantics():
    config = smr.Config(read_timeout=10)
    assert config.read_timeout == 10 and config.connect_timeout == 60
    assert smr.Config().read_timeout == 70, "our default read timeout exceeds the model's 60 s limit"
    merged = config.merge(smr.Config(connect_timeout=3))
    assert (merged.read_timeout, merged.connect_timeout) == (10, 3)
    assert smr.Config(read_timeout=10) == config


def test_import_is_lean():
    """Importing the package loads neither botocore nor typing: both are loaded on first use, if ever."""
    import subprocess
    import sys

    code = "import sys, sagemaker_runtime_rs; print(sorted(m for m in ('botocore', 'typing') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
