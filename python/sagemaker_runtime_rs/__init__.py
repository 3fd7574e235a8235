"""A fast, boto3-compatible Amazon SageMaker Runtime client, built on the AWS Rust SDK.

Migrating from boto3 is one line::

    import sagemaker_runtime_rs as boto3          # was: import boto3
    client = boto3.client("sagemaker-runtime")
"""

from __future__ import annotations

from ._config import Config
from ._core import AsyncClient, AsyncEventStream, Client, EventStream, StreamingBody

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

    from . import exceptions
    from ._async_body import AsyncStreamingBody

_LAZY = {
    "exceptions": "sagemaker_runtime_rs.exceptions",
    "AsyncStreamingBody": "sagemaker_runtime_rs._async_body",
}


def __getattr__(name: str) -> object:
    # Loaded on first use: `exceptions` imports botocore when it is installed (~10 ms), and nothing needs it
    # before the first error or `client.exceptions`.
    if name not in _LAZY:
        raise AttributeError(f"module 'sagemaker_runtime_rs' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name])
    return module if name == "exceptions" else getattr(module, name)


__all__ = [
    "AsyncClient",
    "AsyncEventStream",
    "AsyncStreamingBody",
    "Client",
    "Config",
    "EventStream",
    "Session",
    "StreamingBody",
    "client",
    "exceptions",
]
__version__ = "0.1.0"

_SERVICE_NAMES = ("sagemaker-runtime", "runtime.sagemaker")


def _check_service(service_name: str) -> None:
    if service_name not in _SERVICE_NAMES:
        raise ValueError(
            f"sagemaker_runtime_rs only provides the SageMaker Runtime client "
            f"({' or '.join(repr(n) for n in _SERVICE_NAMES)}), not {service_name!r}"
        )


def client(
    service_name: str = "sagemaker-runtime",
    region_name: str | None = None,
    api_version: str | None = None,
    use_ssl: bool = True,
    verify: bool | str | None = None,
    endpoint_url: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    config: Any = None,
    *,
    profile_name: str | None = None,
) -> Client:
    """``boto3.client("sagemaker-runtime", ...)`` with the same arguments, in the same order."""
    _check_service(service_name)
    return Client(
        region_name=region_name,
        api_version=api_version,
        use_ssl=use_ssl,
        verify=verify,
        endpoint_url=endpoint_url,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        config=config,
        profile_name=profile_name,
    )


class Session:
    """``boto3.Session`` for scripts that build their client from a session (profile, region, keys)."""

    def __init__(
        self,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        region_name: str | None = None,
        profile_name: str | None = None,
    ) -> None:
        self.region_name = region_name
        self.profile_name = profile_name
        self._credentials = (aws_access_key_id, aws_secret_access_key, aws_session_token)

    def client(
        self,
        service_name: str = "sagemaker-runtime",
        region_name: str | None = None,
        api_version: str | None = None,
        use_ssl: bool = True,
        verify: bool | str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        config: Any = None,
    ) -> Client:
        """A client with this session's profile, region and keys; explicit arguments win, as in boto3."""
        key_id, secret, token = self._credentials
        if aws_access_key_id is None and aws_secret_access_key is None:
            aws_access_key_id, aws_secret_access_key = key_id, secret
            aws_session_token = aws_session_token if aws_session_token is not None else token
        return client(
            service_name,
            region_name=region_name if region_name is not None else self.region_name,
            api_version=api_version,
            use_ssl=use_ssl,
            verify=verify,
            endpoint_url=endpoint_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            config=config,
            profile_name=self.profile_name,
        )
