"""Which format a fetched file is in: ``contentType``, else the extension, else the served type,
else the first bytes."""

from __future__ import annotations

import zlib
from typing import IO

from nexosis_pandas._wire import CONTENT_TYPE
from nexosis_pandas.server.parsing import UNKNOWN_TYPE, FileFormatError, content_kind

__all__ = ["decide_kind"]

_SNIFF_BYTES = 64 << 10


def _from_media_type(served: str | None) -> str | None:
    media = (served or "").split(";", 1)[0].strip().lower()
    for kind in ("csv", "json"):
        if media.endswith(("/" + kind, "+" + kind)):
            return kind
    return None


def _sniff(raw: IO[bytes]) -> str | None:
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    if head[:2] == b"\x1f\x8b":
        head = zlib.decompressobj(wbits=31).decompress(head, _SNIFF_BYTES)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return None
    if text[:1] in (b"{", b"["):
        return "json"
    first_line = text.split(b"\n", 1)[0]
    if b"," not in first_line or b"\x00" in text:  # a header row of several columns, as text
        return None
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text) - 3:  # not just a character cut at the end of the sample
            return None
    return "csv"


def decide_kind(content_type: str | None, name: str, served: str | None, raw: IO[bytes]) -> str:
    """``"csv"`` or ``"json"`` for a file named ``name``, served as ``served``, read from ``raw``.

    ``contentType`` decides when the request gives it; else the name's extension (``.csv``,
    ``.json``, either with ``.gz``); else the media type the source served it with
    (``text/csv``, ``application/json``); else its first bytes: an object or array is JSON,
    UTF-8 text whose first line has a comma is CSV. ``raw`` is left at its start.

    Raises
    ------
    FileFormatError
        ``contentType`` is neither csv nor json, or nothing tells (the content is not text).

    Examples
    --------
    >>> import io
    >>> decide_kind(None, "/export", "application/json; charset=utf-8", io.BytesIO(b""))
    'json'
    >>> decide_kind(None, "/export", "text/plain", io.BytesIO(b' [{"a": 1}]'))
    'json'
    >>> decide_kind(None, "/export", None, io.BytesIO(b"a,b\\n1,2\\n"))
    'csv'
    """
    if content_type:
        return content_kind(content_type, name)
    try:
        return content_kind(None, name)
    except FileFormatError:
        pass
    kind = _from_media_type(served) or _sniff(raw)
    if kind is None:
        served_as = f", it was served as {served}" if served else ""
        raise FileFormatError(
            f"{UNKNOWN_TYPE}: the name {name!r} ends in neither .csv nor .json (optionally .gz)"
            f"{served_as}, and its content looks like neither JSON nor CSV; pass {CONTENT_TYPE}"
        )
    return kind
