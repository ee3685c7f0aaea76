"""Small formatting helpers shared by the progress display and the notebook reprs.

The HTML uses inline styles only: it has to read the same in JupyterLab, VS Code, nbviewer
and an exported HTML file, none of which share a stylesheet with us.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = [
    "STATUS_COLOURS",
    "badge",
    "escape",
    "format_bytes",
    "format_count",
    "format_seconds",
    "status_colour",
    "table",
]

STATUS_COLOURS: dict[str, str] = {
    "requested": "#1565c0",
    "started": "#1565c0",
    "uploading": "#1565c0",
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#c62828",
    "upload failed": "#c62828",
    "error": "#c62828",
    "timed out": "#e65100",
    "interrupted": "#e65100",
    "cancellationPending": "#e65100",
}
_OTHER = "#616161"


def escape(value: object) -> str:
    """``value`` as text safe inside HTML elements and attributes."""
    return html.escape(str(value), quote=True)


def table(title: str, rows: Iterable[tuple[str, str]], *, colour: str | None = None) -> str:
    """A titled table of labels and values, the one shape every ``_repr_html_`` uses.

    Labels are escaped here; values are HTML already (callers escape what they put in them).
    With ``colour``, a bar of it runs down the left edge (a status at a glance).

    Examples
    --------
    >>> table("S3Object", [("rows", "3")])  # doctest: +ELLIPSIS
    '<div style="padding:0.3em 0.8em"><b>S3Object</b><table><tr><th ...>rows</th><td ...>3</td>...'
    """
    body = "".join(
        '<tr><th style="text-align:left;padding:0.1em 1em 0.1em 0;vertical-align:top">'
        f'{escape(label)}</th><td style="text-align:left">{value}</td></tr>'
        for label, value in rows
    )
    border = f"border-left:4px solid {colour};" if colour else ""
    heading = f"<b>{escape(title)}</b>"
    return f'<div style="{border}padding:0.3em 0.8em">{heading}<table>{body}</table></div>'


def status_colour(status: str) -> str:
    """The colour a status is shown in (blue running, green done, red failed, amber stopped)."""
    return STATUS_COLOURS.get(status, _OTHER)


def badge(status: str) -> str:
    """A coloured pill with the status's name."""
    return (
        f'<span style="background:{status_colour(status)};color:#fff;border-radius:0.8em;'
        f'padding:0.05em 0.6em;font-size:0.9em;white-space:nowrap">{escape(status)}</span>'
    )


def format_seconds(seconds: float) -> str:
    """A duration the way a person reads it.

    Examples
    --------
    >>> format_seconds(2.345), format_seconds(65), format_seconds(3725)
    ('2.3 s', '1 min 05 s', '1 h 02 min')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def format_bytes(count: int) -> str:
    """A byte count in decimal units.

    Examples
    --------
    >>> format_bytes(812), format_bytes(81_234), format_bytes(1_400_000)
    ('812 B', '81.2 kB', '1.4 MB')
    >>> format_bytes(2_500_000_000_000)
    '2.5 TB'
    """
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_count(count: int) -> str:
    """An integer with thousands separators (``10,000``)."""
    return f"{count:,}"
