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
- Missing values (``NaN``, ``None``, ``NaT``, ``pd.NA``) are empty fields (``null`` in JSON);
  in a file of one column they are written ``""``, since readers skip a blank line.
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
- ``gzip`` output has a fixed header timestamp, so identical frames give identical bytes;
  :attr:`S3Object.sha256` is the SHA-256 of the uncompressed bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import isal_zlib

from nexosis_pandas._encode.formatters import ColumnScan, Format, column_formatter, scan_column
from nexosis_pandas._frame import frame_columns, unencodable_text_error

__all__ = [
    "GZIP_LEVEL",
    "Chunk",
    "ColumnScan",
    "Compression",
    "Encoding",
    "Format",
    "encode_dataframe",
    "file_format",
    "gzip_chunks",
    "scan_columns",
]

Compression = Literal["gzip"] | None

GZIP_LEVEL = 1
"""ISA-L level (0 to 3); level 1 is many times faster than zlib's default, for ~10% more bytes."""

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
    encoded with ``header=False`` (unless it is the first) and the ``scans`` of the whole.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        format: Format,
        index: bool | None,
        header: bool = True,
        scans: dict[str, ColumnScan] | None = None,
    ) -> None:
        self.format: Format = format
        self.header = header
        columns = frame_columns(df, index)
        self.names = tuple(name for name, _ in columns)
        self._series = [series for _, series in columns]
        self._formatters = [
            column_formatter(series, format, (scans or {}).get(name)) for name, series in columns
        ]
        self.rows = len(df)
        self.bytes_uncompressed = 0
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _arrays(self, start: int, stop: int) -> list[pa.Array]:
        arrays = []
        for name, formatter, series in zip(self.names, self._formatters, self._series, strict=True):
            values = series.iloc[start:stop]
            try:
                arrays.append(formatter(values))
            except UnicodeEncodeError:
                raise unencodable_text_error(name, values) from None
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
        head = b"[\n" if start == 0 else b""
        if stop == self.rows:
            data = data[:-2] + b"\n"
        return head + data + (b"]\n" if stop == self.rows else b"")

    def chunks(
        self, *, first_rows: int = _FIRST_CHUNK_ROWS, chunk_bytes: int = _CHUNK_BYTES
    ) -> Iterator[Chunk]:
        """Yield the uncompressed text in chunks of about ``chunk_bytes``, with the rows done.

        The first chunk holds ``first_rows`` rows, which measure the row width; the chunking
        never changes the bytes, only how many rows each chunk holds.
        """
        if self.rows == 0:
            if not self.header:
                return
            if self.format == "csv":
                empty = pa.Table.from_arrays(
                    [pa.array([], pa.string()) for _ in self.names], names=list(self.names)
                )
                sink = pa.BufferOutputStream()
                pa_csv.write_csv(empty, sink)
                header: bytes = sink.getvalue().to_pybytes()
                yield self._account(header, 0)
            else:
                yield self._account(b"[]\n", 0)
            return
        encode = self._csv_chunk if self.format == "csv" else self._json_chunk
        start, step = 0, first_rows
        while start < self.rows:
            stop = min(start + step, self.rows)
            data = encode(start, stop)
            yield self._account(data, stop)
            bytes_per_row = max(len(data) / (stop - start), 1.0)
            step = int(min(max(chunk_bytes // bytes_per_row, 1), _MAX_CHUNK_ROWS))
            start = stop

    def _account(self, data: bytes, rows_done: int) -> Chunk:
        self._hash.update(data)
        self.bytes_uncompressed += len(data)
        return rows_done, data


def gzip_chunks(chunks: Iterable[Chunk], level: int = GZIP_LEVEL) -> Iterator[Chunk]:
    # ISA-L writes a gzip header with mtime 0 and no file name: the same input gives the same bytes
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    rows_done = 0
    for rows_done, chunk in chunks:
        # The rows travel with their bytes, so progress counts rows sent, not rows encoded; the
        # sync flush (a few bytes a chunk) puts all of the chunk's text into those bytes.
        yield rows_done, compressor.compress(chunk) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    yield rows_done, compressor.flush()


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
        The frame.
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
    encoding = Encoding(df, format=format, index=index)
    chunks = encoding.chunks()
    return (data for _, data in (gzip_chunks(chunks) if compression == "gzip" else chunks))
