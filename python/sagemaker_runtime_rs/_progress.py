"""Progress bars for invoke_endpoint_many: tqdm when it is installed, else a plain line on stderr."""

from __future__ import annotations

import sys
import time
from typing import Any


class _LineProgress:
    """`done/total calls` on stderr, redrawn at most 5 times a second."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0
        self._drawn_at = 0.0

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn_at >= 0.2 or self.done == self.total:
            self._drawn_at = now
            total = f"/{self.total}" if self.total is not None else ""
            sys.stderr.write(f"\rinvoke_endpoint_many: {self.done}{total} calls")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def progress_bar(total: int | None) -> Any:
    """A bar with `update(n)` and `close()`."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _LineProgress(total)
    return tqdm(total=total, unit="call", desc="invoke_endpoint_many")
