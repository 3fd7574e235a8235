"""invoke_endpoint_async: the S3-based InvokeEndpointAsync API against the local server's stand-in for S3."""

from __future__ import annotations

import asyncio
import json

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions

botocore_exceptions = pytest.importorskip("botocore.exceptions")


def test_input_from_s3_output_written_back(client, server):
    uri = server.put_object("s3://my-bucket/inputs/request.json", b'{"inputs": "async"}')
    response = client.invoke_endpoint_async(
        EndpointName="upper", InputLocation=uri, ContentType="application/json", InferenceId="job-1"
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["InferenceId"] == "job-1"
    assert response["OutputLocation"] == "s3://sagemaker-local/async-output/job-1.out"
    assert response["FailureLocation"] == "s3://sagemaker-local/async-failures/job-1-error.out"
    assert server.wait_for_object(response["OutputLocation"]) == b'{"INPUTS": "ASYNC"}'


def test_every_parameter(client, server, recorder):
    uri = server.put_object("s3://b/in.bin", b"x")
    response = client.invoke_endpoint_async(
        EndpointName="headers",
        InputLocation=uri,
        ContentType="application/x-npy",
        Accept="application/json",
        CustomAttributes="c=1",
        InferenceId="id-2",
        S3OutputPathExtension="batch-7",
        Filename="result.json",
        RequestTTLSeconds=600,
        InvocationTimeoutSeconds=900,
    )
    assert response["OutputLocation"] == "s3://sagemaker-local/async-output/batch-7/result.json"
    output = json.loads(server.wait_for_object(response["OutputLocation"]))
    headers = output["headers"]
    assert headers["content-type"] == "application/x-npy"
    assert headers["x-amzn-sagemaker-requestttlseconds"] == "600"
    assert headers["x-amzn-sagemaker-invocationtimeoutseconds"] == "900"
    assert headers["x-amzn-sagemaker-s3outputpathextension"] == "batch-7"
    assert headers["x-amzn-sagemaker-custom-attributes"] == "c=1"


def test_inline_body(client, server):
    response = client.invoke_endpoint_async(EndpointName="upper", Body=b"inline")
    assert server.wait_for_object(response["OutputLocation"]) == b"INLINE"


def test_model_failure_is_written_to_the_failure_location(client, server):
    response = client.invoke_endpoint_async(EndpointName="failing", Body=b"{}")
    failure = json.loads(server.wait_for_object(response["FailureLocation"]))
    assert failure["OriginalMessage"] == "input rejected by the model"


def test_missing_input_object_is_a_failure(client, server):
    response = client.invoke_endpoint_async(EndpointName="echo", InputLocation="s3://nowhere/missing.json")
    assert b"Failed to download input data" in server.wait_for_object(response["FailureLocation"])


def test_invalid_input_location_is_a_validation_error(client):
    with pytest.raises(exceptions.ValidationError, match="S3 URI"):
        client.invoke_endpoint_async(EndpointName="echo", InputLocation="/local/path.json")


def test_unknown_endpoint(client):
    with pytest.raises(exceptions.ValidationError, match="Endpoint nope of account"):
        client.invoke_endpoint_async(EndpointName="nope", InputLocation="s3://b/k")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"InputLocation": "s3://b/k"},
        {"EndpointName": "echo", "RequestTTLSeconds": 10},
        {"EndpointName": "echo", "InvocationTimeoutSeconds": 0},
        {"EndpointName": "echo", "RequestTTLSeconds": "600"},
        {"EndpointName": "echo", "Filename": ""},
    ],
)
def test_parameter_validation_equals_botocore(client, boto_client, kwargs):
    with pytest.raises(exceptions.ParamValidationError) as ours:
        client.invoke_endpoint_async(**kwargs)
    with pytest.raises(botocore_exceptions.ParamValidationError) as theirs:
        boto_client.invoke_endpoint_async(**kwargs)
    assert str(ours.value) == str(theirs.value)


def test_inline_body_limit(client):
    with pytest.raises(exceptions.ParamValidationError, match=r"128000 bytes.*InputLocation"):
        client.invoke_endpoint_async(EndpointName="echo", Body=b"x" * 128_001)


def test_response_equals_boto3(client, boto_client, server):
    uri = server.put_object("s3://b/same.json", b"{}")
    ours = client.invoke_endpoint_async(EndpointName="echo", InputLocation=uri, InferenceId="same")
    theirs = boto_client.invoke_endpoint_async(EndpointName="echo", InputLocation=uri, InferenceId="same")
    for response in (ours, theirs):
        response["ResponseMetadata"].pop("RequestId")
        for header in ("date", "x-amzn-requestid"):
            response["ResponseMetadata"]["HTTPHeaders"].pop(header)
    assert ours == theirs


def test_async_client_face(server):
    async def main():
        client = smr.AsyncClient(**server.client_kwargs())
        return await client.invoke_endpoint_async(EndpointName="upper", Body=b"from asyncio")

    response = asyncio.run(main())
    assert server.wait_for_object(response["OutputLocation"]) == b"FROM ASYNCIO"
