"""Streaming readers for the files an import reads: CSV and JSON, optionally gzipped.

Each reader yields ``(line, row)`` pairs, ``row`` being a dict of the non-missing values, and
holds at most one chunk of the file (plus one record) in memory, whatever the file's size.
Every problem is a :class:`FileFormatError` whose message names it and its line.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from nexosis_pandas._wire import CONTENT_TYPE

__all__ = [
    "ColumnsAfterData",
    "Counted",
    "FileFormatError",
    "content_kind",
    "gunzipped",
    "open_text",
    "quoted_empty",
    "records",
]

CHUNK_CHARS = 1 << 20
MAX_RECORD_CHARS = 64 << 20
_WS = re.compile(r"[ \t\n\r]*")


class FileFormatError(ValueError):
    """The file cannot be imported; the message says what is wrong and where."""


class ColumnsAfterData(Exception):  # noqa: N818 - a signal, not an error
    """A JSON file's ``columns`` came after rows of its ``data``: read again knowing them."""

    def __init__(self, columns: Any) -> None:
        self.columns = columns
        super().__init__("columns after data")


UNKNOWN_TYPE = "Couldn't determine the type of content (json / csv) for the Import job"


def content_kind(content_type: str | None, path: str) -> str:
    """``"csv"`` or ``"json"``: from ``contentType`` when given, else from the extension.

    Raises
    ------
    FileFormatError
        Neither says CSV or JSON.

    Examples
    --------
    >>> content_kind(None, "folder/data.JSON.gz"), content_kind("text/csv", "x")
    ('json', 'csv')
    """
    if content_type:
        lowered = content_type.strip().lower()
        for kind in ("csv", "json"):
            if lowered == kind or lowered.endswith(("/" + kind, "+" + kind)):
                return kind
        raise FileFormatError(
            f"{UNKNOWN_TYPE}: {CONTENT_TYPE} {content_type!r} is neither csv nor json"
        )
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for kind in ("csv", "json"):
        if name.endswith("." + kind):
            return kind
    raise FileFormatError(
        f"{UNKNOWN_TYPE}: the path {path!r} ends in neither .csv nor .json (optionally .gz); "
        f"pass {CONTENT_TYPE}"
    )


def _gunzip(raw: IO[bytes]) -> IO[bytes]:
    module: Any
    try:
        from isal import igzip as module  # several times faster than gzip
    except ImportError:  # pragma: no cover - isal is a dependency, gzip the fallback
        import gzip as module
    opened: IO[bytes] = module.GzipFile(fileobj=raw, mode="rb")
    return opened


class Counted(io.RawIOBase):
    """A binary stream that counts the bytes read through it, and the rows read from them.

    ``progress`` is told ``(rows, bytes)`` at most four times a second as rows are added.
    """

    def __init__(self, raw: IO[bytes], progress: Callable[[int, int], None] | None) -> None:
        self._raw = raw
        self._progress = progress
        self.bytes = 0
        self.rows = 0
        self._told = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.bytes += len(data)
        return data

    def add_rows(self, n: int) -> None:
        self.rows += n
        now = time.monotonic()
        if self._progress is not None and now - self._told >= 0.25:
            self._told = now
            self._progress(self.rows, self.bytes)

    def close(self) -> None:
        pass  # the caller owns the source stream


def gunzipped(raw: IO[bytes] | io.RawIOBase) -> IO[bytes]:
    """``raw`` read from its current position, gunzipped when it starts with gzip's magic bytes.

    ``raw`` need not be seekable: its first bytes are peeked at through a buffer.
    """
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw, 64 << 10)
    return _gunzip(buffered) if buffered.peek(2)[:2] == b"\x1f\x8b" else buffered


def open_text(raw: IO[bytes]) -> io.TextIOWrapper:
    """A UTF-8 text stream over ``raw``, gunzipped when it starts with gzip's magic bytes.

    ``raw`` must be seekable (an S3 file or ``BytesIO``); a byte-order mark is dropped.
    """
    magic = raw.read(2)
    raw.seek(0)
    binary = _gunzip(raw) if magic == b"\x1f\x8b" else raw
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def records(text: IO[str], kind: str, *, ignore_file_columns: bool = False) -> _Reader:
    """The reader for ``kind`` (``"csv"`` or ``"json"``) over ``text``."""
    if kind == "csv":
        return _CsvReader(text)
    return _JsonReader(text, ignore_file_columns=ignore_file_columns)


class _Reader:
    """Yields ``(line, row)``; ``header`` and ``file_columns`` are known once iteration starts."""

    header: list[str]
    file_columns: Any = None

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        raise NotImplementedError


def _decode_error(exc: UnicodeDecodeError, line: int) -> FileFormatError:
    return FileFormatError(
        f"The file is not UTF-8 text: invalid byte 0x{exc.object[exc.start]:02x} near line "
        f"{line}; save it as UTF-8 and import it again"
    )


_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,\r\n]*')
"""One CSV field as the file spells it: quoted (``""`` doubled inside), or up to a delimiter."""


def quoted_empty(record: str, width: int) -> list[bool]:
    """Which of a CSV record's ``width`` fields are the quoted empty text ``""``.

    ``csv`` reads ``""`` and an empty field alike; the record's own text tells them apart. The
    record has been read by ``csv`` (strict) already, so its quotes are well formed.

    Examples
    --------
    >>> quoted_empty('"",,"a"\\n', 3)
    [True, False, False]
    """
    found, at = [], 0
    for _ in range(width):
        match = _FIELD.match(record, at)
        assert match is not None  # the pattern matches the empty text
        found.append(match.group() == '""')
        at = match.end() + 1  # past the delimiter
    return found


class _Lines:
    """The lines of a text stream, keeping those of the record ``csv`` is reading."""

    def __init__(self, text: IO[str]) -> None:
        self._lines = iter(text)
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line

    def record(self) -> str:
        """The text of the record read last (and forget it)."""
        text = "".join(self.taken)
        self.taken.clear()
        return text


class _CsvReader(_Reader):
    """CSV rows: an unquoted empty field is missing, a quoted one (``""``) the empty text.

    In a file of one column a line ``""`` is missing: a missing value there cannot be a blank
    line, which readers skip, so writers quote it (this package's encoder and Python's
    ``csv`` do).
    """

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.header = []

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        # The csv module refuses fields over 128 KiB by default; allow what a JSON record may be.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_CHARS))
        lines = _Lines(self._text)
        reader = csv.reader(lines, strict=True)
        line = 1
        try:
            try:
                header = next(reader)
            except StopIteration:
                raise FileFormatError("The CSV file is empty: it has no header row") from None
            self._check_header(header)
            self.header = header
            width = len(header)
            end = reader.line_num
            lines.record()
            for row in reader:
                line, end = end + 1, reader.line_num
                record = lines.record()
                if len(row) == width:
                    if width == 1 or all(row):
                        yield line, {h: v for h, v in zip(header, row, strict=True) if v}
                        continue
                    empty = quoted_empty(record, width)
                    yield line, {h: v for h, v, e in zip(header, row, empty, strict=True) if v or e}
                elif row:
                    raise FileFormatError(
                        f"Malformed row at line {line}: it has {len(row)} fields but the header "
                        f"has {width}"
                    )
        except csv.Error as exc:
            raise FileFormatError(f"Malformed CSV at line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, reader.line_num + 1) from None

    @staticmethod
    def _check_header(header: list[str]) -> None:
        seen: set[str] = set()
        for position, name in enumerate(header, start=1):
            if not name.strip():
                raise FileFormatError(
                    f"The header row (line 1) has an empty column name at {position}"
                )
            if name in seen:
                raise FileFormatError(f"The header row (line 1) names the column {name!r} twice")
            seen.add(name)


class _JsonReader(_Reader):
    def __init__(self, text: IO[str], *, ignore_file_columns: bool = False) -> None:
        self._text = text
        self._ignore_columns = ignore_file_columns
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1
        self._line_pos = 0
        self._yielded = 0
        self.header = []

    # -- the buffer ------------------------------------------------------------------------------
    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = self._text.read(CHUNK_CHARS)
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, self._line_at(len(self._buf))) from None
        if not chunk:
            self._eof = True
            return False
        start = min(self._pos, self._line_pos)
        if start:
            self._buf = self._buf[start:]
            self._pos -= start
            self._line_pos -= start
        self._buf += chunk
        return True

    def _line_at(self, pos: int) -> int:
        if pos > self._line_pos:
            self._line += self._buf.count("\n", self._line_pos, pos)
            self._line_pos = pos
        return self._line

    def _skip_ws(self) -> None:
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or not self._fill():
                return

    def _peek(self) -> str:
        self._skip_ws()
        return self._buf[self._pos] if self._pos < len(self._buf) else ""

    def _expect(self, chars: str, what: str) -> str:
        found = self._peek()
        if not found or found not in chars:
            shown = repr(found) if found else "the end of the file"
            raise FileFormatError(
                f"Malformed JSON at line {self._line_at(self._pos)}: expected {what}, found {shown}"
            )
        self._pos += 1
        return found

    def _value(self) -> Any:
        self._skip_ws()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buf) - self._pos < MAX_RECORD_CHARS and self._fill():
                    continue
                raise FileFormatError(
                    f"Malformed JSON at line {self._line_at(exc.pos)}: {exc.msg}"
                ) from None
            # A number may continue in the next chunk.
            if end == len(self._buf) and self._fill():
                continue
            self._pos = end
            return value

    # -- the structure ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        first = self._peek()
        if first == "[":
            yield from self._array()
        elif first == "{":
            yield from self._object()
        elif not first:
            raise FileFormatError("The JSON file is empty")
        else:
            raise FileFormatError(
                f"Malformed JSON at line {self._line_at(self._pos)}: a JSON import is an array of "
                'objects or an object {"columns": ..., "data": [...]}, not a value starting '
                f"with {first!r}"
            )
        if self._peek():
            raise FileFormatError(
                f"Malformed JSON at line {self._line_at(self._pos)}: unexpected data after the "
                "end of the JSON value"
            )

    def _array(self) -> Iterator[tuple[int, dict[str, Any]]]:
        self._expect("[", "'['")
        if self._peek() == "]":
            self._pos += 1
            return
        seen = dict.fromkeys(self.header)
        while True:
            self._skip_ws()
            line = self._line_at(self._pos)
            record = self._value()
            self._yielded += 1
            if not isinstance(record, dict):
                raise FileFormatError(
                    f"Malformed row at line {line}: record {self._yielded} is "
                    f"{type(record).__name__}, not an object of column values"
                )
            row: dict[str, Any] = {}
            for name, value in record.items():
                if value is None:
                    continue
                if isinstance(value, dict | list):
                    raise FileFormatError(
                        f"Malformed row at line {line}: the value of {name!r} in record "
                        f"{self._yielded} is a nested {type(value).__name__}; only flat "
                        "objects can be imported"
                    )
                row[name] = value
            for name in record:
                if name not in seen:
                    seen[name] = None
                    self.header.append(name)
            yield line, row
            if self._expect(",]", "',' or ']' after a record") == "]":
                return

    def _object(self) -> Iterator[tuple[int, dict[str, Any]]]:
        self._expect("{", "'{'")
        found_data = False
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                key = self._value()
                if not isinstance(key, str):  # pragma: no cover - raw_decode enforces it
                    raise FileFormatError("Malformed JSON: an object key is not a string")
                self._expect(":", "':'")
                if key.lower() == "data":
                    if self._peek() != "[":
                        raise FileFormatError(
                            f"Malformed JSON at line {self._line_at(self._pos)}: 'data' must be an "
                            "array of objects"
                        )
                    found_data = True
                    yield from self._array()
                elif key.lower() == "columns":
                    columns = self._value()
                    if not self._ignore_columns:
                        if self._yielded:
                            raise ColumnsAfterData(columns)
                        self.file_columns = columns
                else:
                    self._value()
                if self._expect(",}", "',' or '}'") == "}":
                    break
        if not found_data:
            raise FileFormatError(
                'The JSON object has no "data" array; send an array of objects, or '
                '{"columns": {...}, "data": [...]}'
            )
