"""The local server: SigV4 gate, routing, endpoint management, the command line."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from sagemaker_runtime_rs.local import Echo, LocalServer


def raw_post(url: str, headers: dict[str, str] | None = None, body: bytes = b"{}") -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), {}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read() or b"{}")


def test_unsigned_request_is_rejected(server):
    status, headers, body = raw_post(f"{server.url}/endpoints/echo/invocations")
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    assert body == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    "authorization, fragment",
    [
        ("Bearer token", "AWS4-HMAC-SHA256"),
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + "0" * 64, "'Credential'"),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature="
            + "0" * 64,
            "'sagemaker'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=xyz",
            "64 hexadecimal",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature="
            + "0" * 64,
            "scoped",
        ),
    ],
)
def test_malformed_signatures_are_rejected(server, authorization, fragment):
    headers = {"Authorization": authorization, "X-Amz-Date": "20260101T000000Z"}
    status, response_headers, body = raw_post(f"{server.url}/endpoints/echo/invocations", headers)
    assert status == 403
    assert response_headers["x-amzn-errortype"].startswith("IncompleteSignatureException")
    assert fragment in body["message"]


def test_unknown_operation(server):
    status, headers, _ = raw_post(f"{server.url}/endpoints/echo/unknown")
    assert status == 404
    assert headers["x-amzn-errortype"].startswith("UnknownOperationException")


def test_auth_can_be_disabled():
    with LocalServer({"open": Echo()}, require_auth=False) as open_server:
        status, _, _ = raw_post(f"{open_server.url}/endpoints/open/invocations", body=b"hi")
        assert status == 200


def test_endpoints_can_be_added_removed_and_counted(client, server):
    server.add_endpoint("temporary", lambda body, headers: b"here")
    assert "temporary" in server.endpoint_names
    assert client.invoke_endpoint(EndpointName="temporary", Body=b"")["Body"].read() == b"here"
    assert server.invocations("temporary") == 1
    server.remove_endpoint("temporary")
    with pytest.raises(client.exceptions.ValidationError, match="Endpoint temporary of account"):
        client.invoke_endpoint(EndpointName="temporary", Body=b"")
    with pytest.raises(KeyError):
        server.remove_endpoint("temporary")
    with pytest.raises(TypeError):
        server.add_endpoint("bad", 42)  # type: ignore[arg-type]


def test_port_zero_picks_a_free_port_and_stop_is_idempotent():
    first, second = LocalServer().start(), LocalServer().start()
    try:
        assert first.port != second.port and first.port > 0
        assert repr(first).startswith(f"<LocalServer {first.url}")
    finally:
        first.stop()
        second.stop()
        second.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = first.url


def test_concurrent_connections_are_served_and_stop_closes_every_one():
    # Connections are dealt out to one thread per core; each must be served, and stop() must close all.
    server = LocalServer(require_auth=False).start()
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in range(6)]
    try:
        for round_trip in range(3):
            for index, connection in enumerate(connections):
                body = f"connection {index} round {round_trip}".encode()
                connection.request("POST", "/endpoints/echo/invocations", body=body)
                response = connection.getresponse()
                assert (response.status, response.read()) == (200, body)
        assert server.connections_accepted == 6 and server.connections_open == 6
    finally:
        server.stop()
    for connection in connections:
        assert connection.sock is not None
        assert connection.sock.recv(1) == b"", "the server closed the connection"
        connection.close()


def test_serve_command_line(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_runtime_rs", "serve", "--port", "0", "--endpoint", "cli-echo"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving cli-echo at http://127.0.0.1:")
        url = line.split(" at ")[1].strip()
        import sagemaker_runtime_rs as smr
        from sagemaker_runtime_rs.local import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY

        client = smr.Client(
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        )
        assert client.invoke_endpoint(EndpointName="cli-echo", Body=b"cli")["Body"].read() == b"cli"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


def test_demo_command_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sagemaker_runtime_rs", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "CustomAttributes:         trace_id=demo-2  (round trip)" in result.stdout
    assert "OriginalStatusCode: 400" in result.stdout
    assert "Endpoint missing of account 123456789012 not found." in result.stdout
