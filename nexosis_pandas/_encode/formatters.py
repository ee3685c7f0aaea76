"""Per-column formatting: each column becomes an Arrow array that the CSV writer renders by the
rules of :mod:`nexosis_pandas._encode` (CSV), or an array of JSON texts (JSON).

A formatter is chosen once per column (:func:`column_formatter`), from the whole column, so
every value of a column is written the same way whichever chunk it falls in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas.exceptions import ColumnError

__all__ = [
    "BytesFound",
    "ColumnFormatter",
    "ColumnScan",
    "Format",
    "column_formatter",
    "iso_text",
    "scan_column",
]

Format = Literal["csv", "json"]

ColumnFormatter = Callable[[pd.Series], pa.Array]

_BOOL_TEXT = {"csv": pa.array(["False", "True"]), "json": pa.array(["false", "true"])}
_UNITS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


class BytesFound(TypeError):  # noqa: N818 - a signal, not an error
    """A value to write is ``bytes``, which no data type holds: the encoder names the column."""


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


def _float_formatter(
    column: pd.Series, fmt: Format, scan: ColumnScan | None = None
) -> ColumnFormatter:
    # A column of whole numbers only would read back as integers: mark every value as a float.
    if scan is not None and fmt == "csv":  # the column is one part of a larger one, scanned
        all_whole, first_inf = scan.all_whole, None
    else:
        all_whole, first_inf = _scan_floats(column)
        all_whole = scan.all_whole if scan is not None else all_whole
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
    return f"{sign}{h:02d}:{rest // 60:02d}"


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
    missing = np.asarray(values.isna())
    if tz is None:
        return _iso_text(wall, unit, missing, [b""], np.zeros(len(values), np.intp))
    per_second = _UNITS_PER_SECOND[str(values.array.unit)]
    offsets = (np.asarray(wall.array.asi8) - np.asarray(values.array.asi8)) // per_second
    odd = (offsets % 60 != 0) & ~missing
    if odd.any():
        # ISO 8601 offsets are whole minutes: a historical local mean time (-00:09:21 in Paris
        # before 1911) is written as the same instant in UTC.
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
        wall = wall.where(~odd, utc)
        offsets = np.where(odd, 0, offsets)
    present = offsets[~missing]
    if len(present) and present.min() == present.max():
        unique = present[:1]
    else:
        unique = np.unique(present) if len(present) else np.zeros(1, offsets.dtype)
    codes = np.searchsorted(unique, offsets).clip(0, len(unique) - 1)
    return _iso_text(wall, unit, missing, [_offset_text(int(o)).encode() for o in unique], codes)


def _iso_text(
    wall: pd.Series,
    unit: str,
    missing: np.ndarray[Any, Any],
    suffixes: list[bytes],
    codes: np.ndarray[Any, Any],
) -> pa.Array:
    """ISO 8601 text of the naive datetimes ``wall`` at ``unit``, each present value followed
    by ``suffixes[codes[i]]`` (its offset, all of one width)."""
    stamps = pa.array(wall.to_numpy(dtype=f"datetime64[{unit}]"), from_pandas=True)
    return iso_text(stamps, missing, suffixes, codes)


def iso_text(
    stamps: pa.Array,
    missing: np.ndarray[Any, Any],
    suffixes: list[bytes],
    codes: np.ndarray[Any, Any],
) -> pa.Array:
    """ISO 8601 text of the naive Arrow timestamps ``stamps`` (at the unit to write), each
    present value followed by ``suffixes[codes[i]]``; pandas' and Arrow's columns share it."""
    text = pc.cast(stamps, pa.string())  # "2024-01-31 12:00:00": the same width for every value
    present = len(text) - text.null_count
    ends = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1)
    data = np.frombuffer(text.buffers()[2], np.uint8)[ends[0] : ends[-1]]
    width = len(data) // present if present else 0
    rows = data.reshape(present, width) if present and len(data) == present * width else None
    uniform = (
        rows is not None
        and width > 10
        and len({len(s) for s in suffixes}) == 1
        and bool((np.diff(ends)[~missing] == width).all() and (rows[:, 10] == ord(" ")).all())
    )
    if not uniform:
        iso = pc.replace_substring(text, " ", "T", max_replacements=1)
        return pc.binary_join_element_wise(
            iso, pc.take(pa.array([s.decode() for s in suffixes]), pa.array(codes)), ""
        )
    assert rows is not None
    extra = len(suffixes[0])
    out = np.empty((present, width + extra), np.uint8)
    out[:, :width] = rows
    out[:, 10] = ord("T")
    if extra:
        table = np.frombuffer(b"".join(suffixes), np.uint8).reshape(len(suffixes), extra)
        out[:, width:] = table[0] if len(table) == 1 else table[codes[~missing]]
    offsets = np.zeros(len(text) + 1, np.int32)
    np.cumsum(np.where(missing, 0, width + extra), out=offsets[1:])
    return pa.StringArray.from_buffers(
        len(text), pa.py_buffer(offsets), pa.py_buffer(out), text.buffers()[0], text.null_count
    )


def _datetime_formatter(
    column: pd.Series, fmt: Format, scan: ColumnScan | None = None
) -> ColumnFormatter:
    unit = scan.unit if scan is not None and scan.unit else _datetime_unit(_as_datetimes(column))

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
    cells = values.tolist()
    if any(isinstance(v, bytes | bytearray | memoryview) for v in cells):
        raise BytesFound  # str() would write their Python repr
    texts = [None if m else str(v) for v, m in zip(cells, missing, strict=True)]
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
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            raise BytesFound
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
    dictionary = column_formatter(categories, fmt)(categories)
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


def column_formatter(
    column: pd.Series, fmt: Format, scan: ColumnScan | None = None
) -> ColumnFormatter:
    """Choose, once per column, how its values are written (by ``scan`` when it is given)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_formatter(column, fmt)
    arrow_type = dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None
    if pd.api.types.is_datetime64_any_dtype(dtype) or (
        arrow_type is not None and pa.types.is_timestamp(arrow_type)
    ):
        return _datetime_formatter(column, fmt, scan)
    if pd.api.types.is_bool_dtype(dtype):
        return _bool_formatter(fmt)
    if pd.api.types.is_integer_dtype(dtype):
        return _int_formatter(fmt)
    if pd.api.types.is_float_dtype(dtype):
        return _float_formatter(column, fmt, scan)
    if pd.api.types.is_string_dtype(dtype):
        # str, string[python|pyarrow], and object: strings pass through, anything else is typed
        return _object_formatter(fmt)
    if dtype == np.dtype(object) or (arrow_type is not None and pa.types.is_date(arrow_type)):
        return _object_formatter(fmt)
    # timedelta, period, interval, complex, ...: pandas' own text for each value
    return lambda values: _str_fallback(values, fmt)


@dataclass(frozen=True)
class ColumnScan:
    """What a column's text depends on beyond its dtype, found by scanning its values.

    A frame written in parts (a Dask DataFrame's partitions) scans each part, merges the scans
    (:meth:`merge`) and encodes every part by the merged ones, so the parts together are the
    bytes the whole frame would give.
    """

    all_whole: bool = True
    """Floats: every finite value is a whole number (so each is written ``1.0``)."""
    unit: str | None = None
    """Datetimes: the coarsest of s, ms, us, ns that writes every value exactly."""

    def merge(self, other: ColumnScan) -> ColumnScan:
        """The scan of the two parts together."""
        units = [u for u in (self.unit, other.unit) if u]
        return ColumnScan(
            all_whole=self.all_whole and other.all_whole,
            unit=max(units, key=_UNITS_PER_SECOND.__getitem__) if units else None,
        )


def scan_column(series: pd.Series) -> ColumnScan | None:
    """The scan of a float or datetime column; ``None`` for other dtypes."""
    dtype = series.dtype
    arrow_type = dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None
    if pd.api.types.is_datetime64_any_dtype(dtype) or (
        arrow_type is not None and pa.types.is_timestamp(arrow_type)
    ):
        return ColumnScan(unit=_datetime_unit(_as_datetimes(series)))
    if pd.api.types.is_float_dtype(dtype):
        return ColumnScan(all_whole=_scan_floats(series)[0])
    return None
