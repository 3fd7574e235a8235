"""Exceptions raised by sagemaker_runtime_rs, shaped exactly like botocore's.

When botocore is installed, every class here also subclasses botocore's class of the same name, so
``except botocore.exceptions.ClientError`` keeps working in scripts migrated from boto3. Unlike botocore's
dynamically generated classes, each modeled error (``ModelError``, ...) is a module attribute, so it pickles and
comes back as the same class with the same ``.response``.
"""

from __future__ import annotations

import builtins

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

try:  # botocore is optional
    from botocore import exceptions as _botocore
except ImportError:  # pragma: no cover - exercised in environments without botocore
    _botocore = None  # type: ignore[assignment]


def _exception_from_packed_args(
    exception_cls: type[BaseException],
    args: tuple[Any, ...] | None = None,
    kwargs: dict[str, Any] | None = None,
) -> BaseException:
    return exception_cls(*(args or ()), **(kwargs or {}))


class _BotoCoreErrorBase(Exception):
    """Stand-in for botocore.exceptions.BotoCoreError when botocore is not installed."""

    fmt = "An unspecified error occurred"

    def __init__(self, **kwargs: Any) -> None:
        Exception.__init__(self, self.fmt.format(**kwargs))
        self.kwargs = kwargs

    def __reduce__(self) -> Any:
        return _exception_from_packed_args, (self.__class__, None, self.kwargs)


class _ClientErrorBase(Exception):
    """Stand-in for botocore.exceptions.ClientError when botocore is not installed."""

    MSG_TEMPLATE = "An error occurred ({error_code}) when calling the {operation_name} operation{retry_info}: {error_message}"

    def __init__(self, error_response: dict[str, Any], operation_name: str) -> None:
        retry_info = ""
        metadata = error_response.get("ResponseMetadata", {})
        if metadata.get("MaxAttemptsReached", False) and "RetryAttempts" in metadata:
            retry_info = f" (reached max retries: {metadata['RetryAttempts']})"
        error = error_response.get("Error", {})
        super().__init__(
            self.MSG_TEMPLATE.format(
                error_code=error.get("Code", "Unknown"),
                error_message=error.get("Message", "Unknown"),
                operation_name=operation_name,
                retry_info=retry_info,
            )
        )
        self.response = error_response
        self.operation_name = operation_name


def _bases(name: str, *ours: type, fallback: tuple[type, ...] = ()) -> tuple[type, ...]:
    """botocore's class of that name (or `fallback` without botocore), followed by our own bases."""
    theirs = (getattr(_botocore, name),) if _botocore is not None else fallback
    return theirs + ours


class BotoCoreError(*_bases("BotoCoreError", fallback=(_BotoCoreErrorBase,))):  # type: ignore[misc]
    """Base of the errors raised without a service response (validation, transport, configuration)."""


class ParamValidationError(*_bases("ParamValidationError", BotoCoreError, ValueError)):  # type: ignore[misc]
    """Invalid arguments, detected before anything is sent."""

    fmt = "Parameter validation failed:\n{report}"


class _HTTPClientErrorBase(BotoCoreError):
    def __init__(self, request: Any = None, response: Any = None, **kwargs: Any) -> None:
        self.request = request
        self.response = response
        super().__init__(**kwargs)


class HTTPClientError(*_bases("HTTPClientError", BotoCoreError, fallback=(_HTTPClientErrorBase,))):  # type: ignore[misc]
    """A transport failure that is neither a connection failure nor a timeout."""

    fmt = "An HTTP Client raised an unhandled exception: {error}"


class ResponseStreamingError(*_bases("ResponseStreamingError", HTTPClientError)):  # type: ignore[misc]
    """A response stream broke off: the connection was cut or a frame was corrupt."""

    fmt = "An error occurred while reading from response stream: {error}"


class ConnectionError(*_bases("ConnectionError", BotoCoreError, builtins.ConnectionError)):  # type: ignore[misc]
    """The connection to the endpoint failed (also a builtin ConnectionError)."""

    fmt = "An HTTP Client failed to establish a connection: {error}"


class EndpointConnectionError(*_bases("EndpointConnectionError", ConnectionError)):  # type: ignore[misc]
    """Nothing accepted the connection at the endpoint URL."""

    fmt = 'Could not connect to the endpoint URL: "{endpoint_url}"'


class SSLError(*_bases("SSLError", ConnectionError)):  # type: ignore[misc]
    """TLS failed while connecting: the certificate is not trusted or does not match the host. Nothing was
    sent; not retried. Pass ``verify=`` the CA bundle that signed the endpoint's certificate."""

    fmt = "SSL validation failed for {endpoint_url} {error}"


class ConnectionClosedError(*_bases("ConnectionClosedError", HTTPClientError, builtins.ConnectionError)):  # type: ignore[misc]
    """The connection broke after the request was sent: the model may have run. Not retried by default."""

    fmt = 'Connection was closed before we received a valid response from endpoint URL: "{endpoint_url}".'


class ConnectTimeoutError(*_bases("ConnectTimeoutError", ConnectionError, TimeoutError)):  # type: ignore[misc]
    """The connection was not established within connect_timeout (also a builtin TimeoutError)."""

    fmt = 'Connect timeout on endpoint URL: "{endpoint_url}"'


class ReadTimeoutError(*_bases("ReadTimeoutError", HTTPClientError, TimeoutError)):  # type: ignore[misc]
    """No response arrived within read_timeout (also a builtin TimeoutError)."""

    fmt = 'Read timeout on endpoint URL: "{endpoint_url}"'


class NoCredentialsError(*_bases("NoCredentialsError", BotoCoreError)):  # type: ignore[misc]
    """No credentials were given and the credential chain found none."""

    fmt = "Unable to locate credentials"


class NoRegionError(*_bases("NoRegionError", BotoCoreError)):  # type: ignore[misc]
    """No region was given and none is configured."""

    fmt = "You must specify a region."


class OperationNotPageableError(*_bases("OperationNotPageableError", BotoCoreError)):  # type: ignore[misc]
    """SageMaker Runtime has no paginated operations."""

    fmt = "Operation cannot be paginated: {operation_name}"


class ClientError(*_bases("ClientError", fallback=(_ClientErrorBase,))):  # type: ignore[misc]
    """An error response from the service: ``.response`` and ``.operation_name`` as in botocore."""

    def __reduce__(self) -> Any:
        return self.__class__, (self.response, self.operation_name)


class EventStreamError(*_bases("EventStreamError", ClientError)):  # type: ignore[misc]
    """An error event inside a response stream."""


class ValidationError(ClientError):
    """400: the request is invalid, or the endpoint does not exist."""


class ModelError(ClientError):
    """424: the model container returned an error. ``e.response`` has OriginalStatusCode, OriginalMessage,
    LogStreamArn at the top level, as in botocore."""


class ModelNotReadyException(ClientError):
    """429: the model is not ready to serve requests yet."""


class InternalFailure(ClientError):
    """500: the service failed."""


class ServiceUnavailable(ClientError):
    """503: the service is unavailable."""


class InternalDependencyException(ClientError):
    """530: a dependency of the service failed."""


class ModelStreamError(EventStreamError):
    """A model error in the middle of a response stream."""


class InternalStreamFailure(EventStreamError):
    """A service failure in the middle of a response stream."""


_MODELED = {
    cls.__name__: cls
    for cls in (
        ValidationError,
        ModelError,
        ModelNotReadyException,
        InternalFailure,
        ServiceUnavailable,
        InternalDependencyException,
        ModelStreamError,
        InternalStreamFailure,
    )
}


def from_code(code: str) -> type[ClientError]:
    """The class for an error code, ClientError for codes the service does not model (as botocore)."""
    return _MODELED.get(code, ClientError)


_ClientErrorClass = ClientError


class ClientExceptions:
    """``client.exceptions``: the modeled error classes, ``ClientError`` and ``from_code``."""

    ClientError = ClientError
    ValidationError = ValidationError
    ModelError = ModelError
    ModelNotReadyException = ModelNotReadyException
    InternalFailure = InternalFailure
    ServiceUnavailable = ServiceUnavailable
    InternalDependencyException = InternalDependencyException
    ModelStreamError = ModelStreamError
    InternalStreamFailure = InternalStreamFailure

    def from_code(self, error_code: str) -> type[_ClientErrorClass]:
        """The class for an error code, ClientError for codes the service does not model."""
        return from_code(error_code)


client_exceptions = ClientExceptions()

__all__ = [
    "BotoCoreError",
    "ClientError",
    "ClientExceptions",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ConnectionError",
    "EndpointConnectionError",
    "EventStreamError",
    "HTTPClientError",
    "InternalDependencyException",
    "InternalFailure",
    "InternalStreamFailure",
    "ModelError",
    "ModelNotReadyException",
    "ModelStreamError",
    "NoCredentialsError",
    "NoRegionError",
    "OperationNotPageableError",
    "ParamValidationError",
    "ReadTimeoutError",
    "ResponseStreamingError",
    "SSLError",
    "ServiceUnavailable",
    "ValidationError",
    "from_code",
]
