"""``Config``: botocore's client options without botocore. A ``botocore.config.Config`` works the same."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations are strings here
if TYPE_CHECKING:
    from typing import Any


DEFAULT_CONNECT_TIMEOUT = 60
DEFAULT_READ_TIMEOUT = 70  # AWS advises more than the model's 60 s limit; botocore uses 60


class Config:
    """Client options with botocore's names: connect_timeout and read_timeout (seconds), retries
    (``{"max_attempts": retries, "total_max_attempts": attempts, "mode": "standard" | "adaptive" | "legacy"}``),
    max_pool_connections, user_agent_extra, region_name; and ``retry_sent_requests`` (default False): also retry
    read timeouts and connections lost after the request was sent, which may run the model twice."""

    def __init__(
        self,
        *,
        region_name: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: dict[str, Any] | None = None,
        max_pool_connections: int | None = None,
        user_agent_extra: str | None = None,
        retry_sent_requests: bool | None = None,
    ) -> None:
        given = {
            "region_name": region_name,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "retries": retries,
            "max_pool_connections": max_pool_connections,
            "user_agent_extra": user_agent_extra,
            "retry_sent_requests": retry_sent_requests,
        }
        # Same attribute as botocore's Config: what the user set, as opposed to defaults.
        self._user_provided_options = {key: value for key, value in given.items() if value is not None}
        self.region_name = region_name
        self.connect_timeout = DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        self.read_timeout = DEFAULT_READ_TIMEOUT if read_timeout is None else read_timeout
        self.retries = retries
        # None: idle connections are kept for every call that ran at once (botocore caps them at 10)
        self.max_pool_connections = max_pool_connections
        self.user_agent_extra = user_agent_extra
        self.retry_sent_requests = bool(retry_sent_requests)

    def merge(self, other: Config) -> Config:
        """A new Config with `other`'s explicitly set options over this one's, as botocore's Config.merge."""
        options: dict[str, Any] = {**self._user_provided_options, **other._user_provided_options}
        return Config(**options)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._user_provided_options == other._user_provided_options

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._user_provided_options.items())))

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self._user_provided_options.items())
        return f"Config({options})"
