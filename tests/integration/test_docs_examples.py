"""The Python examples in ``docs/`` run against the current API.

Each page's ```` ```python ```` blocks run in order in one namespace, as a reader would paste
them; a block right after a ``<!-- not run -->`` line is skipped (it needs real credentials or
a shell). The user guide pages start their own sandbox, so this runs offline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
NOT_RUN = "<!-- not run -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The runnable Python blocks of a Markdown page: (first line number, code)."""
    lines = text.split("\n")
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = len(opening["indent"])
        previous = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        start = i - len(body) + 1
        i += 1
        if opening["lang"] == "python" and previous != NOT_RUN:
            blocks.append((start, "\n".join(body)))
    return blocks


def pages() -> list[Path]:
    return [p for p in sorted(DOCS.rglob("*.md")) if python_blocks(p.read_text("utf-8"))]


def test_block_parser_skips_marked_blocks() -> None:
    text = "\n".join(
        [
            "```python",
            "a = 1",
            "```",
            NOT_RUN,
            "```python",
            "raise SystemExit",
            "```",
            "1. item",
            "",
            "    ```python",
            "    b = a",
            "    ```",
            "```bash",
            "exit 1",
            "```",
        ]
    )
    assert python_blocks(text) == [(2, "a = 1"), (11, "b = a")]


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page: Path, request: pytest.FixtureRequest) -> None:
    if "azure=True" in page.read_text("utf-8"):
        request.getfixturevalue("local_azure")  # Azurite installed (or the page skips/fails)
    import nexosis_pandas as nxp
    from nexosis_pandas import config

    namespace: dict[str, Any] = {"__name__": f"docs.{page.stem}"}
    try:
        for line, code in python_blocks(page.read_text("utf-8")):
            exec(compile(code, f"{page.relative_to(DOCS)}:{line}", "exec"), namespace)
    finally:
        for value in namespace.values():
            if isinstance(value, nxp.Sandbox):
                value.stop()
    assert config.get_defaults().client is None, "a page left its sandbox running"
