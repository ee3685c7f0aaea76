"""Small formatting helpers shared by the progress display and the notebook reprs.

The HTML uses inline styles only: it has to read the same in JupyterLab, VS Code, nbviewer
and an exported HTML file, none of which share a stylesheet with us.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable

__all__ = [
    "STATUS_COLOURS",
    "TONES",
    "badge",
    "cell_number",
    "escape",
    "format_bytes",
    "format_count",
    "format_seconds",
    "status_colour",
    "table",
]


def _tone(variable: str, fallback: str) -> str:
    """A JupyterLab theme colour moved a quarter of the way to the theme's text colour.

    JupyterLab's ``--jp-*-color0`` alone is too faint for text on some themes (orange on
    Light is 3.8:1, red on Dark 3.8:1); mixed with ``--jp-content-font-color0`` (black on
    light themes, white on dark ones) every tone reaches at least 5.4:1 on Light, Dark and
    Dark High Contrast. Outside JupyterLab the fallbacks, dark tones for a white page, apply.
    """
    return (
        f"color-mix(in srgb, var({variable}, {fallback}) 75%, var(--jp-content-font-color0, #000))"
    )


TONES: dict[str, str] = {
    "success": _tone("--jp-success-color0", "#2e7d32"),
    "info": _tone("--jp-info-color0", "#1565c0"),
    "danger": _tone("--jp-error-color0", "#c62828"),
    "warning": _tone("--jp-warn-color0", "#e65100"),
    "muted": "var(--jp-content-font-color2, #616161)",
}
"""Text colours by tone, from the notebook's theme: green done, blue running, red failed,
amber stopped, grey for what is secondary."""

STATUS_COLOURS: dict[str, str] = {
    "requested": TONES["info"],
    "started": TONES["info"],
    "uploading": TONES["info"],
    "completed": TONES["success"],
    "failed": TONES["danger"],
    "cancelled": TONES["danger"],
    "upload failed": TONES["danger"],
    "error": TONES["danger"],
    "timed out": TONES["warning"],
    "interrupted": TONES["warning"],
    "cancellationPending": TONES["warning"],
}
_OTHER = TONES["muted"]


def cell_number() -> int | None:
    """The number of the notebook cell running now (IPython's execution count), if any."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


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
        '<tr><th style="text-align:left;padding:0.1em 1em 0.1em 0;vertical-align:baseline;'
        f'white-space:nowrap">{escape(label)}</th>'
        f'<td style="text-align:left;vertical-align:baseline">{value}</td></tr>'
        for label, value in rows
    )
    border = f"border-left:4px solid {colour};" if colour else ""
    heading = f"<b>{escape(title)}</b>"
    return f'<div style="{border}padding:0.3em 0.8em">{heading}<table>{body}</table></div>'


def status_colour(status: str) -> str:
    """The colour a status is shown in (blue running, green done, red failed, amber stopped)."""
    return STATUS_COLOURS.get(status, _OTHER)


def badge(status: str) -> str:
    """A pill with the status's name, in the status's colour (text on the page's background)."""
    return (
        f'<span style="color:{status_colour(status)};border:1px solid currentColor;'
        'border-radius:0.8em;padding:0 0.6em;font-weight:bold;white-space:nowrap">'
        f"{escape(status)}</span>"
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
