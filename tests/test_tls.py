"""HTTPS: the local server over TLS, verified by the client against a CA bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import LocalServer

trustme = pytest.importorskip("trustme")


class Files:
    def __init__(self, folder: Path, ca: trustme.CA, *names: str) -> None:
        self.ca = folder / "ca.pem"
        self.cert = folder / "server-chain.pem"
        self.key = folder / "server-key.pem"
        ca.cert_pem.write_to_path(str(self.ca))
        issued = ca.issue_cert(*names)
        for blob in issued.cert_chain_pems:
            blob.write_to_path(str(self.cert), append=True)
        issued.private_key_pem.write_to_path(str(self.key))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Files:
    return Files(tmp_path_factory.mktemp("tls"), trustme.CA(), "localhost", "127.0.0.1")


@pytest.fixture(scope="module")
def https(files: Files) -> Iterator[LocalServer]:
    endpoints = {"echo": None, "upper": lambda body, headers: body.upper()}
    with LocalServer(endpoints, tls=(files.cert, files.key)) as server:
        yield server


def test_url_is_https(https):
    assert https.url == f"https://127.0.0.1:{https.port}"


def test_verify_with_the_ca_bundle_works(https, files):
    client = https.client(verify=str(files.ca))
    assert client.invoke_endpoint(EndpointName="upper", Body=b"tls")["Body"].read() == b"TLS"
    stream = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"over tls")
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"]) == b"over tls"
    accepted = client.invoke_endpoint_async(EndpointName="upper", Body=b"async tls")
    assert https.wait_for_object(accepted["OutputLocation"]) == b"ASYNC TLS"


def test_verify_accepts_a_path_object(https, files):
    client = https.client(verify=files.ca)
    assert client.invoke_endpoint(EndpointName="echo", Body=b"p")["Body"].read() == b"p"


def test_aws_ca_bundle_works(https, files, monkeypatch):
    monkeypatch.setenv("AWS_CA_BUNDLE", str(files.ca))
    client = https.client()
    assert client.invoke_endpoint(EndpointName="echo", Body=b"env")["Body"].read() == b"env"


def test_plain_http_client_against_https_server_fails_cleanly(https):
    client = https.client(endpoint_url=https.url.replace("https://", "http://"))
    with pytest.raises(exceptions.BotoCoreError):
        client.invoke_endpoint(EndpointName="echo", Body=b"x")


def test_bad_certificate_files_are_refused(tmp_path, files):
    with pytest.raises(ValueError, match="certificate"):
        LocalServer(tls=(tmp_path / "missing.pem", files.key))
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ValueError, match="no certificate"):
        LocalServer(tls=(tmp_path / "empty.pem", files.key))
    with pytest.raises(ValueError, match="private key"):
        LocalServer(tls=(files.cert, files.ca))


def test_boto3_with_the_ca_bundle_works(https, files):
    boto3 = pytest.importorskip("boto3")
    theirs = boto3.client("sagemaker-runtime", verify=str(files.ca), **https.client_kwargs())
    assert theirs.invoke_endpoint(EndpointName="upper", Body=b"b")["Body"].read() == b"B"
