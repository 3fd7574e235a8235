"""Credentials never show in repr, str, exception messages or log records."""

from __future__ import annotations

import logging
import pickle
import socket

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import LocalServer

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and TOKEN not in text, text


def test_errors_and_logs_never_carry_the_secret(caplog):
    caplog.set_level(logging.DEBUG)
    with LocalServer({"echo": None}, credentials={"AKIASTRICT0000000000": "the-right-secret"}) as strict:
        client = smr.Client(
            endpoint_url=strict.url,
            region_name="us-east-1",
            aws_access_key_id="AKIASTRICT0000000000",
            aws_secret_access_key=SECRET,
            aws_session_token=TOKEN,
            config=smr.Config(retries={"total_max_attempts": 1}),
        )
        with pytest.raises(exceptions.ClientError) as refused:
            client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    unreachable = smr.Client(
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key=SECRET,
        config=smr.Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(exceptions.EndpointConnectionError) as connection:
        unreachable.invoke_endpoint(EndpointName="echo", Body=b"x")
    with pytest.raises(exceptions.ParamValidationError) as invalid:
        client.invoke_endpoint(EndpointName="echo", Body=b"x", ContentType="bad\r\n")
    for error in (refused.value, connection.value, invalid.value):
        assert_clean(str(error), repr(error), repr(getattr(error, "response", None)))
    assert_clean(repr(client), repr(client.meta), repr(unreachable))
    assert_clean(*(record.getMessage() for record in caplog.records))


def test_pickle_of_a_client_without_explicit_keys_holds_no_secret(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    assert_clean(pickle.dumps(smr.Client(region_name="us-east-1")).decode("latin-1"))
