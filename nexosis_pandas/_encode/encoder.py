"""DataFrame → compressed CSV or JSON bytes, chunk by chunk, memory-bounded.

The serialisation rules live in one place, :func:`encode_dataframe` (over :class:`Encoding`,
which the upload uses too); the per-dtype formatting is :mod:`~nexosis_pandas._encode.formatters`.

What the file contains
----------------------
- UTF-8, a header row, ``\\n`` line ends, RFC 4180 quoting. Text columns (strings, categories,
  formatted datetimes and booleans) are always quoted; numbers never, except in the case below.
- The index is written when it carries information (it is named, or it is anything but the
  default ``RangeIndex(0, n)``), or when ``index=True``; never with ``index=False``. An unnamed
  index is written as ``index`` (levels of an unnamed ``MultiIndex`` as ``level_0``, ...).
- Missing values (``NaN``, ``None``, ``NaT``, ``pd.NA``) are empty fields (``null`` in JSON),
  and an empty string is ``""`` (``""`` in JSON too), so the two differ. In a CSV file of one
  column a missing value is written ``""``, since readers skip a blank line; an empty string
  there is refused (:func:`~nexosis_pandas._frame.check_lone_text`).
- A sparse column is written as the dense column it stands for. ``bytes`` are refused
  (:func:`~nexosis_pandas._frame.bytes_error`): no data type holds them.
- Integers, nullable ones included, are written as integers; booleans as ``True``/``False``
  (``true``/``false`` in JSON).
- Floats are written in the shortest form that reads back as the same double (``0.1``,
  ``1e+20``). In a float column whose values are all whole numbers, and for ``-0.0``, values are
  written as ``1.0`` so the column reads back as float: in CSV such values are quoted text.
- Datetimes are ISO-8601 (``2024-01-31T12:00:00``), with as many fractional digits as the
  column needs (the same for every value of the column). Timezone-aware values carry the offset
  of their own zone (``+00:00`` for UTC, ``+01:00``/``+02:00`` for Europe/Paris); naive values
  carry none. A value whose offset is not a whole number of minutes (a zone's local mean time
  before standard time, e.g. ``-00:09:21``) is written as the same instant in UTC, since ISO
  8601 has no seconds in an offset.
- Categories are written as their values, formatted by the rules of their dtype.
- ``gzip`` output is one gzip member per chunk of about 4 MB of text (members concatenate
  into one valid gzip file, which gzip, pandas and Arrow read whole), each with a fixed header
  timestamp, so identical frames give identical bytes; :attr:`S3Object.sha256` is the SHA-256
  of the uncompressed bytes.

How fast
--------
The chunks' row ranges are fixed once the first small chunk has measured the row width, so each
chunk is encoded and compressed on its own: :meth:`Encoding.blocks` runs
:data:`ENCODE_THREADS` of them at once (Arrow's writer and ISA-L release the GIL) and yields
them in order, at most a few chunks ahead of the consumer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import isal_zlib

from nexosis_pandas._encode.arrow_formatters import arrow_formatter
from nexosis_pandas._encode.formatters import (
    BytesFound,
    ColumnScan,
    Format,
    column_formatter,
    scan_column,
)
from nexosis_pandas._frame import (
    bytes_error,
    check_lone_text,
    frame_columns,
    unencodable_text_error,
)
from nexosis_pandas._inputs import encodable_table, recognise

__all__ = [
    "ENCODE_THREADS",
    "GZIP_LEVEL",
    "Chunk",
    "ColumnScan",
    "Compression",
    "Encoding",
    "Format",
    "encode_dataframe",
    "file_format",
    "gzip_member",
    "scan_columns",
]

Compression = Literal["gzip"] | None

GZIP_LEVEL = 1
"""ISA-L level (0 to 3); level 1 is many times faster than zlib's default, for ~10% more bytes."""

ENCODE_THREADS = min(4, os.cpu_count() or 1)
"""Chunks encoded and compressed at once by :meth:`Encoding.blocks`."""

_CHUNK_BYTES = 4 * 2**20  # uncompressed bytes per encoded chunk: bounds memory, keeps threads busy
_FIRST_CHUNK_ROWS = 2_000  # measures the row width before the chunk size is chosen
_MAX_CHUNK_ROWS = 1_000_000

Chunk = tuple[int, bytes]
"""Bytes of the file, with the number of the frame's rows encoded up to their end."""


_SUFFIXES: dict[str, tuple[Format, Compression]] = {
    ".csv.gz": ("csv", "gzip"),
    ".json.gz": ("json", "gzip"),
    ".csv": ("csv", None),
    ".json": ("json", None),
}


def file_format(
    s3_url: str,
    format: Format | None = None,
    compression: Compression | Literal["infer"] = "infer",
) -> tuple[Format, Compression]:
    """The format and compression of the file at ``s3_url``: as given, else from its suffix.

    Parameters
    ----------
    s3_url
        The object's URL; ``.csv.gz``, ``.json.gz``, ``.csv`` and ``.json`` are understood.
    format
        ``"csv"`` or ``"json"``; ``None`` takes it from the suffix.
    compression
        ``"gzip"`` or ``None``; ``"infer"`` takes it from the suffix.

    Raises
    ------
    ValueError
        The suffix is none of those and ``format`` or ``compression`` is left to it.

    Examples
    --------
    >>> file_format("s3://bucket/sales.json")
    ('json', None)
    >>> file_format("s3://bucket/sales", "csv", "gzip")
    ('csv', 'gzip')
    """
    suffix = next((c for s, c in _SUFFIXES.items() if s3_url.lower().endswith(s)), None)
    if suffix is None and (format is None or compression == "infer"):
        raise ValueError(
            f"Can't tell the file format from {s3_url!r}: end the key in .csv.gz, .csv, "
            ".json.gz or .json (e.g. s3://bucket/path/sales.csv.gz), or pass both format= "
            "and compression="
        )
    inferred_format, inferred_compression = suffix or ("csv", None)
    chosen_format = inferred_format if format is None else format
    chosen_compression = inferred_compression if compression == "infer" else compression
    _check_options(chosen_format, chosen_compression)
    return chosen_format, chosen_compression


def _check_options(format: str, compression: str | None) -> None:
    if format not in ("csv", "json"):
        raise ValueError(f"format must be 'csv' or 'json', not {format!r}")
    if compression not in ("gzip", None):
        raise ValueError(f"compression must be 'gzip' or None, not {compression!r}")


def scan_columns(df: pd.DataFrame, *, index: bool | None) -> dict[str, ColumnScan]:
    """Scan the float and datetime columns written for ``df`` (see :class:`ColumnScan`)."""
    scans: dict[str, ColumnScan] = {}
    for name, series in frame_columns(df, index):
        scan = scan_column(series)
        if scan is not None:
            scans[name] = scan
    return scans


class Encoding:
    """The text of a frame, chunk by chunk, with running counts and hash.

    Building it validates the column names and chooses each column's formatting, so every
    :class:`ColumnError` is raised before the first byte exists. A part of a larger frame is
    encoded with the ``scans`` of the whole (and, as its SHA-256 names nothing, without
    ``digest``); the first part alone has the ``header`` (CSV's
    header row, JSON's ``[``) and the last alone the ``footer`` (JSON's ``]``), and a JSON part
    without them holds its rows joined by ``,\\n``, with nothing before or after.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        format: Format,
        index: bool | None,
        header: bool = True,
        footer: bool = True,
        scans: dict[str, ColumnScan] | None = None,
        digest: bool = True,
    ) -> None:
        self.format: Format = format
        self.header = header
        self.footer = footer
        self._formatters: list[Callable[[Any], pa.Array]] = []
        self._series: list[Any] = []
        if isinstance(df, pa.Table):  # polars, Arrow and the Arrow stream: no pandas on the way
            table = encodable_table(df)
            self.names = tuple(table.column_names)
            if format == "csv" and table.num_columns == 1:
                check_lone_text(self.names[0], table.column(0))
            for name, column in zip(self.names, table.columns, strict=True):
                self._series.append(column)
                self._formatters.append(
                    arrow_formatter(name, column, format, (scans or {}).get(name))
                )
            self.rows = table.num_rows
        else:
            self._pandas_columns(df, index, scans)
            self.rows = len(df)
        self.bytes_uncompressed = 0
        self._hash = hashlib.sha256() if digest else None

    def _pandas_columns(
        self, df: pd.DataFrame, index: bool | None, scans: dict[str, ColumnScan] | None
    ) -> None:
        columns = frame_columns(df, index)
        if self.format == "csv" and len(columns) == 1:
            check_lone_text(*columns[0])
        self.names = tuple(name for name, _ in columns)
        for name, series in columns:
            self._series.append(series)
            try:
                self._formatters.append(
                    column_formatter(series, self.format, (scans or {}).get(name))
                )
            except BytesFound:  # in a category's values, say
                raise bytes_error(name, series) from None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the text so far; ``""`` when built with ``digest=False``."""
        return self._hash.hexdigest() if self._hash is not None else ""

    def _arrays(self, start: int, stop: int) -> list[pa.Array]:
        arrays = []
        for name, formatter, series in zip(self.names, self._formatters, self._series, strict=True):
            if isinstance(series, pa.ChunkedArray):
                arrays.append(formatter(series.slice(start, stop - start).combine_chunks()))
                continue
            values = series.iloc[start:stop]
            try:
                arrays.append(formatter(values))
            except UnicodeEncodeError:
                raise unencodable_text_error(name, values) from None
            except BytesFound:
                raise bytes_error(name, values) from None
        return arrays

    def _csv_chunk(self, start: int, stop: int) -> bytes:
        arrays = self._arrays(start, stop)
        if len(arrays) == 1 and arrays[0].null_count:
            # A lone missing value would be a blank line, which CSV readers skip: write "".
            arrays = [pc.fill_null(pc.cast(arrays[0], pa.string()), "")]
        table = pa.Table.from_arrays(arrays, names=list(self.names))
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(
            include_header=start == 0 and self.header, batch_size=max(stop - start, 1)
        )
        pa_csv.write_csv(table, sink, options)
        data: bytes = sink.getvalue().to_pybytes()
        return data

    def _json_chunk(self, start: int, stop: int) -> bytes:
        parts: list[Any] = []
        for i, (name, arr) in enumerate(zip(self.names, self._arrays(start, stop), strict=True)):
            parts.append(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
            parts.append(arr)
        parts.append("},\n")
        rows = pc.cast(pc.binary_join_element_wise(*parts, ""), pa.large_string())
        # the array's data buffer holds the rows back to back
        _, offsets_buffer, data_buffer = rows.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[rows.offset :]
        data: bytes = data_buffer[int(offsets[0]) : int(offsets[len(rows)])].to_pybytes()
        head = b"[\n" if start == 0 and self.header else b""
        if stop < self.rows:
            return head + data
        return head + data[:-2] + (b"\n]\n" if self.footer else b"")

    def _empty(self) -> bytes:
        if self.format == "json":
            return {(True, True): b"[]\n", (True, False): b"[\n", (False, True): b"\n]\n"}.get(
                (self.header, self.footer), b""
            )
        if not self.header:
            return b""
        empty = pa.Table.from_arrays(
            [pa.array([], pa.string()) for _ in self.names], names=list(self.names)
        )
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(empty, sink)
        header: bytes = sink.getvalue().to_pybytes()
        return header

    def _ranges(self, first: bytes, start: int, chunk_bytes: int) -> Iterator[tuple[int, int]]:
        """The row ranges after the first chunk (its text ``first``), ``chunk_bytes`` each."""
        bytes_per_row = max(len(first) / max(start, 1), 1.0)
        step = int(min(max(chunk_bytes // bytes_per_row, 1), _MAX_CHUNK_ROWS))
        for begin in range(start, self.rows, step):
            yield begin, min(begin + step, self.rows)

    def blocks(
        self,
        compression: Compression,
        *,
        threads: int = ENCODE_THREADS,
        before: bytes = b"",
        first_rows: int = _FIRST_CHUNK_ROWS,
        chunk_bytes: int = _CHUNK_BYTES,
    ) -> Generator[Chunk, None, None]:
        """Yield the file's bytes in chunks, each with the frame's rows encoded up to its end.

        With ``compression="gzip"`` each chunk is one gzip member. ``threads`` chunks are made
        at once, in order; closing the iterator stops them. ``before`` (a separator the caller
        needs ahead of the rows) is yielded first, as a chunk of its own. The first chunk holds
        ``first_rows`` rows, which measure the row width, the others about ``chunk_bytes`` of
        text; the chunking never changes the text, only how many rows each chunk holds.
        """
        pack: Callable[[bytes], bytes] = gzip_member if compression == "gzip" else bytes
        if before:
            yield 0, pack(before)
        if self.rows == 0:
            empty = self._empty()
            self._account(empty)
            if empty:
                yield 0, pack(empty)
            return
        encode = self._csv_chunk if self.format == "csv" else self._json_chunk
        first_stop = min(first_rows, self.rows)
        first = encode(0, first_stop)
        self._account(first)
        yield first_stop, pack(first)

        def make(bounds: tuple[int, int]) -> tuple[int, bytes, bytes]:
            text = encode(*bounds)
            return bounds[1], text, pack(text)

        ranges = self._ranges(first, first_stop, chunk_bytes)
        for stop, text, packed in _in_order(make, ranges, threads):
            self._account(text)
            yield stop, packed

    def chunks(
        self, *, first_rows: int = _FIRST_CHUNK_ROWS, chunk_bytes: int = _CHUNK_BYTES
    ) -> Generator[Chunk, None, None]:
        """The uncompressed text, chunk by chunk: :meth:`blocks` without compression."""
        return self.blocks(None, first_rows=first_rows, chunk_bytes=chunk_bytes)

    def _account(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        self.bytes_uncompressed += len(data)


def _in_order(
    fn: Callable[[tuple[int, int]], tuple[int, bytes, bytes]],
    items: Iterator[tuple[int, int]],
    threads: int,
) -> Iterator[tuple[int, bytes, bytes]]:
    """``map(fn, items)`` on ``threads`` threads, in order, at most ``threads + 1`` ahead."""
    if threads <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[tuple[int, bytes, bytes]]] = deque()
    with ThreadPoolExecutor(threads, thread_name_prefix="nexosis-encode") as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def gzip_member(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """``data`` as one gzip member: ISA-L, header timestamp 0 and no file name, so the same
    input gives the same bytes. Members concatenate into one valid gzip file."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def encode_dataframe(
    df: pd.DataFrame,
    *,
    format: Format = "csv",
    compression: Compression = "gzip",
    index: bool | None = None,
) -> Iterator[bytes]:
    """Yield the bytes :func:`upload_dataframe` writes for ``df``, in chunks.

    The rules are in this module's docstring. Column names are checked, and each column's
    formatting chosen, when this is called (before the first chunk is produced); the text is made
    chunk by chunk as the iterator is consumed, so memory stays bounded whatever the frame's size.

    Parameters
    ----------
    df
        The frame: pandas, or any frame :func:`~nexosis_pandas._inputs.recognise` takes
        (polars and Arrow data are encoded from their Arrow columns, to the same bytes).
    format
        ``"csv"`` or ``"json"`` (an array of flat objects, one per row).
    compression
        ``"gzip"`` (ISA-L, fixed timestamp) or ``None``.
    index
        ``None`` writes the index only when it carries information; ``True`` always, ``False``
        never.

    Raises
    ------
    ColumnError
        Column names are not unique non-empty strings, the frame has no columns, or (JSON) a
        float is infinite.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, None], "b": ["x", "y,z"], "c": [True, False]})
    >>> b"".join(encode_dataframe(df.astype({"a": "Int64"}), compression=None)).decode()
    '"a","b","c"\\n1,"x","True"\\n,"y,z","False"\\n'
    """
    _check_options(format, compression)
    _, df = recognise(df)  # polars and Arrow data: a pyarrow Table
    encoding = Encoding(df, format=format, index=index)
    return (data for _, data in encoding.blocks(compression))
