"""Strict SigV4 mode of the local server: signatures are verified with the configured keys, as AWS does."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs import exceptions
from sagemaker_runtime_rs.local import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, Echo, LocalServer

KEY_ID = "AKIASTRICTLOCAL00001"
SECRET = "strict/secret+key=="
OTHER_KEY_ID = "AKIASTRICTLOCAL00002"
OTHER_SECRET = "another-secret"

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


@pytest.fixture(scope="module")
def strict() -> Iterator[LocalServer]:
    endpoints = {"echo": Echo(), "upper": lambda body, headers: body.upper()}
    with LocalServer(endpoints, credentials={KEY_ID: SECRET, OTHER_KEY_ID: OTHER_SECRET}) as server:
        yield server


def client_with(server: LocalServer, key_id: str, secret: str, **kwargs) -> smr.Client:
    return server.client(aws_access_key_id=key_id, aws_secret_access_key=secret, **kwargs)


def error_of(call) -> exceptions.ClientError:
    with pytest.raises(exceptions.ClientError) as raised:
        call()
    return raised.value


# --- our client ------------------------------------------------------------------------------------------


def test_right_key_passes_every_operation(strict):
    client = strict.client()  # client_kwargs() carries the server's first key
    response = client.invoke_endpoint(
        EndpointName="upper", Body=b'{"a": "b"}', ContentType="application/json"
    )
    assert response["Body"].read() == b'{"A": "B"}'

    other = client_with(strict, OTHER_KEY_ID, OTHER_SECRET)
    stream = other.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"one two three")
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"]) == b"one two three"

    accepted = client.invoke_endpoint_async(EndpointName="upper", Body=b"async body", InferenceId="strict-1")
    assert accepted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert strict.wait_for_object(accepted["OutputLocation"]) == b"ASYNC BODY"


def test_every_header_parameter_is_signed_and_verified(strict):
    # Headers the SDK signs (custom attributes, target variant, ...) must reach the verifier unchanged.
    response = strict.client().invoke_endpoint(
        EndpointName="echo",
        Body="é unicode body",
        ContentType="text/plain; charset=utf-8",
        Accept="*/*",
        CustomAttributes="a=1, b=two;c",
        TargetVariant="variant-1",
        InferenceId="id with spaces",
    )
    assert response["CustomAttributes"] == "a=1, b=two;c"


def test_session_token_is_signed_along(strict):
    client = client_with(strict, KEY_ID, SECRET, aws_session_token="FwoGZXIvYXdzEtoken//+=")
    assert client.invoke_endpoint(EndpointName="echo", Body=b"x")["Body"].read() == b"x"


def test_async_client_passes(strict):
    async def main() -> bytes:
        async with smr.AsyncClient(**strict.client_kwargs()) as client:
            response = await client.invoke_endpoint(EndpointName="upper", Body=b"from asyncio")
            return await response["Body"].read()

    assert asyncio.run(main()) == b"FROM ASYNCIO"


def test_wrong_secret_is_an_invalid_signature(strict):
    client = client_with(strict, KEY_ID, "not-the-secret")
    error = error_of(lambda: client.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert error.response["Error"] == {"Code": "InvalidSignatureException", "Message": MISMATCH}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0

    stream_error = error_of(
        lambda: client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"x")
    )
    assert stream_error.response["Error"]["Code"] == "InvalidSignatureException"


def test_unknown_key_is_unrecognized(strict):
    client = client_with(strict, "AKIANOBODYKNOWSTHIS0", SECRET)
    error = error_of(lambda: client.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert error.response["Error"] == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_refused_requests_never_reach_the_model(strict):
    strict.add_endpoint("counted", Echo())
    try:
        bad = client_with(strict, KEY_ID, "wrong")
        with pytest.raises(exceptions.ClientError):
            bad.invoke_endpoint(EndpointName="counted", Body=b"x")
        assert strict.invocations("counted") == 0
        strict.client().invoke_endpoint(EndpointName="counted", Body=b"x")
        assert strict.invocations("counted") == 1
    finally:
        strict.remove_endpoint("counted")


def test_the_default_local_keys_are_refused_in_strict_mode(strict):
    client = client_with(strict, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
    error = error_of(lambda: client.invoke_endpoint(EndpointName="echo", Body=b"x"))
    assert error.response["Error"]["Code"] == "UnrecognizedClientException"


def test_strict_mode_requires_auth():
    with pytest.raises(ValueError, match="requires authentication"):
        LocalServer(credentials={KEY_ID: SECRET}, require_auth=False)
    with pytest.raises(ValueError, match="at least one"):
        LocalServer(credentials={})


# --- requests signed by hand (a third SigV4 implementation, independent of both SDKs) ---------------------


def signed_headers(
    url: str,
    body: bytes,
    when: datetime.datetime,
    *,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """SigV4 headers for a POST, following AWS's published algorithm."""
    parts = urllib.parse.urlsplit(url)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "host": parts.netloc,
        "x-amz-date": amz_date,
        "content-type": "application/json",
        **(extra or {}),
    }
    names = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            urllib.parse.quote(parts.path, safe="/~"),  # every service but S3 encodes the path once more
            parts.query,
            "".join(f"{name}:{headers[name].strip()}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/us-east-1/sagemaker/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def invocations_url(server: LocalServer, endpoint: str = "upper") -> str:
    return f"{server.url}/endpoints/{endpoint}/invocations"


def test_hand_signed_request_passes(strict):
    url, body = invocations_url(strict), b'{"x": "y"}'
    status, _, answer = send(url, body, signed_headers(url, body, now()))
    assert (status, answer) == (200, b'{"X": "Y"}')


def test_declared_payload_hash_is_honoured_and_checked(strict):
    url, body = invocations_url(strict), b'{"x": "y"}'
    declared = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    assert send(url, body, signed_headers(url, body, now(), extra=declared))[0] == 200

    # A body that does not match the signed hash is refused, even though the signature covers the header.
    status, headers, _ = send(url, b'{"x": "z"}', signed_headers(url, body, now(), extra=declared))
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("InvalidSignatureException")


def test_tampered_body_is_refused(strict):
    url = invocations_url(strict)
    headers = signed_headers(url, b'{"amount": 1}', now())
    status, response_headers, answer = send(url, b'{"amount": 9}', headers)
    assert status == 403
    assert response_headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert json.loads(answer) == {"message": MISMATCH}


def test_stale_date_is_expired(strict):
    url, body = invocations_url(strict), b"{}"
    signed_at = now() - datetime.timedelta(hours=1)
    before = now()
    status, headers, answer = send(url, body, signed_headers(url, body, signed_at))
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    message = json.loads(answer)["message"]
    date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    assert message.startswith(f"Signature expired: {date} is now earlier than ")
    # "... than {now - 5 min} ({now} - 5 min.)", with the server's now
    server_now = datetime.datetime.strptime(message.rsplit("(", 1)[1][:16], "%Y%m%dT%H%M%SZ")
    server_now = server_now.replace(tzinfo=datetime.timezone.utc)
    assert abs(server_now - before) < datetime.timedelta(seconds=30)
    limit = (server_now - datetime.timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    assert message.endswith(f"is now earlier than {limit} ({server_now:%Y%m%dT%H%M%SZ} - 5 min.)")


def test_future_date_is_not_yet_current(strict):
    url, body = invocations_url(strict), b"{}"
    status, headers, answer = send(url, body, signed_headers(url, body, now() + datetime.timedelta(hours=1)))
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert " is still later than " in json.loads(answer)["message"]


def test_small_clock_skew_is_tolerated(strict):
    url, body = invocations_url(strict), b"{}"
    assert send(url, body, signed_headers(url, body, now() - datetime.timedelta(minutes=4)))[0] == 200


def test_unsigned_header_changes_do_not_matter_but_signed_ones_do(strict):
    url, body = invocations_url(strict), b"{}"
    headers = signed_headers(url, body, now(), extra={"x-amzn-sagemaker-custom-attributes": "a=1"})
    assert send(url, body, {**headers, "x-added-by-a-proxy": "1"})[0] == 200
    assert send(url, body, {**headers, "x-amzn-sagemaker-custom-attributes": "a=2"})[0] == 403


def test_non_strict_server_still_checks_only_the_form(server):
    # The session's default server is not strict: a wrong secret passes, as before.
    url, body = invocations_url(server, "echo"), b"{}"
    assert send(url, body, signed_headers(url, body, now(), secret="anything"))[0] == 200


# --- boto3 against the strict server (the verifier is not tailored to our client) --------------------------


def test_boto3_with_the_right_key_passes(strict):
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("sagemaker-runtime", **strict.client_kwargs())
    response = client.invoke_endpoint(
        EndpointName="upper", Body=b"boto", ContentType="text/plain", CustomAttributes="k=v"
    )
    assert response["Body"].read() == b"BOTO"
    stream = client.invoke_endpoint_with_response_stream(EndpointName="echo", Body=b"a b")
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"]) == b"a b"
    accepted = client.invoke_endpoint_async(EndpointName="upper", InputLocation="s3://sagemaker-local/none")
    assert accepted["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_boto3_with_a_wrong_secret_gets_the_same_error(strict):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    kwargs = {**strict.client_kwargs(), "aws_secret_access_key": "wrong"}
    client = boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1}), **kwargs)
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.invoke_endpoint(EndpointName="echo", Body=b"x")
    assert raised.value.response["Error"] == {"Code": "InvalidSignatureException", "Message": MISMATCH}
