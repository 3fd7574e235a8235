"""``AsyncStreamingBody``: aiobotocore's awaitable body over a payload already received in full."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._core import StreamingBody

TYPE_CHECKING = False  # typing costs ~10 ms to import; annotations are strings here
if TYPE_CHECKING:
    from typing import Any


class AsyncStreamingBody:
    """The Body of ``await AsyncClient.invoke_endpoint(...)``: ``await body.read()``,
    ``async for chunk in body.iter_chunks()``, ``async with body:``."""

    __slots__ = ("_body",)

    def __init__(self, body: StreamingBody) -> None:
        self._body = body

    async def read(self, amt: int | None = None) -> bytes:
        return self._body.read(amt)

    async def readinto(self, buffer: Any) -> int:
        return self._body.readinto(buffer)

    async def readlines(self) -> list[bytes]:
        return self._body.readlines()

    async def iter_chunks(self, chunk_size: int = 1024) -> AsyncIterator[bytes]:
        for chunk in self._body.iter_chunks(chunk_size):
            yield chunk

    async def iter_lines(self, chunk_size: int = 1024, keepends: bool = False) -> AsyncIterator[bytes]:
        for line in self._body.iter_lines(chunk_size, keepends):
            yield line

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks()

    def tell(self) -> int:
        return self._body.tell()

    def close(self) -> None:
        self._body.close()

    @property
    def closed(self) -> bool:
        return self._body.closed

    async def __aenter__(self) -> AsyncStreamingBody:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Async{self._body!r}"[:-1] + ">"
