"""The README's runnable examples (```python blocks) and its set-up commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_runnable_examples():
    assert python_blocks(), "the README should show at least one runnable example"


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_example_runs(index):
    code = python_blocks()[index]
    exec(compile(code, f"README.md example {index + 1}", "exec"), {"__name__": "readme_example"})


def test_readme_test_command_is_the_one_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install ".[test]" && python -m pytest'
    assert command in README.read_text(encoding="utf-8")
    assert command in ci
