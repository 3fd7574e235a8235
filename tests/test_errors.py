"""Every error path: service errors of each modeled class, transport failures, configuration errors."""

from __future__ import annotations

import pickle
import socket

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import ServiceFailure

botocore_exceptions = pytest.importorskip("botocore.exceptions")
from botocore.config import Config as BotoConfig  # noqa: E402


def raised_by(call) -> Exception:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value


def without_volatile(response: dict) -> dict:
    response = dict(response)
    metadata = dict(response["ResponseMetadata"])
    metadata.pop("RequestId", None)
    metadata["HTTPHeaders"] = {
        k: v for k, v in metadata["HTTPHeaders"].items() if k not in ("date", "x-amzn-requestid")
    }
    response["ResponseMetadata"] = metadata
    return response


SERVICE_FAILURES = [
    ("InternalFailure", 500),
    ("ServiceUnavailable", 503),
    ("ModelNotReadyException", 429),
    ("InternalDependencyException", 530),
    ("ValidationError", 400),
]


@pytest.mark.parametrize("code, status", SERVICE_FAILURES)
def test_each_modeled_service_error_matches_boto3(server, client, boto_client, code, status):
    name = f"fails-{code}"

    def failing(body: bytes, headers: dict) -> bytes:
        raise ServiceFailure(code, f"{code} for the test", status)

    server.add_endpoint(name, failing)
    try:
        ours = raised_by(lambda: client.invoke_endpoint(EndpointName=name, Body=b"{}"))
        attempts_ours = server.invocations(name)
        theirs = raised_by(lambda: boto_client.invoke_endpoint(EndpointName=name, Body=b"{}"))
        attempts_theirs = server.invocations(name) - attempts_ours
    finally:
        server.remove_endpoint(name)
    assert type(ours) is getattr(exceptions, code)
    assert type(theirs).__name__ == code
    assert attempts_ours == ours.response["ResponseMetadata"]["RetryAttempts"] + 1
    assert attempts_theirs == theirs.response["ResponseMetadata"]["RetryAttempts"] + 1
    if code == "ModelNotReadyException":
        # Deliberate difference: we retry it (the model is loading); boto3's standard mode does not.
        assert (attempts_ours, attempts_theirs) == (3, 1)
        assert str(ours).endswith("(reached max retries: 2): ModelNotReadyException for the test")
        return
    assert without_volatile(ours.response) == without_volatile(theirs.response)
    assert str(ours) == str(theirs)
    assert attempts_ours == attempts_theirs


@pytest.mark.parametrize(
    "status, body", [(502, b"<html><body>Bad Gateway</body></html>"), (504, b""), (500, b"not json")]
)
def test_non_json_error_bodies_parse_as_botocore(server, client, boto_client, status, body):
    def failing(request: bytes, headers: dict) -> bytes:
        raise ServiceFailure("Proxy", "", status, body=body)

    server.add_endpoint("proxy-error", failing)
    try:
        fast = smr.Client(config=smr.Config(retries={"total_max_attempts": 1}), **server.client_kwargs())
        ours = raised_by(lambda: fast.invoke_endpoint(EndpointName="proxy-error", Body=b"{}"))
        boto3 = pytest.importorskip("boto3")
        single = boto3.client(
            "sagemaker-runtime",
            config=BotoConfig(retries={"mode": "standard", "total_max_attempts": 1}),
            **server.client_kwargs(),
        )
        theirs = raised_by(lambda: single.invoke_endpoint(EndpointName="proxy-error", Body=b"{}"))
    finally:
        server.remove_endpoint("proxy-error")
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.response["Error"] == theirs.response["Error"]


def test_every_exception_pickles_as_the_same_class(client):
    error = raised_by(lambda: client.invoke_endpoint(EndpointName="failing", Body=b"{}"))
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is exceptions.ModelError
    assert restored.response == error.response
    assert str(restored) == str(error)
    for instance in (
        exceptions.ParamValidationError(report="bad"),
        exceptions.EndpointConnectionError(endpoint_url="http://x", error="refused"),
        exceptions.ReadTimeoutError(endpoint_url="http://x"),
        exceptions.ConnectTimeoutError(endpoint_url="http://x"),
        exceptions.NoCredentialsError(),
        exceptions.NoRegionError(),
        exceptions.HTTPClientError(error="boom"),
    ):
        again = pickle.loads(pickle.dumps(instance))
        assert type(again) is type(instance)
        assert str(again) == str(instance)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_endpoint_connection_error_matches_boto3(server):
    url = f"http://127.0.0.1:{closed_port()}"
    kwargs = {**server.client_kwargs(), "endpoint_url": url}
    ours = smr.Client(config=smr.Config(retries={"total_max_attempts": 1}), **kwargs)
    error = raised_by(lambda: ours.invoke_endpoint(EndpointName="echo", Body=b"x"))
    boto3 = pytest.importorskip("boto3")
    theirs = boto3.client("sagemaker-runtime", config=BotoConfig(retries={"total_max_attempts": 1}), **kwargs)
    expected = raised_by(lambda: theirs.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert type(error) is exceptions.EndpointConnectionError
    assert isinstance(error, botocore_exceptions.EndpointConnectionError)
    assert isinstance(error, ConnectionError)
    assert (
        str(error)
        == str(expected)
        == f'Could not connect to the endpoint URL: "{url}/endpoints/echo/invocations"'
    )


def test_read_timeout_is_a_timeout_error_and_matches_boto3(server):
    config = smr.Config(read_timeout=0.3, retries={"total_max_attempts": 1})
    ours = smr.Client(config=config, **server.client_kwargs())
    error = raised_by(lambda: ours.invoke_endpoint(EndpointName="slow", Body=b"x"))
    assert type(error) is exceptions.ReadTimeoutError
    assert isinstance(error, TimeoutError)
    assert isinstance(error, botocore_exceptions.ReadTimeoutError)
    boto3 = pytest.importorskip("boto3")
    theirs = boto3.client(
        "sagemaker-runtime",
        config=BotoConfig(read_timeout=0.3, retries={"total_max_attempts": 1}),
        **server.client_kwargs(),
    )
    expected = raised_by(lambda: theirs.invoke_endpoint(EndpointName="slow", Body=b"x"))
    assert str(error) == str(expected)


def test_botocore_config_read_timeout_is_honoured(server):
    ours = smr.Client(
        config=BotoConfig(read_timeout=0.3, retries={"total_max_attempts": 1}), **server.client_kwargs()
    )
    assert isinstance(raised_by(lambda: ours.invoke_endpoint(EndpointName="slow", Body=b"x")), TimeoutError)


def test_connect_timeout(server):
    # A listener that never accepts, with its backlog full: the kernel drops further SYNs, so connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        config = smr.Config(connect_timeout=0.3, retries={"total_max_attempts": 1})
        ours = smr.Client(
            config=config, **{**server.client_kwargs(), "endpoint_url": f"http://127.0.0.1:{port}"}
        )
        error = raised_by(lambda: ours.invoke_endpoint(EndpointName="echo", Body=b"x"))
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert type(error) is exceptions.ConnectTimeoutError
    assert isinstance(error, TimeoutError)
    assert (
        str(error) == f'Connect timeout on endpoint URL: "http://127.0.0.1:{port}/endpoints/echo/invocations"'
    )


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No credentials or region from the environment or shared files; never instance metadata."""
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def test_no_credentials_error(server, isolated_env):
    ours = smr.Client(endpoint_url=server.url, region_name="us-east-1")
    error = raised_by(lambda: ours.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert type(error) is exceptions.NoCredentialsError
    assert str(error) == "Unable to locate credentials"


def test_no_region_error(server, isolated_env):
    ours = smr.Client(endpoint_url=server.url, aws_access_key_id="a", aws_secret_access_key="b")
    error = raised_by(lambda: ours.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert type(error) is exceptions.NoRegionError
    assert str(error) == "You must specify a region."


def test_credentials_and_region_from_a_shared_profile(server, isolated_env, recorder):
    (isolated_env / "credentials").write_text(
        "[team]\naws_access_key_id = AKIAPROFILEKEY000000\naws_secret_access_key = from-profile\n"
    )
    (isolated_env / "config").write_text("[profile team]\nregion = eu-west-1\n")
    ours = smr.Client(endpoint_url=server.url, profile_name="team")
    ours.invoke_endpoint(EndpointName="headers", Body=b"{}")
    assert "Credential=AKIAPROFILEKEY000000/" in recorder.last["authorization"]
    assert "/eu-west-1/sagemaker/aws4_request" in recorder.last["authorization"]


def test_credentials_from_the_environment(server, isolated_env, monkeypatch, recorder):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    smr.Client(endpoint_url=server.url).invoke_endpoint(EndpointName="headers", Body=b"{}")
    assert "Credential=AKIAENVIRONMENT00000/" in recorder.last["authorization"]
    assert "/ap-south-1/sagemaker/" in recorder.last["authorization"]


def test_credential_process_profile(server, isolated_env, recorder):
    script = isolated_env / "creds.py"
    script.write_text(
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'AKIAPROCESS000000000', "
        "'SecretAccessKey': 'from-process'}))\n"
    )
    import sys

    (isolated_env / "config").write_text(
        f"[profile proc]\nregion = us-west-2\ncredential_process = {sys.executable} {script}\n"
    )
    smr.Client(endpoint_url=server.url, profile_name="proc").invoke_endpoint(
        EndpointName="headers", Body=b"{}"
    )
    assert "Credential=AKIAPROCESS000000000/" in recorder.last["authorization"]
