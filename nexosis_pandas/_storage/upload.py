"""DataFrame → compressed CSV or JSON bytes → S3 object, streamed and memory-bounded.

The serialisation rules live in one place, :func:`encode_dataframe`; :func:`upload_dataframe`
sends its bytes to S3 as a multipart upload.

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
  carry none.
- Categories are written as their values, formatted by the rules of their dtype.
- ``gzip`` output has a fixed header timestamp, so identical frames give identical bytes;
  :attr:`S3Object.sha256` is the SHA-256 of the uncompressed bytes.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import isal_zlib

from nexosis_pandas import config
from nexosis_pandas._html import format_bytes
from nexosis_pandas.exceptions import ColumnError, UploadError
from nexosis_pandas.progress import ProgressArg, resolve_progress

__all__ = [
    "S3Object",
    "encode_dataframe",
    "file_format",
    "find_existing",
    "unencodable_text_error",
    "upload_dataframe",
    "validate_column_names",
    "writes_index",
]

Format = Literal["csv", "json"]
Compression = Literal["gzip"] | None

PART_SIZE = 8 * 2**20
"""Bytes per multipart part (S3's minimum is 5 MiB)."""

GZIP_LEVEL = 1
"""ISA-L level (0 to 3); level 1 is many times faster than zlib's default, for ~10% more bytes."""

_CHUNK_BYTES = 4 * 2**20  # uncompressed bytes per encoded chunk: bounds memory, keeps threads busy
_FIRST_CHUNK_ROWS = 2_000  # measures the row width before the chunk size is chosen
_MAX_CHUNK_ROWS = 1_000_000
_QUEUE_CHUNKS = 2

_Chunk = tuple[int, bytes]
"""Bytes of the file, with the number of the frame's rows encoded up to their end."""


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Object:
    """An object written to S3 by :func:`upload_dataframe`.

    Attributes
    ----------
    url : str
        ``s3://bucket/key``.
    bucket, key : str
        Where the object is.
    region : str or None
        The bucket's region, when the S3 client knows it.
    format : {"csv", "json"}
        The file format.
    compression : {"gzip", None}
        The compression.
    rows : int
        Data rows written.
    columns : tuple of str
        The header: index columns first (when written), then the frame's columns.
    bytes_uncompressed : int
        Size of the CSV or JSON text.
    bytes_written : int
        Size of the object on S3.
    etag : str or None
        The ETag S3 gave the object (for a multipart upload, not an MD5 of the content).
    sha256 : str
        Hex SHA-256 of the uncompressed bytes: identical frames (and encoding options) give the
        same value, whatever the compression, so it can name content-addressed keys.
    seconds : float
        Time from the call to the object's completion.

    Examples
    --------
    >>> obj = upload_dataframe(df, "s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
    >>> obj.rows, obj.bytes_written  # doctest: +SKIP
    (1000000, 41990478)
    """

    url: str
    bucket: str
    key: str
    region: str | None
    format: Format
    compression: Compression
    rows: int
    columns: tuple[str, ...]
    bytes_uncompressed: int
    bytes_written: int
    etag: str | None
    sha256: str
    seconds: float = field(compare=False)

    @property
    def mb_per_second(self) -> float:
        """Uncompressed megabytes (10^6 bytes) encoded and sent per second."""
        return self.bytes_uncompressed / 1e6 / self.seconds if self.seconds > 0 else math.inf

    def __repr__(self) -> str:
        return (
            f"S3Object(url={self.url!r}, rows={self.rows}, columns={len(self.columns)}, "
            f"format={self.format!r}, compression={self.compression!r}, "
            f"bytes_uncompressed={self.bytes_uncompressed}, bytes_written={self.bytes_written}, "
            f"sha256={self.sha256[:12]!r}..., seconds={self.seconds:.2f})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("url", self.url),
            ("region", self.region or "unknown"),
            ("rows, columns", f"{self.rows:,}, {len(self.columns)}"),
            ("format", f"{self.format}" + (f" ({self.compression})" if self.compression else "")),
            (
                "size",
                f"{format_bytes(self.bytes_written)} written, "
                f"{format_bytes(self.bytes_uncompressed)} uncompressed",
            ),
            ("time", f"{self.seconds:.2f} s ({self.mb_per_second:.1f} MB/s)"),
            ("etag", self.etag or ""),
            ("sha256", self.sha256),
            ("columns", ", ".join(self.columns)),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        return f"<table><caption style='text-align:left'>S3Object</caption>{body}</table>"


# --------------------------------------------------------------------------------------------
# Column names and the index
# --------------------------------------------------------------------------------------------


def writes_index(df: pd.DataFrame, index: bool | None = None) -> bool:
    """Whether ``df``'s index is written as columns, by the rule of :func:`upload_dataframe`.

    ``index=None`` writes it when it carries information: it is named, or it is anything but
    the default ``RangeIndex(0, n)`` (a ``DatetimeIndex``, the labels left after filtering).
    ``True`` always writes it, ``False`` never.

    Examples
    --------
    >>> import pandas as pd
    >>> writes_index(pd.DataFrame({"x": [1, 2]}))
    False
    >>> writes_index(pd.DataFrame({"x": [1, 2]}, index=pd.date_range("2024-01-01", periods=2)))
    True
    """
    if index is not None:
        return bool(index)
    idx = df.index
    is_default = (
        isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None
    )
    return not is_default


def _index_names(df: pd.DataFrame) -> list[object]:
    idx = df.index
    if isinstance(idx, pd.MultiIndex):
        return [n if n is not None else f"level_{i}" for i, n in enumerate(idx.names)]
    return [idx.name if idx.name is not None else "index"]


def validate_column_names(df: pd.DataFrame, *, index: bool | None = None) -> list[str]:
    """Check the names of the columns that would be written; return them, index columns first.

    Names must be unique, non-empty strings, and there must be at least one column. This runs
    before any byte is sent.

    Parameters
    ----------
    df
        The frame.
    index
        As for :func:`upload_dataframe`: ``None`` writes the index only when it carries
        information (named, or not the default ``RangeIndex``).

    Raises
    ------
    ColumnError
        Naming the offending column and how to fix it.

    Examples
    --------
    >>> import pandas as pd
    >>> validate_column_names(pd.DataFrame({"a": [1], "b": [2]}))
    ['a', 'b']
    >>> validate_column_names(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    Traceback (most recent call last):
    ...
    nexosis_pandas.exceptions.ColumnError: Column name 'a' appears 2 times (positions 0, 1); \
column names must be unique. Rename or drop the copies, \
e.g. df = df.loc[:, ~df.columns.duplicated()].
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame, got {type(df).__name__}")
    if isinstance(df.columns, pd.MultiIndex):
        raise ColumnError(
            f"The columns are a MultiIndex with {df.columns.nlevels} levels; a file has one "
            "header row. Flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns].",
            column=df.columns[0] if len(df.columns) else None,
        )
    names: list[object] = []
    where: list[str] = []
    if writes_index(df, index):
        for name in _index_names(df):
            names.append(name)
            where.append("the index")
    for i, name in enumerate(df.columns):
        names.append(name)
        where.append(f"position {i}")

    if not names:
        raise ColumnError(
            "The DataFrame has no columns, so there is nothing to write. "
            "Add at least one column (an empty frame needs its columns)."
        )
    for name, place in zip(names, where, strict=True):
        fix = (
            "set df.index.name to a string, or pass index=False to leave the index out"
            if place == "the index"
            else "rename it with df.rename(columns={...}), or df.columns = df.columns.astype(str)"
        )
        if not isinstance(name, str):
            raise ColumnError(
                f"Column name {name!r} ({place}) is a {type(name).__name__}, not a string; {fix}.",
                column=name,
            )
        if not name.strip():
            raise ColumnError(
                f"Column name {name!r} ({place}) is empty; column names must be non-empty; {fix}.",
                column=name,
            )
        if _surrogate_at(name) is not None:
            raise ColumnError(
                f"Column name {name!r} ({place}) holds an unpaired surrogate, which UTF-8 cannot "
                f"encode; {fix}.",
                column=name,
            )
    seen: dict[str, list[str]] = {}
    for name, place in zip(names, where, strict=True):
        seen.setdefault(str(name), []).append(place)
    for name, places in seen.items():
        if len(places) > 1:
            positions = ", ".join(p.removeprefix("position ") for p in places)
            hint = (
                " The index has the same name as a column: rename it (df.index.name = ...) or "
                "pass index=False."
                if "the index" in places
                else " Rename or drop the copies, e.g. df = df.loc[:, ~df.columns.duplicated()]."
            )
            raise ColumnError(
                f"Column name {name!r} appears {len(places)} times ({_plural(places)} "
                f"{positions}); column names must be unique.{hint}",
                column=name,
            )
    return [str(n) for n in names]


def _surrogate_at(text: str) -> int | None:
    """Where ``text`` stops being encodable as UTF-8 (an unpaired surrogate), if it does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def unencodable_text_error(name: object, values: pd.Series) -> ColumnError:
    """The error for a column holding text UTF-8 cannot encode, naming the first such row.

    Parameters
    ----------
    name
        The column's name.
    values
        The column (or the part of it being encoded).

    Returns
    -------
    ColumnError
        Naming the column, the row and the repair.

    Examples
    --------
    >>> import pandas as pd
    >>> str(unencodable_text_error("s", pd.Series(["ok", "bad\\ud800"], dtype=object)))[:60]
    "Column 's' holds text with an unpaired surrogate (row 1), wh"
    """
    label: object = None
    for row, value in values.items():
        if isinstance(value, str) and _surrogate_at(value) is not None:
            label = row
            break
    return ColumnError(
        f"Column {name!r} holds text with an unpaired surrogate (row {label!r}), which UTF-8 "
        "cannot encode, so nothing was uploaded. Repair the text, e.g. "
        f"df[{name!r}] = df[{name!r}].str.encode('utf-8', 'replace').str.decode('utf-8')",
        column=name,
    )


def _plural(places: list[str]) -> str:
    return "positions" if all(p.startswith("position") for p in places) else "at"


def _frame_columns(df: pd.DataFrame, index: bool | None) -> list[tuple[str, pd.Series]]:
    names = validate_column_names(df, index=index)
    columns: list[pd.Series] = []
    if writes_index(df, index):
        idx = df.index
        levels = (
            [idx.get_level_values(i) for i in range(idx.nlevels)]
            if isinstance(idx, pd.MultiIndex)
            else [idx]
        )
        columns.extend(pd.Series(level, index=pd.RangeIndex(len(df))) for level in levels)
    columns.extend(df.iloc[:, i] for i in range(df.shape[1]))
    return list(zip(names, columns, strict=True))


# --------------------------------------------------------------------------------------------
# Per-column formatting: each column becomes an Arrow array the CSV writer renders by the rules
# (CSV) or an array of JSON texts (JSON)
# --------------------------------------------------------------------------------------------

ColumnFormatter = Callable[[pd.Series], pa.Array]

_BOOL_TEXT = {"csv": pa.array(["False", "True"]), "json": pa.array(["false", "true"])}
_UNITS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _json_nulls(arr: pa.Array) -> pa.Array:
    return pc.fill_null(arr, "null")


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _to_arrow(values: pd.Series) -> pa.Array:
    arr = pa.array(values, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _bool_formatter(fmt: Format) -> ColumnFormatter:
    def format_bools(values: pd.Series) -> pa.Array:
        indices = pc.cast(_to_arrow(values), pa.int8())
        if fmt == "csv":
            return pa.DictionaryArray.from_arrays(indices, _BOOL_TEXT["csv"])
        return _json_nulls(pc.take(_BOOL_TEXT["json"], indices))

    return format_bools


def _int_formatter(fmt: Format) -> ColumnFormatter:
    def format_ints(values: pd.Series) -> pa.Array:
        arr = _to_arrow(values)
        return arr if fmt == "csv" else _json_nulls(pc.cast(arr, pa.string()))

    return format_ints


_SCAN_ROWS = 1_000_000  # whole-column scans go in slices, so they need no full-size copy


def _float_numpy(values: pd.Series) -> np.ndarray[Any, Any]:
    return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))


def _scan_floats(column: pd.Series) -> tuple[bool, int | None]:
    """Whether every finite value is a whole number, and the row of the first infinity."""
    all_whole, first_inf = True, None
    for start in range(0, len(column), _SCAN_ROWS):
        v = _float_numpy(column.iloc[start : start + _SCAN_ROWS])
        finite = np.isfinite(v)
        if all_whole and not np.array_equal(v[finite], np.trunc(v[finite])):
            all_whole = False
        inf = np.isinf(v)
        if first_inf is None and inf.any():
            first_inf = start + int(np.flatnonzero(inf)[0])
    return all_whole, first_inf


def _float_text(arr: pa.Array, need_point: np.ndarray[Any, Any]) -> pa.Array:
    """Shortest round-trip text of ``arr``, with ``.0`` added where ``need_point`` is set."""
    text = pc.cast(arr, pa.string())
    if not need_point.any():
        return text
    mask = pa.array(need_point)
    sub = text.filter(mask)
    # Arrow writes some whole numbers with an exponent (1e+16), which already reads as a float.
    plain = pc.invert(pc.match_substring(sub, "e"))
    fixed = pc.if_else(plain, pc.binary_join_element_wise(sub, ".0", ""), sub)
    return pc.replace_with_mask(text, mask, fixed)


def _float_formatter(column: pd.Series, fmt: Format) -> ColumnFormatter:
    # A column of whole numbers only would read back as integers: mark every value as a float.
    all_whole, first_inf = _scan_floats(column)
    if fmt == "json" and first_inf is not None:
        raise ColumnError(
            f"Column {column.name!r} holds an infinite value (row {first_inf}), which JSON cannot "
            "represent; replace it (df[col].replace([np.inf, -np.inf], np.nan)) or use "
            "format='csv'.",
            column=column.name,
        )

    def format_floats(values: pd.Series) -> pa.Array:
        arr = _to_arrow(values)
        x = _float_numpy(values)
        whole = np.isfinite(x) & (x == np.trunc(x))
        need_point = whole if (all_whole or fmt == "json") else whole & (x == 0) & np.signbit(x)
        if fmt == "csv":
            return _float_text(arr, need_point) if need_point.any() else arr
        return _json_nulls(_float_text(arr, need_point))

    return format_floats


def _datetime_unit(values: pd.Series) -> str:
    """The coarsest of s, ms, us, ns that writes every value of the column exactly."""
    per_second = _UNITS_PER_SECOND[str(values.array.unit)]
    divisors = [per_second // per for per in _UNITS_PER_SECOND.values() if per < per_second]
    exact = [True] * len(divisors)
    for start in range(0, len(values), _SCAN_ROWS):
        part = values.iloc[start : start + _SCAN_ROWS]
        i8 = np.asarray(part.array.asi8)[~np.asarray(part.isna())]
        exact = [ok and not (i8 % d).any() for ok, d in zip(exact, divisors, strict=True)]
    for unit, ok in zip(_UNITS_PER_SECOND, exact, strict=False):
        if ok:
            return unit
    return str(values.array.unit)


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _as_datetimes(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.ArrowDtype):
        tz = getattr(values.dtype.pyarrow_dtype, "tz", None)
        unit = values.dtype.pyarrow_dtype.unit
        target = pd.DatetimeTZDtype(unit=unit, tz=tz) if tz else np.dtype(f"datetime64[{unit}]")
        return values.astype(target)
    return values


def _datetime_text(values: pd.Series, unit: str) -> pa.Array:
    values = _as_datetimes(values)
    tz = values.dt.tz
    wall = values.dt.tz_localize(None) if tz is not None else values
    stamps = pa.array(wall.to_numpy(dtype=f"datetime64[{unit}]"), from_pandas=True)
    text = pc.replace_substring(pc.cast(stamps, pa.string()), " ", "T", max_replacements=1)
    if tz is None:
        return text
    per_second = _UNITS_PER_SECOND[str(values.array.unit)]
    offsets = (np.asarray(wall.array.asi8) - np.asarray(values.array.asi8)) // per_second
    present = offsets[~np.asarray(values.isna())]
    unique = np.unique(present)
    if len(unique) <= 1:
        suffix = _offset_text(int(unique[0]) if len(unique) else 0)
        return pc.binary_join_element_wise(text, suffix, "")
    codes = np.searchsorted(unique, offsets).clip(0, len(unique) - 1)
    suffixes = pc.take(pa.array([_offset_text(int(o)) for o in unique]), pa.array(codes))
    return pc.binary_join_element_wise(text, suffixes, "")


def _datetime_formatter(column: pd.Series, fmt: Format) -> ColumnFormatter:
    unit = _datetime_unit(_as_datetimes(column))

    def format_datetimes(values: pd.Series) -> pa.Array:
        text = _datetime_text(values, unit)
        if fmt == "csv":
            return text
        return _json_nulls(pc.binary_join_element_wise('"', text, '"', ""))

    return format_datetimes


def _string_array(arr: pa.Array, fmt: Format) -> pa.Array:
    if fmt == "csv":
        return arr
    encode = json.encoder.encode_basestring
    texts = [None if s is None else encode(s) for s in arr.to_pylist()]
    return _json_nulls(pa.array(texts, pa.string()))


def _str_fallback(values: pd.Series, fmt: Format) -> pa.Array:
    missing = np.asarray(values.isna())
    texts = [None if m else str(v) for v, m in zip(values.tolist(), missing, strict=True)]
    return _string_array(pa.array(texts, pa.string()), fmt)


def _object_formatter(fmt: Format) -> ColumnFormatter:
    """Mixed or untyped values: typed by Arrow chunk by chunk, else written as ``str(value)``."""

    def format_objects(values: pd.Series) -> pa.Array:
        try:
            arr = _to_arrow(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return _str_fallback(values, fmt)
        t = arr.type
        if _is_text(t):
            return _string_array(arr, fmt)
        if pa.types.is_null(t):
            return (
                pa.nulls(len(arr), pa.string())
                if fmt == "csv"
                else _json_nulls(pa.nulls(len(arr), pa.string()))
            )
        if pa.types.is_boolean(t):
            return _bool_formatter(fmt)(values)
        if pa.types.is_integer(t):
            return _int_formatter(fmt)(values)
        if pa.types.is_floating(t):
            return _float_formatter(values, fmt)(values)
        if pa.types.is_timestamp(t):
            series = pd.Series(arr.to_pandas(), index=values.index)
            return _datetime_formatter(series, fmt)(series)
        if pa.types.is_date(t):
            text = pc.cast(arr, pa.string())
            return text if fmt == "csv" else _string_array(text, fmt)
        return _str_fallback(values, fmt)

    return format_objects


def _categorical_formatter(column: pd.Series, fmt: Format) -> ColumnFormatter:
    categories = pd.Series(column.cat.categories)
    dictionary = _column_formatter(categories, fmt)(categories)
    if isinstance(dictionary, pa.DictionaryArray):
        dictionary = dictionary.dictionary_decode()
    keep_dictionary = fmt == "csv" and _is_text(dictionary.type)

    def format_categories(values: pd.Series) -> pa.Array:
        codes = np.asarray(values.cat.codes)
        indices = pa.array(codes, mask=codes < 0)
        if keep_dictionary:
            return pa.DictionaryArray.from_arrays(indices, dictionary)
        taken = pc.take(dictionary, indices)
        return taken if fmt == "csv" else _json_nulls(taken)

    return format_categories


def _column_formatter(column: pd.Series, fmt: Format) -> ColumnFormatter:
    """Choose, once per column, how its values are written."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_formatter(column, fmt)
    arrow_type = dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None
    if pd.api.types.is_datetime64_any_dtype(dtype) or (
        arrow_type is not None and pa.types.is_timestamp(arrow_type)
    ):
        return _datetime_formatter(column, fmt)
    if pd.api.types.is_bool_dtype(dtype):
        return _bool_formatter(fmt)
    if pd.api.types.is_integer_dtype(dtype):
        return _int_formatter(fmt)
    if pd.api.types.is_float_dtype(dtype):
        return _float_formatter(column, fmt)
    if pd.api.types.is_string_dtype(dtype):
        # str, string[python|pyarrow], and object: strings pass through, anything else is typed
        return _object_formatter(fmt)
    if dtype == np.dtype(object) or (arrow_type is not None and pa.types.is_date(arrow_type)):
        return _object_formatter(fmt)
    # timedelta, period, interval, complex, ...: pandas' own text for each value
    return lambda values: _str_fallback(values, fmt)


# --------------------------------------------------------------------------------------------
# Encoding a frame, chunk by chunk
# --------------------------------------------------------------------------------------------


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


class _Encoding:
    """The text of a frame, chunk by chunk, with running counts and hash.

    Building it validates the column names and chooses each column's formatting, so every
    :class:`ColumnError` is raised before the first byte exists.
    """

    def __init__(self, df: pd.DataFrame, *, format: Format, index: bool | None) -> None:
        self.format: Format = format
        columns = _frame_columns(df, index)
        self.names = tuple(name for name, _ in columns)
        self._series = [series for _, series in columns]
        self._formatters = [_column_formatter(series, format) for series in self._series]
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
        options = pa_csv.WriteOptions(include_header=start == 0, batch_size=max(stop - start, 1))
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

    def chunks(self) -> Iterator[_Chunk]:
        """Yield the uncompressed text in chunks of about ``_CHUNK_BYTES``, with the rows done."""
        if self.rows == 0:
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
        start, step = 0, _FIRST_CHUNK_ROWS
        while start < self.rows:
            stop = min(start + step, self.rows)
            data = encode(start, stop)
            yield self._account(data, stop)
            bytes_per_row = max(len(data) / (stop - start), 1.0)
            step = int(min(max(_CHUNK_BYTES // bytes_per_row, 1), _MAX_CHUNK_ROWS))
            start = stop

    def _account(self, data: bytes, rows_done: int) -> _Chunk:
        self._hash.update(data)
        self.bytes_uncompressed += len(data)
        return rows_done, data


def _gzip(chunks: Iterable[_Chunk], level: int = GZIP_LEVEL) -> Iterator[_Chunk]:
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
    encoding = _Encoding(df, format=format, index=index)
    chunks = encoding.chunks()
    return (data for _, data in (_gzip(chunks) if compression == "gzip" else chunks))


# --------------------------------------------------------------------------------------------
# A bounded pipeline: encoding and compression run in a thread while the caller uploads
# --------------------------------------------------------------------------------------------


class _Background(Iterator[_Chunk]):
    """Run an iterator in a daemon thread, at most ``size`` items ahead of the consumer."""

    _DONE = object()

    def __init__(
        self,
        source: Iterator[_Chunk],
        size: int = _QUEUE_CHUNKS,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._on_close = on_close
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nexosis-encode", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
            return
        self._put(self._DONE)

    def __next__(self) -> _Chunk:
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the thread and drop what it produced."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self._on_close is not None:
            self._on_close()


# --------------------------------------------------------------------------------------------
# The upload
# --------------------------------------------------------------------------------------------


def _split_url(s3_url: str) -> tuple[str, str]:
    parts = urlsplit(s3_url)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if parts.scheme not in ("s3", "s3a") or not bucket or not key or key.endswith("/"):
        raise ValueError(f"s3_url must look like 's3://bucket/path/file.csv.gz', not {s3_url!r}")
    return bucket, key


def _upload_error(
    exc: BaseException, bucket: str, key: str, endpoint: str | None, *, looking: bool = False
) -> UploadError:
    where = f"s3://{bucket}/{key}"
    cause = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, FileNotFoundError):
        hint = f"The bucket {bucket!r} does not exist: create it, or check the URL."
    elif isinstance(exc, PermissionError):
        hint = (
            "Access was denied: check the credentials (storage_options key/secret, or the AWS "
            f"environment) and that they may write to bucket {bucket!r}."
        )
    elif _is_connection_error(exc):
        target = endpoint or "S3"
        hint = (
            f"{target} could not be reached: check the endpoint_url in storage_options (or "
            "NEXOSIS_S3_ENDPOINT_URL) and the network, then try again."
        )
    else:
        hint = "Check the bucket, the credentials and the endpoint, then try again."
    if looking:
        return UploadError(
            f"Looking for an existing object at {where} failed ({cause}). {hint} Nothing was "
            "uploaded.",
            bucket=bucket,
            key=key,
        )
    return UploadError(
        f"Uploading to {where} failed ({cause}). {hint} The upload was aborted: no object was "
        "written, and an object already at that key is unchanged.",
        bucket=bucket,
        key=key,
    )


def _is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        name = type(seen).__name__
        if isinstance(seen, ConnectionError | TimeoutError) or any(
            word in name for word in ("Connect", "Connection", "Timeout")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _endpoint(fs: Any) -> str | None:
    kwargs = getattr(fs, "client_kwargs", None) or {}
    return getattr(fs, "endpoint_url", None) or kwargs.get("endpoint_url")


def _region(fs: Any) -> str | None:
    kwargs = getattr(fs, "client_kwargs", None) or {}
    region = kwargs.get("region_name")
    if region:
        return str(region)
    client = getattr(fs, "_s3", None)
    meta = getattr(client, "meta", None)
    return getattr(meta, "region_name", None)


def _discard(f: Any) -> None:
    """Abort the multipart upload behind ``f`` and make sure nothing commits it later.

    fsspec's ``close()`` (also called by ``__exit__`` and ``__del__``) *completes* the upload with
    whatever was written, so the file is marked closed by hand after ``discard()``.
    """
    try:
        f.discard()
    except Exception:  # noqa: S110 - best effort; S3 expires incomplete uploads by rule
        pass
    finally:
        f.closed = True


def upload_dataframe(
    df: pd.DataFrame,
    s3_url: str,
    *,
    format: Format | None = None,
    compression: Compression | Literal["infer"] = "infer",
    index: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    fs: Any = None,
    progress: ProgressArg = None,
) -> S3Object:
    """Write ``df`` to ``s3_url`` as compressed CSV (or JSON), streamed as a multipart upload.

    The frame is encoded chunk by chunk (Arrow's CSV writer, formatted by the rules in this
    module's docstring), compressed with ISA-L gzip in a background thread, and sent in parts of
    :data:`PART_SIZE` bytes, so memory above the frame stays bounded. If anything fails or the
    user interrupts, the multipart upload is aborted: no partial object appears and an object
    already at ``s3_url`` is left as it was.

    Parameters
    ----------
    df
        The frame. Column names must be unique non-empty strings.
    s3_url
        ``s3://bucket/key``.
    format
        ``"csv"`` or ``"json"`` (an array of flat objects); by default from the suffix of
        ``s3_url`` (``.csv.gz``, ``.csv``, ``.json.gz``, ``.json``), see :func:`file_format`.
    compression
        ``"gzip"`` or ``None``; ``"infer"`` (the default) takes it from the suffix.
    index
        ``None`` writes the index only when it carries information (it is named, or is not the
        default ``RangeIndex``); ``True`` always; ``False`` never.
    storage_options
        Options for ``s3fs.S3FileSystem``, as pandas takes them (``endpoint_url``, ``key``,
        ``secret``, ``client_kwargs``, ``anon``, ...); by default those of
        :func:`nexosis_pandas.config.storage_options`.
    fs
        A ready ``s3fs.S3FileSystem`` (or other fsspec filesystem) to use instead.
    progress
        ``None`` or ``False`` (the default): nothing. ``"auto"``, ``"widget"`` or ``"text"``:
        a display, as for :func:`nexosis_pandas.import_dataframe`. A
        :class:`~nexosis_pandas.progress.ProgressReporter` receives ``upload_start``;
        ``upload_update`` each time S3 takes a part, with the rows and bytes sent so far (all
        the rows only once the object is complete); and ``upload_end``.

    Returns
    -------
    S3Object
        What was written: sizes, row count, ETag, SHA-256 of the uncompressed bytes, time.

    Raises
    ------
    ColumnError
        Before anything is sent, when the column names are invalid or the frame has none.
    UploadError
        S3 failed (no such bucket, access denied, endpoint unreachable, ...). Errors raised
        while encoding the data propagate as they are, after the upload is aborted.

    Examples
    --------
    >>> obj = upload_dataframe(df, "s3://my-bucket/data/sales.csv.gz")  # doctest: +SKIP
    >>> obj.url, obj.rows  # doctest: +SKIP
    ('s3://my-bucket/data/sales.csv.gz', 1000000)
    """
    started = time.perf_counter()
    format, compression = file_format(s3_url, format, compression)
    bucket, key = _split_url(s3_url)
    url = f"s3://{bucket}/{key}"
    reporter = resolve_progress(progress)
    encoding = _Encoding(df, format=format, index=index)  # ColumnError before any byte is sent

    if fs is None:
        import s3fs

        fs = s3fs.S3FileSystem(**config.storage_options(storage_options))
    path = f"{bucket}/{key}"

    reporter.upload_start(url, encoding.rows)
    # encoding and compression each get a thread (both release the GIL), the caller uploads
    pipeline = _Background(encoding.chunks())
    if compression == "gzip":
        pipeline = _Background(_gzip(pipeline), on_close=pipeline.close)
    f: Any = None
    written = 0
    # (bytes written to f up to the end of a block, rows whose text those bytes hold): a row
    # counts as sent once S3 has taken a part holding its bytes
    ends: deque[tuple[int, int]] = deque()
    rows_sent = sent = 0
    try:
        try:
            f = fs.open(path, "wb", block_size=PART_SIZE)
            for rows_done, block in pipeline:
                f.write(block)
                written += len(block)
                ends.append((written, rows_done))
                offset = int(f.offset or 0)  # bytes in the parts S3 has taken
                if offset > sent:
                    sent = offset
                    while ends and ends[0][0] <= sent:
                        rows_sent = ends.popleft()[1]
                    # every row is sent only once the object is complete, after the loop
                    reporter.upload_update(min(rows_sent, max(encoding.rows - 1, 0)), sent)
            f.close()  # the last part, then CompleteMultipartUpload
        except BaseException:
            pipeline.close()
            if f is not None:
                _discard(f)
            raise
        info = _info(fs, path)
        etag = info.get("ETag") or info.get("etag")
        result = S3Object(
            url=url,
            bucket=bucket,
            key=key,
            region=_region(fs),
            format=format,
            compression=compression,
            rows=encoding.rows,
            columns=encoding.names,
            bytes_uncompressed=encoding.bytes_uncompressed,
            bytes_written=int(info.get("size", written)),
            etag=str(etag).strip('"') if etag else None,
            sha256=encoding.sha256,
            seconds=time.perf_counter() - started,
        )
    except (KeyboardInterrupt, ColumnError, UploadError) as exc:
        reporter.upload_end(None, exc)
        raise
    except Exception as exc:
        error: BaseException = exc
        if _is_storage_error(exc):
            error = _upload_error(exc, bucket, key, _endpoint(fs))
        reporter.upload_end(None, error)
        if error is exc:
            raise
        raise error from exc
    reporter.upload_update(encoding.rows, result.bytes_written)
    reporter.upload_end(result, None)
    return result


def find_existing(
    df: pd.DataFrame,
    s3_url: str,
    *,
    index: bool | None = None,
    storage_options: dict[str, Any] | None = None,
    fs: Any = None,
) -> S3Object | None:
    """The object already at ``s3_url``, described as if ``df`` had been uploaded there.

    For content-addressed keys (named by a hash of the frame, see
    :func:`nexosis_pandas.api.content_url`), an object at the key already holds ``df``'s data,
    so :func:`nexosis_pandas.import_dataframe` imports it instead of uploading again. Only the
    object's size and ETag are read: rows and columns are ``df``'s (by the index rule of
    :func:`upload_dataframe`), and ``bytes_uncompressed`` and ``sha256`` are unknown (``0``
    and ``""``).

    Parameters
    ----------
    df
        The frame the object holds.
    s3_url
        ``s3://bucket/key``; the suffix gives the format and compression.
    index, storage_options, fs
        As for :func:`upload_dataframe`.

    Returns
    -------
    S3Object or None
        ``None`` when there is no object at ``s3_url`` (or no such bucket: the upload says so).

    Raises
    ------
    UploadError
        S3 could not be asked (endpoint unreachable, access denied, ...); the message names the
        bucket, the key and the cause.

    Examples
    --------
    >>> find_existing(df, "s3://my-bucket/nexosis/sales-1f2e3d4c5b6a7988.csv.gz")  # doctest: +SKIP
    S3Object(url='s3://my-bucket/nexosis/sales-1f2e3d4c5b6a7988.csv.gz', rows=10000, ...)
    """
    started = time.perf_counter()
    format, compression = file_format(s3_url)
    bucket, key = _split_url(s3_url)
    columns = tuple(validate_column_names(df, index=index))
    if fs is None:
        import s3fs

        fs = s3fs.S3FileSystem(**config.storage_options(storage_options))
    path = f"{bucket}/{key}"
    try:
        fs.invalidate_cache(path)
        info = dict(fs.info(path))
    except FileNotFoundError:
        return None
    except Exception as exc:
        if not _is_storage_error(exc):
            raise
        raise _upload_error(exc, bucket, key, _endpoint(fs), looking=True) from exc
    etag = info.get("ETag") or info.get("etag")
    return S3Object(
        url=f"s3://{bucket}/{key}",
        bucket=bucket,
        key=key,
        region=_region(fs),
        format=format,
        compression=compression,
        rows=len(df),
        columns=columns,
        # Known only to the process that encoded it; this one found the object by its name.
        bytes_uncompressed=0,
        bytes_written=int(info.get("size") or 0),
        etag=str(etag).strip('"') if etag else None,
        sha256="",
        seconds=time.perf_counter() - started,
    )


def _info(fs: Any, path: str) -> dict[str, Any]:
    try:
        return dict(fs.info(path))
    except Exception:  # the object is written; HEAD may not be allowed
        return {}


def _is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from S3 or the network, rather than from encoding the data."""
    if isinstance(exc, OSError):
        return True
    module = type(exc).__module__
    return module.startswith(("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "urllib3"))
