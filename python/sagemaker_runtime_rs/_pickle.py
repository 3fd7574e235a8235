"""Unpickling support: clients pickle as their constructor arguments and are rebuilt fresh."""

from __future__ import annotations

from typing import Any


def rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    """A new client of `cls` from the arguments the pickled one was built with."""
    return cls(**kwargs)
