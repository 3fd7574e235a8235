"""HTTPS: the local server over TLS, certificate verification in the client (on, CA bundle, off), SSLError."""

from __future__ import annotations

import asyncio
import pickle
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import Echo, LocalServer

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


def test_default_verification_refuses_an_untrusted_certificate(https):
    client = https.client()
    with pytest.raises(exceptions.SSLError) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    error = raised.value
    assert isinstance(error, exceptions.ConnectionError)
    assert isinstance(error, ConnectionError)  # the builtin
    assert str(error).startswith(f"SSL validation failed for {https.url}/endpoints/echo/invocations ")
    assert "certificate" in str(error)
    assert https.invocations("echo") == 0


def test_ssl_error_is_botocores(https):
    botocore_exceptions = pytest.importorskip("botocore.exceptions")
    with pytest.raises(botocore_exceptions.SSLError):
        https.client().invoke_endpoint(EndpointName="echo", Body=b"x")


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


def test_async_client(https, files):
    async def main() -> tuple[bytes, type]:
        async with smr.AsyncClient(**https.client_kwargs(), verify=str(files.ca)) as trusting:
            body = await (await trusting.invoke_endpoint(EndpointName="echo", Body=b"a"))["Body"].read()
        async with smr.AsyncClient(**https.client_kwargs()) as default:
            try:
                await default.invoke_endpoint(EndpointName="echo", Body=b"a")
            except Exception as error:
                return body, type(error)
        return body, type(None)

    assert asyncio.run(main()) == (b"a", exceptions.SSLError)


def test_a_certificate_for_another_host_is_refused(tmp_path, files):
    # Signed by the trusted CA, but for a name the client does not connect to: hostname checking is on.
    other = Files(tmp_path, trustme.CA(), "elsewhere.example")
    with LocalServer(tls=(other.cert, other.key)) as server:
        client = server.client(verify=str(other.ca))
        with pytest.raises(exceptions.SSLError, match="certificate"):
            client.invoke_endpoint(EndpointName="echo", Body=b"x")


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


class CountingTlsServer:
    """A TLS listener that counts connections: shows how often the client tried."""

    def __init__(self, files: Files) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(files.cert), str(files.key))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            self.connections += 1
            connection.settimeout(2)
            try:
                self.context.wrap_socket(connection, server_side=True).close()
            except (OSError, ssl.SSLError):
                connection.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


def test_certificate_errors_are_not_retried(files):
    server = CountingTlsServer(files)
    try:
        client = smr.Client(
            endpoint_url=f"https://127.0.0.1:{server.port}",
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            config=smr.Config(retries={"total_max_attempts": 5}),
        )
        with pytest.raises(exceptions.SSLError):
            client.invoke_endpoint(EndpointName="echo", Body=b"x")
    finally:
        server.close()
    assert server.connections == 1


def test_boto3_raises_the_same_class_by_default(https):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    # One attempt: botocore retries SSL errors (with backoff), which says nothing here.
    once = Config(retries={"total_max_attempts": 1})
    theirs = boto3.client("sagemaker-runtime", config=once, **https.client_kwargs())
    with pytest.raises(Exception) as raised_theirs:
        theirs.invoke_endpoint(EndpointName="echo", Body=b"x")
    with pytest.raises(Exception) as raised_ours:
        https.client().invoke_endpoint(EndpointName="echo", Body=b"x")
    assert type(raised_theirs.value).__name__ == type(raised_ours.value).__name__ == "SSLError"
    assert str(raised_ours.value).startswith(str(raised_theirs.value).split(" [SSL")[0])


def test_boto3_with_the_ca_bundle_works(https, files):
    boto3 = pytest.importorskip("boto3")
    theirs = boto3.client("sagemaker-runtime", verify=str(files.ca), **https.client_kwargs())
    assert theirs.invoke_endpoint(EndpointName="upper", Body=b"b")["Body"].read() == b"B"


# --- verify=False ----------------------------------------------------------------------------------------


def test_verify_false_skips_certificate_checks(https):
    client = https.client(verify=False)
    assert client.invoke_endpoint(EndpointName="upper", Body=b"unverified")["Body"].read() == b"UNVERIFIED"
    stream = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"a b")
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"]) == b"a b"
    accepted = client.invoke_endpoint_async(EndpointName="upper", Body=b"async")
    assert https.wait_for_object(accepted["OutputLocation"]) == b"ASYNC"
    again = pickle.loads(pickle.dumps(client))  # the setting survives a rebuild
    assert again.invoke_endpoint(EndpointName="echo", Body=b"p")["Body"].read() == b"p"


def test_verify_false_accepts_a_certificate_for_another_host(tmp_path):
    other = Files(tmp_path, trustme.CA(), "elsewhere.example")
    with LocalServer(tls=(other.cert, other.key)) as server:
        client = server.client(verify=False)
        assert client.invoke_endpoint(EndpointName="echo", Body=b"x")["Body"].read() == b"x"


def test_verify_false_async_client(https):
    async def main() -> bytes:
        async with smr.AsyncClient(**https.client_kwargs(), verify=False) as client:
            return await (await client.invoke_endpoint(EndpointName="upper", Body=b"a"))["Body"].read()

    assert asyncio.run(main()) == b"A"


def test_verify_false_over_plain_http(server):
    assert server.client(verify=False).invoke_endpoint(EndpointName="echo", Body=b"h")["Body"].read() == b"h"


def test_verify_false_keeps_the_read_timeout_and_does_not_resend(https):
    https.add_endpoint("slow", Echo(delay=1.5))
    try:
        client = https.client(
            verify=False, config=smr.Config(read_timeout=0.3, retries={"total_max_attempts": 3})
        )
        with pytest.raises(exceptions.ReadTimeoutError):
            client.invoke_endpoint(EndpointName="slow", Body=b"x")
        assert https.invocations("slow") == 1  # a sent request is not retried: the model would run twice
    finally:
        https.remove_endpoint("slow")


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def failure_of(verify: bool, url: str, **config) -> type:
    client = smr.Client(
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        verify=verify,
        config=smr.Config(retries={"total_max_attempts": 1}, **config),
    )
    with pytest.raises(Exception) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    return type(raised.value)


def test_verify_false_fails_like_the_default_client():
    refused = f"https://127.0.0.1:{unused_port()}"
    assert failure_of(False, refused) is failure_of(True, refused) is exceptions.EndpointConnectionError

    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
            url = f"https://127.0.0.1:{listener.getsockname()[1]}"
            ours = failure_of(False, url, connect_timeout=0.3, read_timeout=2)
            assert ours is failure_of(True, url, connect_timeout=0.3, read_timeout=2)
            assert ours is exceptions.ConnectTimeoutError
        finally:
            for filler in fillers:
                filler.close()
