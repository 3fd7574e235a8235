"""A local SageMaker Runtime server for demos, tests and CI: real HTTP, real wire format, no AWS account.

    with LocalServer({"echo": Echo(), "upper": lambda body, headers: body.upper()}) as server:
        client = server.client()
        client.invoke_endpoint(EndpointName="upper", Body=b"hi")["Body"].read()  # b"HI"

A model is the built-in echo (``Echo()`` or ``None``) or a callable ``model(body: bytes, headers: dict) -> result``
where result is bytes, str, a JSON-serializable dict/list, a ``(body, content_type[, custom_attributes])`` tuple or
a ``ModelResponse``. Raising ``ModelFailure(status, message)`` (or any exception, as status 500) makes the server
answer 424 ModelError with OriginalStatusCode and OriginalMessage, as SageMaker does when a container fails.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

from ._core import _LocalServer

# Credentials the local server accepts; it checks the signature's form, not its key (unless strict, see
# LocalServer's `credentials`).
LOCAL_ACCESS_KEY_ID = "AKIALOCALSAGEMAKER00"
LOCAL_SECRET_ACCESS_KEY = "local-secret-access-key"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Echo:
    """The built-in model: returns the request body, content type and custom attributes after `delay` seconds."""

    delay: float = 0.0


@dataclass
class ModelResponse:
    """A model's full answer."""

    body: bytes | str
    content_type: str = "application/json"
    custom_attributes: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ModelFailure(Exception):
    """Raise from a model to make the container answer `status_code` with `message` (-> ModelError 424)."""

    def __init__(self, status_code: int = 500, message: str = "model failure") -> None:
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message


class ServiceFailure(Exception):
    """Raise from a model to make the *service* answer instead of the container: an AWS error response with
    `status_code` and `x-amzn-ErrorType: code`, e.g. ``ServiceFailure("ServiceUnavailable", "busy", 503)``.
    `body` replaces the JSON body verbatim (an HTML page from a proxy, an empty body)."""

    def __init__(
        self, code: str, message: str = "", status_code: int = 500, body: bytes | None = None
    ) -> None:
        super().__init__(code, message, status_code)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.body = body


class StreamError(Exception):
    """Raise from a streaming model mid-stream: the client gets a ModelStreamError event with `error_code`
    (``"ModelInvocationTimeExceeded"`` or ``"StreamBroken"``), or InternalStreamFailure when `internal`."""

    def __init__(self, message: str, error_code: str = "StreamBroken", internal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.internal = internal


@dataclass(frozen=True)
class CorruptFrame:
    """Yield from a streaming model: sends a PayloadPart frame whose checksum is wrong."""

    data: bytes = b"corrupt"


@dataclass(frozen=True)
class CutConnection:
    """Yield from a streaming model: drops the connection in the middle of the stream."""


@dataclass(frozen=True)
class UnknownEvent:
    """Yield from a streaming model: an event of a type the service does not define."""

    event_type: str = "FutureEvent"
    data: bytes = b""


@dataclass
class StreamingResponse:
    """A streaming model's answer with its content type and custom attributes; `parts` as a model would return."""

    parts: Any
    content_type: str = "application/octet-stream"
    custom_attributes: str | None = None


Model = Union[None, Echo, Callable[[bytes, dict], Any]]


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _call_model(model: Callable[[bytes, dict], Any], body: bytes, headers: dict[str, str]) -> tuple:
    """Runs a Python model for the server.

    Returns (status, body, content_type, custom_attributes, extra_headers, verbatim): a status of 400 or more
    becomes a ModelError with that OriginalStatusCode, unless `verbatim`, which sends the answer as it is."""
    try:
        result = model(body, headers)
    except ModelFailure as failure:
        return (failure.status_code, _as_bytes(failure.message), None, None, {}, False)
    except ServiceFailure as failure:
        payload = failure.body
        if payload is None:
            payload = json.dumps({"message": failure.message}).encode()
        error_type = {
            "x-amzn-ErrorType": f"{failure.code}:http://internal.amazon.com/coral/com.amazon.sagemaker/"
        }
        return (failure.status_code, payload, "application/json", None, error_type, True)
    except Exception as error:
        return (500, f"{type(error).__name__}: {error}".encode(), None, None, {}, False)
    try:
        if isinstance(result, ModelResponse):
            fields = (result.content_type, result.custom_attributes, dict(result.headers), False)
            return (200, _as_bytes(result.body), *fields)
        if isinstance(result, tuple):
            payload, content_type, *rest = result
            return (200, _as_bytes(payload), content_type, rest[0] if rest else None, {}, False)
        if isinstance(result, (bytes, bytearray, memoryview)):
            return (200, bytes(result), "application/octet-stream", None, {}, False)
        if isinstance(result, str):
            return (200, result.encode("utf-8"), "text/plain; charset=utf-8", None, {}, False)
        return (200, json.dumps(result).encode("utf-8"), "application/json", None, {}, False)
    except Exception as error:
        message = f"model returned an unusable result: {type(error).__name__}: {error}".encode()
        return (500, message, None, None, {}, False)


def _service_failure(failure: ServiceFailure) -> tuple:
    payload = failure.body
    if payload is None:
        payload = json.dumps({"message": failure.message}).encode()
    error_type = {
        "x-amzn-ErrorType": f"{failure.code}:http://internal.amazon.com/coral/com.amazon.sagemaker/"
    }
    return (failure.status_code, payload, error_type)


class _Stepper:
    """Steps through a streaming model's parts for the server: sync or async iterables, one step at a time."""

    def __init__(self, parts: Any) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        if hasattr(parts, "__anext__"):
            self._loop = asyncio.new_event_loop()
            self._async = parts
        else:
            self._iterator = iter(parts)

    def _next(self) -> Any:
        if self._loop is not None:
            return self._loop.run_until_complete(self._async.__anext__())
        return next(self._iterator)

    def step(self) -> tuple:
        """("part", bytes) | ("event", type, bytes) | ("corrupt", bytes) | ("cut",) | ("error", type, msg, code) | ("end",)"""
        try:
            item = self._next()
        except (StopIteration, StopAsyncIteration):
            return ("end",)
        except StreamError as error:
            if error.internal:
                return ("error", "InternalStreamFailure", error.message, None)
            return ("error", "ModelStreamError", error.message, error.error_code)
        except Exception as error:
            return ("error", "ModelStreamError", f"{type(error).__name__}: {error}", "StreamBroken")
        if isinstance(item, CorruptFrame):
            return ("corrupt", bytes(item.data))
        if isinstance(item, CutConnection):
            return ("cut",)
        if isinstance(item, UnknownEvent):
            return ("event", item.event_type, bytes(item.data))
        if isinstance(item, (dict, list)):
            return ("part", json.dumps(item).encode())
        return ("part", _as_bytes(item))

    def close(self) -> None:
        closer = getattr(self, "_async", None) or getattr(self, "_iterator", None)
        try:
            if self._loop is not None:
                if hasattr(closer, "aclose"):
                    self._loop.run_until_complete(closer.aclose())  # type: ignore[union-attr]
                self._loop.close()
            elif hasattr(closer, "close"):
                closer.close()  # type: ignore[union-attr]
        except Exception:
            pass  # the stream is over either way


def _start_stream(model: Callable[[bytes, dict], Any], body: bytes, headers: dict[str, str]) -> tuple:
    """Starts a streaming model for the server: ("stream", content_type, custom_attributes, stepper),
    ("error", status, message) before any part (-> ModelError), or ("service", status, body, headers)."""
    try:
        result = model(body, headers)
    except ModelFailure as failure:
        return ("error", failure.status_code, failure.message)
    except ServiceFailure as failure:
        return ("service", *_service_failure(failure))
    except Exception as error:
        return ("error", 500, f"{type(error).__name__}: {error}")
    content_type, custom_attributes = "application/octet-stream", None
    if isinstance(result, StreamingResponse):
        content_type, custom_attributes, result = result.content_type, result.custom_attributes, result.parts
    elif isinstance(result, ModelResponse):
        content_type, custom_attributes, result = result.content_type, result.custom_attributes, [result.body]
    if isinstance(result, (bytes, bytearray, memoryview, str, dict)):
        result = [result]  # a whole answer is one part
    try:
        stepper = _Stepper(result)
    except TypeError as error:
        return ("error", 500, f"a streaming model returns an iterable of parts: {error}")
    return ("stream", content_type, custom_attributes, stepper)


class LocalServer:
    """A SageMaker Runtime server on this machine. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        endpoints: Mapping[str, Model] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_auth: bool = True,
        s3_root: str | Path | None = None,
        credentials: Mapping[str, str] | None = None,
        tls: tuple[str | Path, str | Path] | None = None,
    ) -> None:
        """`credentials` ({access key id: secret}) turns on strict mode: every request's SigV4 signature is
        verified with those keys, as AWS does (it implies `require_auth`). `tls` is (certificate chain PEM, private
        key PEM): the server then speaks HTTPS, and clients must trust the certificate (`verify=` a CA bundle)."""
        if credentials is not None:
            if not require_auth:
                raise ValueError(
                    "credentials= (strict SigV4 mode) requires authentication; drop require_auth=False"
                )
            if not credentials:
                raise ValueError("credentials= needs at least one access key id")
        self.s3_root = (
            Path(s3_root) if s3_root is not None else Path(tempfile.mkdtemp(prefix="sagemaker-local-s3-"))
        )
        files = (str(tls[0]), str(tls[1])) if tls is not None else None
        self._server = _LocalServer(host, port, require_auth, str(self.s3_root), files)
        self._credentials = dict(credentials) if credentials is not None else None
        if self._credentials is not None:
            self._server.set_credentials(self._credentials)
        for name, model in (endpoints if endpoints is not None else {"echo": Echo()}).items():
            self.add_endpoint(name, model)

    def add_endpoint(self, name: str, model: Model = None) -> None:
        """Serves `name` with `model` (replacing what it served)."""
        if model is None or isinstance(model, Echo):
            self._server.set_endpoint(name, None, model.delay if model is not None else 0.0)
        elif callable(model):
            self._server.set_endpoint(name, model)
        else:
            raise TypeError(f"a model is Echo(), None or a callable, not {type(model).__name__}")

    def remove_endpoint(self, name: str) -> None:
        """Stops serving `name`: requests for it then get ValidationError (endpoint not found)."""
        self._server.remove_endpoint(name)

    @property
    def endpoint_names(self) -> list[str]:
        return self._server.endpoint_names()

    def invocations(self, name: str) -> int:
        """How many requests reached the model of `name`."""
        return self._server.invocations(name)

    def inject_faults(
        self,
        *,
        service_unavailable: float = 0.0,
        model_not_ready: float = 0.0,
        latency: float = 0.0,
        latency_seconds: float = 0.0,
        reset: float = 0.0,
        truncate: float = 0.0,
        seed: int = 1,
        track_inference_ids: bool = False,
        stall: float = 0.0,
        stall_seconds: float = 0.0,
    ) -> None:
        """Makes InvokeEndpoint misbehave at the given rates (0 to 1), drawn from a seeded generator:
        503 ServiceUnavailable or 429 ModelNotReadyException instead of running the model; extra latency; the
        connection dropped after the model ran (`reset`); an answer cut off halfway (`truncate`), or stopped halfway
        for `stall_seconds` before the connection breaks (`stall`). With
        `track_inference_ids`, requests are counted per InferenceId (see `requests_by_inference_id`)."""
        self._server.set_faults(
            service_unavailable,
            model_not_ready,
            latency,
            latency_seconds,
            reset,
            truncate,
            seed,
            track_inference_ids,
            stall,
            stall_seconds,
        )

    def clear_faults(self) -> None:
        self._server.clear_faults()

    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        return dict(self._server.fault_counts()[0])

    def requests_by_inference_id(self) -> dict[str, int]:
        """With fault tracking: how many requests (retries included) arrived for each InferenceId."""
        return dict(self._server.fault_counts()[1])

    def disconnects(self, name: str) -> int:
        """How many requests for `name` ended with the client gone before the answer was complete."""
        return self._server.disconnects(name)

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted (shows whether clients reuse them)."""
        return self._server.connections()[0]

    @property
    def connections_open(self) -> int:
        """How many TCP connections are open now."""
        return self._server.connections()[1]

    def close_idle_connections(self) -> None:
        """Closes every idle keep-alive connection, as a load balancer's idle timeout does; requests in
        flight finish first. Clients must notice and reconnect without an error."""
        self._server.close_idle_connections()

    def s3_path(self, uri: str) -> Path:
        """The file behind ``s3://bucket/key`` in this server's stand-in for S3."""
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise ValueError(f"not an S3 URI: {uri!r}")
        bucket, key = uri[5:].split("/", 1)
        path = (self.s3_root / bucket / key).resolve()
        if self.s3_root.resolve() not in path.parents:
            raise ValueError(f"S3 URI outside the local store: {uri!r}")
        return path

    def put_object(self, uri: str, data: bytes | str) -> str:
        """Stores an object (an async-inference input, say) and returns its URI."""
        path = self.s3_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_as_bytes(data))
        return uri

    def wait_for_object(self, uri: str, timeout: float = 10.0) -> bytes:
        """The object's content once it exists (async-inference output or failure); TimeoutError after `timeout`."""
        path = self.s3_path(uri)
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{uri} did not appear within {timeout} s")
            time.sleep(0.01)
        return path.read_bytes()

    def start(self) -> LocalServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        port = self._server.port
        if port is None:
            raise RuntimeError("the local server is not running; call start() first")
        return port

    @property
    def url(self) -> str:
        host = self._server.host
        scheme = "https" if self._server.tls else "http"
        return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def client_kwargs(self) -> dict[str, str]:
        """Arguments that point a client (ours or boto3's) at this server; in strict mode, with its first key."""
        key_id, secret = LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
        if self._credentials is not None:
            key_id, secret = next(iter(self._credentials.items()))
        return {
            "endpoint_url": self.url,
            "region_name": LOCAL_REGION,
            "aws_access_key_id": key_id,
            "aws_secret_access_key": secret,
        }

    def client(self, **kwargs: Any) -> Any:
        """A ``sagemaker_runtime_rs.Client`` for this server; keyword arguments override the defaults."""
        from . import Client

        return Client(**{**self.client_kwargs(), **kwargs})

    def __repr__(self) -> str:
        where = self.url if self._server.port is not None else "stopped"
        return f"<LocalServer {where} endpoints={self.endpoint_names}>"
