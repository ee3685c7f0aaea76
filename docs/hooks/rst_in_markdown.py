"""A griffe extension: the reST bits of the package's numpydoc docstrings, as Markdown.

The docstrings are written for ``help()``, doctest and numpydoc, so they use a little reST that
mkdocstrings would show verbatim: Sphinx roles (``:func:`import_history` ``), simple tables
(``====  ====`` borders) and ``::`` before a literal block. This rewrites them when the docs
are built; the package's files are left as they are.

- ``:role:`~a.b.c` `` becomes ```c` `` and ``:role:`a.b` `` becomes ```a.b` `` (code, not links:
  a reference that moves can never break the strict build);
- a simple table becomes a Markdown table;
- ``text::`` before an indented block becomes ``text:``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const|ref):`(~?)([^`]+)`")
_BORDER = re.compile(r"^(\s*)(=+)( +=+)+\s*$")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    target = target.strip()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    return f"`{shown}`"


def _cells(line: str, starts: list[int]) -> list[str]:
    ends: list[int | None] = [*starts[1:], None]
    return [line[a:b].strip().replace("|", "\\|") for a, b in zip(starts, ends, strict=True)]


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        border = _BORDER.match(lines[i])
        if not border:
            out.append(lines[i])
            i += 1
            continue
        starts = [m.start() for m in re.finditer(r"=+", lines[i])]
        rows: list[list[str]] = []
        borders = 1
        header: list[str] | None = None
        j = i + 1
        while j < len(lines) and borders < 3:
            if _BORDER.match(lines[j]):
                borders += 1
                if borders == 2 and rows:
                    header, rows = rows[0], []
            elif lines[j].strip():
                rows.append(_cells(lines[j], starts))
            j += 1
        if header is None:  # not a table we understand: leave it
            out.append(lines[i])
            i += 1
            continue
        indent = border.group(1)
        out.append(indent + "| " + " | ".join(header) + " |")
        out.append(indent + "|" + "---|" * len(header))
        out.extend(indent + "| " + " | ".join(row) + " |" for row in rows)
        i = j
    return "\n".join(out)


def to_markdown(text: str) -> str:
    """The docstring ``text`` with its reST roles, simple tables and ``::`` as Markdown."""
    text = _ROLE.sub(_role, text)
    text = _tables(text)
    return re.sub(r"(\S)::\n(\s*\n)", r"\1:\n\2", text)


class RstInMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded package (see the module docstring)."""

    def _rewrite(self, obj: Any) -> None:
        if obj.is_alias:
            return
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
        for member in obj.members.values():
            self._rewrite(member)

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        """Griffe 2: the package is loaded."""
        self._rewrite(pkg)

    def on_package_loaded(self, *, pkg: Any, **kwargs: Any) -> None:
        """Griffe 1: the package is loaded."""
        self._rewrite(pkg)
