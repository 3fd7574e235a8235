"""invoke_endpoint: every parameter reaches the server as its header; every response field comes back."""

from __future__ import annotations

import array
import io
import json
import sys

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs.exceptions import ParamValidationError

HEADER_OF = {
    "ContentType": ("content-type", "application/json"),
    "Accept": ("accept", "application/jsonlines"),
    "CustomAttributes": ("x-amzn-sagemaker-custom-attributes", "trace=1,user=ab"),
    "TargetModel": ("x-amzn-sagemaker-target-model", "model-a.tar.gz"),
    "TargetVariant": ("x-amzn-sagemaker-target-variant", "variant-b"),
    "TargetContainerHostname": ("x-amzn-sagemaker-target-container-hostname", "container-1"),
    "InferenceId": ("x-amzn-sagemaker-inference-id", "inference-42"),
    "EnableExplanations": ("x-amzn-sagemaker-enable-explanations", "`true`"),
    "InferenceComponentName": ("x-amzn-sagemaker-inference-component", "component-x"),
    "SessionId": ("x-amzn-sagemaker-session-id", "session-7"),
    "PrefixAwareId": ("x-amzn-sagemaker-prefix-aware-id", "prefix-9"),
}


@pytest.mark.parametrize("parameter", sorted(HEADER_OF))
def test_each_parameter_is_sent_as_its_header(client, recorder, parameter):
    header, value = HEADER_OF[parameter]
    client.invoke_endpoint(EndpointName="headers", Body=b"{}", **{parameter: value})
    assert recorder.last[header] == value


def test_all_parameters_together(client, recorder):
    kwargs = {parameter: value for parameter, (_, value) in HEADER_OF.items()}
    response = client.invoke_endpoint(EndpointName="headers", Body=b"12345", **kwargs)
    for header, value in HEADER_OF.values():
        assert recorder.last[header] == value
    assert json.loads(response["Body"].read())["body_length"] == 5


def test_request_is_sigv4_signed_for_sagemaker(client, recorder):
    client.invoke_endpoint(EndpointName="headers", Body=b"{}")
    authorization = recorder.last["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/sagemaker/aws4_request" in authorization
    assert "x-amz-date" in recorder.last


def test_user_agent_names_this_library_once_per_request(client, recorder):
    client.invoke_endpoint(EndpointName="headers", Body=b"{}")
    agent = recorder.last["user-agent"]
    python = ".".join(map(str, sys.version_info[:3]))
    assert agent.startswith(f"sagemaker-runtime-rs/{smr.__version__} aws-sdk-rust/")
    assert f" lang/python#{python} " in agent
    assert "x-amz-user-agent" not in recorder.last  # botocore sends only User-Agent


@pytest.mark.parametrize("config_class", ["ours", "botocore"])
def test_user_agent_extra_is_appended(server, recorder, config_class):
    make_config = smr.Config if config_class == "ours" else pytest.importorskip("botocore.config").Config
    client = server.client(config=make_config(user_agent_extra="my-app/2.0 team#search"))
    client.invoke_endpoint(EndpointName="headers", Body=b"{}")
    assert recorder.last["user-agent"].endswith(" my-app/2.0 team#search")


def test_response_fields(client):
    response = client.invoke_endpoint(
        EndpointName="echo",
        Body=b'{"x": 1}',
        ContentType="application/json",
        CustomAttributes="a=1",
        TargetVariant="blue",
        SessionId="NEW_SESSION",
    )
    assert response["Body"].read() == b'{"x": 1}'
    assert response["ContentType"] == "application/json"
    assert response["CustomAttributes"] == "a=1"
    assert response["InvokedProductionVariant"] == "blue"
    assert response["NewSessionId"].endswith("; Expires=2099-01-01T00:00:00Z")
    assert "ClosedSessionId" not in response
    metadata = response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 200
    assert metadata["RetryAttempts"] == 0
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"]
    assert metadata["HTTPHeaders"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in metadata["HTTPHeaders"])


def test_closed_session_id_and_absent_optional_keys(client):
    closed = client.invoke_endpoint(EndpointName="headers", Body=b"{}", SessionId="s-1")
    assert closed["ClosedSessionId"] == "sess-closed"
    plain = client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert set(plain) == {"Body", "ContentType", "InvokedProductionVariant", "ResponseMetadata"}


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"raw bytes", b"raw bytes"),
        (bytearray(b"a bytearray"), b"a bytearray"),
        ("unicode \u00e9\u2603", "unicode \u00e9\u2603".encode()),
        (memoryview(b"a memoryview"), b"a memoryview"),
        (array.array("B", [1, 2, 3]), b"\x01\x02\x03"),
        (io.BytesIO(b"a file"), b"a file"),
        (io.StringIO("a text file"), b"a text file"),
        (b"", b""),
    ],
    ids=["bytes", "bytearray", "str", "memoryview", "array", "bytesio", "stringio", "empty"],
)
def test_body_types(client, body, expected):
    assert client.invoke_endpoint(EndpointName="echo", Body=body)["Body"].read() == expected


def test_body_from_a_real_file(client, tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(bytes(range(256)) * 100)
    with path.open("rb") as handle:
        response = client.invoke_endpoint(EndpointName="echo", Body=handle)
    assert response["Body"].read() == bytes(range(256)) * 100


def test_large_body_round_trip(client):
    payload = bytes(range(256)) * 24_576  # 6 MiB exactly: the limit is inclusive
    assert len(payload) == 6_291_456
    assert client.invoke_endpoint(EndpointName="echo", Body=payload)["Body"].read() == payload


def test_body_over_the_realtime_limit_points_to_invoke_endpoint_async(client, server):
    before = server.invocations("echo")
    with pytest.raises(ParamValidationError) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x" * 6_291_457)
    message = str(raised.value)
    assert "6291457 bytes" in message and "6291456" in message and "invoke_endpoint_async" in message
    assert server.invocations("echo") == before, "nothing may be sent"


def test_file_like_read_must_return_bytes_or_str(client):
    class Odd:
        def read(self):
            return 12

    with pytest.raises(TypeError, match=r"Body.read\(\) must return bytes or str"):
        client.invoke_endpoint(EndpointName="echo", Body=Odd())


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "bell\x07"])
def test_control_characters_in_headers_are_rejected_before_sending(client, server, value):
    before = server.invocations("echo")
    with pytest.raises(ParamValidationError, match="control character"):
        client.invoke_endpoint(EndpointName="echo", Body=b"x", CustomAttributes=value)
    assert server.invocations("echo") == before


def test_tab_and_printable_unicode_free_text_pass(client, recorder):
    client.invoke_endpoint(EndpointName="headers", Body=b"x", CustomAttributes="a\tb c")
    assert recorder.last["x-amzn-sagemaker-custom-attributes"] == "a\tb c"


def test_endpoint_names_needing_escaping_reach_the_server(client, server):
    server.add_endpoint("with space", None)
    try:
        assert client.invoke_endpoint(EndpointName="with space", Body=b"ok")["Body"].read() == b"ok"
    finally:
        server.remove_endpoint("with space")


def test_python_model_result_shapes(client, server):
    server.add_endpoint("as-json", lambda body, headers: {"n": len(body)})
    server.add_endpoint("as-text", lambda body, headers: "text")
    server.add_endpoint("as-tuple", lambda body, headers: (b"csv,1", "text/csv", "k=v"))
    try:
        as_json = client.invoke_endpoint(EndpointName="as-json", Body=b"abc")
        assert (json.loads(as_json["Body"].read()), as_json["ContentType"]) == ({"n": 3}, "application/json")
        as_text = client.invoke_endpoint(EndpointName="as-text", Body=b"")
        assert (as_text["Body"].read(), as_text["ContentType"]) == (b"text", "text/plain; charset=utf-8")
        as_tuple = client.invoke_endpoint(EndpointName="as-tuple", Body=b"")
        assert (as_tuple["Body"].read(), as_tuple["ContentType"], as_tuple["CustomAttributes"]) == (
            b"csv,1",
            "text/csv",
            "k=v",
        )
    finally:
        for name in ("as-json", "as-text", "as-tuple"):
            server.remove_endpoint(name)
