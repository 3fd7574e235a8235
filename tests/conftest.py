"""Fixtures: one local SageMaker Runtime server per session (real HTTP over loopback), our client and boto3's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import sagemaker_runtime_rs as smr
from sagemaker_runtime_rs.local import Echo, LocalServer, ModelFailure, ModelResponse


def wait_for(condition, timeout: float = 5.0) -> bool:
    """Polls `condition` until it holds or `timeout` passes (for effects the server sees asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class HeaderRecorder:
    """A model that answers with the request headers it received, as JSON."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, body: bytes, headers: dict[str, str]) -> ModelResponse:
        with self._lock:
            self.last = dict(headers)
        return ModelResponse(
            body=json.dumps({"headers": headers, "body_length": len(body)}),
            content_type="application/json",
            custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
            headers={"x-amzn-sagemaker-closed-session-id": "sess-closed"}
            if "x-amzn-sagemaker-session-id" in headers
            else {},
        )


def model_failure(body: bytes, headers: dict[str, str]) -> bytes:
    raise ModelFailure(400, "input rejected by the model")


def model_crash(body: bytes, headers: dict[str, str]) -> bytes:
    raise RuntimeError("container crashed")


@pytest.fixture(scope="session")
def recorder() -> HeaderRecorder:
    return HeaderRecorder()


@pytest.fixture(scope="session")
def server(recorder: HeaderRecorder) -> Iterator[LocalServer]:
    endpoints = {
        "echo": Echo(),
        "slow": Echo(delay=1.0),
        "headers": recorder,
        "failing": model_failure,
        "crashing": model_crash,
        "upper": lambda body, headers: body.upper(),
    }
    with LocalServer(endpoints) as running:
        yield running


@pytest.fixture(scope="session")
def client(server: LocalServer) -> smr.Client:
    return server.client()


@pytest.fixture(scope="session")
def boto_client(server: LocalServer):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    # Standard retries on both sides, so retry counts compare (boto3 defaults to legacy mode).
    return boto3.client(
        "sagemaker-runtime",
        config=Config(retries={"mode": "standard", "max_attempts": 2}),
        **server.client_kwargs(),
    )
