"""The same calls through boto3 and through our client, against the same local server, must agree."""

from __future__ import annotations

import pytest
from sagemaker_runtime_rs import exceptions

botocore_exceptions = pytest.importorskip("botocore.exceptions")

VOLATILE_HEADERS = {"date", "x-amzn-requestid", "x-amzn-sagemaker-new-session-id"}


def normalized(response: dict) -> dict:
    """Drops what differs between any two calls: request ids, dates, generated session ids."""
    result = {key: value for key, value in response.items() if key not in ("Body", "NewSessionId")}
    metadata = dict(result["ResponseMetadata"])
    metadata.pop("RequestId", None)
    metadata["HTTPHeaders"] = {k: v for k, v in metadata["HTTPHeaders"].items() if k not in VOLATILE_HEADERS}
    result["ResponseMetadata"] = metadata
    if "Body" in response:
        result["Body"] = response["Body"].read()
    if "NewSessionId" in response:
        result["NewSessionId"] = "<present>"
    return result


CALLS = [
    {"EndpointName": "echo", "Body": b'{"inputs": "hi"}', "ContentType": "application/json"},
    {"EndpointName": "echo", "Body": "text body", "Accept": "text/plain", "CustomAttributes": "c=1"},
    {
        "EndpointName": "echo",
        "Body": bytearray(b"\x00\x01binary"),
        "TargetVariant": "v2",
        "SessionId": "NEW_SESSION",
    },
    {"EndpointName": "echo", "Body": b""},
    {"EndpointName": "upper", "Body": b"shout", "InferenceId": "id-1", "EnableExplanations": "`false`"},
    {"EndpointName": "headers", "Body": b"{}", "SessionId": "s-1", "TargetModel": "m.tar.gz"},
]


@pytest.mark.parametrize("kwargs", CALLS)
def test_success_responses_are_equal(client, boto_client, kwargs):
    ours = normalized(client.invoke_endpoint(**kwargs))
    theirs = normalized(boto_client.invoke_endpoint(**kwargs))
    if kwargs["EndpointName"] == "headers":  # the echoed request headers name each client's user agent
        ours.pop("Body")
        theirs.pop("Body")
        for metadata in (ours["ResponseMetadata"], theirs["ResponseMetadata"]):
            metadata["HTTPHeaders"].pop("content-length")
    assert ours == theirs


def error_of(call) -> Exception:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value


def normalized_error(error: Exception) -> dict:
    response = dict(error.response)
    metadata = dict(response["ResponseMetadata"])
    metadata.pop("RequestId", None)
    metadata["HTTPHeaders"] = {k: v for k, v in metadata["HTTPHeaders"].items() if k not in VOLATILE_HEADERS}
    response["ResponseMetadata"] = metadata
    return response


@pytest.mark.parametrize(
    "kwargs, class_name",
    [
        ({"EndpointName": "no-such-endpoint", "Body": b"{}"}, "ValidationError"),
        ({"EndpointName": "failing", "Body": b"{}"}, "ModelError"),
        ({"EndpointName": "crashing", "Body": b"{}"}, "ModelError"),
    ],
)
def test_service_errors_are_equal(client, boto_client, kwargs, class_name):
    ours = error_of(lambda: client.invoke_endpoint(**kwargs))
    theirs = error_of(lambda: boto_client.invoke_endpoint(**kwargs))
    assert type(theirs).__name__ == type(ours).__name__ == class_name
    assert isinstance(ours, getattr(client.exceptions, class_name))
    assert isinstance(ours, botocore_exceptions.ClientError)
    assert str(ours) == str(theirs)
    assert normalized_error(ours) == normalized_error(theirs)
    assert ours.operation_name == theirs.operation_name == "InvokeEndpoint"


def test_model_error_carries_original_status_and_message(client):
    error = error_of(lambda: client.invoke_endpoint(EndpointName="failing", Body=b"{}"))
    assert error.response["OriginalStatusCode"] == 400
    assert error.response["OriginalMessage"] == "input rejected by the model"
    assert error.response["LogStreamArn"].endswith(":log-group:/aws/sagemaker/Endpoints/failing")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_boto3_style_except_clauses_catch_our_errors(client):
    with pytest.raises(botocore_exceptions.ClientError):
        client.invoke_endpoint(EndpointName="failing", Body=b"{}")
    with pytest.raises(client.exceptions.ModelError):
        client.invoke_endpoint(EndpointName="failing", Body=b"{}")
    with pytest.raises(botocore_exceptions.ParamValidationError):
        client.invoke_endpoint(EndpointName="echo")
    with pytest.raises(exceptions.ValidationError):
        client.invoke_endpoint(EndpointName="nope", Body=b"")


INVALID_CALLS = [
    {"EndpointName": "echo"},
    {"Body": b"x"},
    {},
    {"EndpointName": "echo", "Body": 1},
    {"EndpointName": "echo", "Body": None},
    {"EndpointName": "echo", "Body": b"x", "ContentType": None},
    {"EndpointName": "echo", "Body": b"x", "Accept": 3.5},
    {"EndpointName": 7, "Body": b"x"},
    {"EndpointName": "echo", "Body": b"x", "Unknown": 1},
    {"EndpointName": "echo", "Body": 1, "Foo": 2, "Bar": 3},
    {"EndpointName": "echo", "Body": b"x", "TargetModel": ""},
    {"EndpointName": "echo", "Body": b"x", "InferenceId": ""},
    {"EndpointName": "echo", "Body": b"x", "EnableExplanations": ""},
    {"EndpointName": "echo", "Body": [1, 2]},
]


@pytest.mark.parametrize("kwargs", INVALID_CALLS)
def test_parameter_validation_messages_equal_botocore(client, boto_client, server, kwargs):
    before = server.invocations("echo")
    ours = error_of(lambda: client.invoke_endpoint(**kwargs))
    theirs = error_of(lambda: boto_client.invoke_endpoint(**kwargs))
    assert isinstance(theirs, botocore_exceptions.ParamValidationError)
    assert isinstance(ours, exceptions.ParamValidationError)
    assert isinstance(ours, ValueError)
    assert str(ours) == str(theirs)
    assert server.invocations("echo") == before


def test_positional_arguments_are_refused_as_in_boto3(client, boto_client):
    ours = error_of(lambda: client.invoke_endpoint("echo"))
    theirs = error_of(lambda: boto_client.invoke_endpoint("echo"))
    assert type(ours) is type(theirs) is TypeError
    assert str(ours) == str(theirs) == "invoke_endpoint() only accepts keyword arguments."


def test_empty_endpoint_name_is_refused_before_sending(client):
    """Deliberate difference: boto3 sends /endpoints//invocations; the Rust SDK refuses an empty URI label."""
    with pytest.raises(exceptions.ParamValidationError, match="EndpointName, value: 0, valid min length: 1"):
        client.invoke_endpoint(EndpointName="", Body=b"x")


def test_client_exceptions_namespace_matches_boto3(client, boto_client):
    for name in (
        "ValidationError",
        "ModelError",
        "ModelNotReadyException",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalDependencyException",
        "ModelStreamError",
        "InternalStreamFailure",
        "ClientError",
    ):
        ours = getattr(client.exceptions, name)
        assert issubclass(ours, botocore_exceptions.ClientError)
        assert hasattr(boto_client.exceptions, name)
        if name != "ClientError":
            assert client.exceptions.from_code(name) is ours
            assert boto_client.exceptions.from_code(name).__name__ == name
    assert client.exceptions.from_code("SomethingElse") is client.exceptions.ClientError
