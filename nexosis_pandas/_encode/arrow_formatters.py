"""Each Arrow column's text, chosen once per column: the rules of
:mod:`~nexosis_pandas._encode.formatters`, on Arrow data, with no pandas on the way.

A polars frame, an Arrow table or anything that speaks the Arrow stream is encoded from its
Arrow columns by the formatter :func:`arrow_formatter` chooses for each; the text arrays are
those the pandas formatters make for the same values, so the same data gives the same bytes
whichever library held it (integers with nulls, floats whole or not and ``-0.0``, booleans,
strings, dictionaries, dates, naive and zoned datetimes). A float ``NaN`` is a missing value,
as in pandas. A column no dataset can hold as it is (durations, times of day, binary, nested
lists, structs and maps) is refused by :func:`arrow_formatter`, naming the column and a fix.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas._encode.formatters import (
    _BOOL_TEXT,
    _UNITS_PER_SECOND,
    ColumnScan,
    Format,
    _float_text,
    _json_nulls,
    _offset_text,
    _string_array,
    iso_text,
)
from nexosis_pandas.exceptions import ColumnError

__all__ = ["ArrowFormatter", "arrow_formatter", "arrow_scan", "refusal"]

ArrowFormatter = Callable[[pa.Array], pa.Array]


def refusal(name: str, t: pa.DataType) -> ColumnError | None:
    """The error for a column of a type no dataset holds as it is; ``None`` for the others."""
    if pa.types.is_dictionary(t):
        return refusal(name, t.value_type)
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        fix = (
            "send it as a number, e.g. pl.col(name).dt.total_seconds() in polars, or "
            "pc.cast(column, pa.int64()) for its count of the unit in Arrow"
        )
        what = "a duration"
    elif pa.types.is_time(t):
        fix = "send it as text, e.g. pl.col(name).cast(pl.String), or pc.cast(column, pa.string())"
        what = "a time of day"
    elif (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or str(t) == "binary_view"
    ):
        fix = (
            "send it as text: pl.col(name).cast(pl.String) when it is UTF-8, or "
            "pl.col(name).bin.encode('base64') for any bytes"
        )
        what = "binary (a dataset has no binary type)"
    elif pa.types.is_nested(t):
        fix = (
            "spread it into columns (pl.col(name).struct.unnest(), .list.to_struct()) or "
            "write it as JSON text (pl.col(name).struct.json_encode())"
        )
        what = "nested (a list, struct or map)"
    elif not (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_boolean(t)
        or _is_text(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_null(t)
    ):
        fix = "cast it to a number, a date or text first"
        what = "of a type no dataset holds"
    else:
        return None
    return ColumnError(
        f"Column {name!r} is {what}: its Arrow type is {t}, which a dataset cannot hold as "
        f"it is. {fix[0].upper()}{fix[1:].replace('name', repr(name))}.",
        column=name,
    )


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view")


_SCAN_ROWS = 1_000_000


def _floats(arr: pa.Array) -> np.ndarray[Any, Any]:
    """The values as float64, nulls as ``NaN``."""
    return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")


def _without_nan(arr: pa.Array) -> pa.Array:
    """A float ``NaN`` is a missing value, as in pandas."""
    nan = pc.is_nan(arr)
    if not pc.any(nan).as_py():
        return arr
    return pc.if_else(nan, pa.scalar(None, arr.type), arr)


def _scan_floats(column: pa.ChunkedArray) -> tuple[bool, int | None]:
    all_whole, first_inf, start = True, None, 0
    for chunk in column.chunks:
        for begin in range(0, len(chunk), _SCAN_ROWS):
            v = _floats(chunk.slice(begin, _SCAN_ROWS))
            finite = np.isfinite(v)
            if all_whole and not np.array_equal(v[finite], np.trunc(v[finite])):
                all_whole = False
            inf = np.isinf(v)
            if first_inf is None and inf.any():
                first_inf = start + begin + int(np.flatnonzero(inf)[0])
        start += len(chunk)
    return all_whole, first_inf


def _datetime_unit(column: pa.ChunkedArray) -> str:
    """The coarsest of s, ms, us, ns that writes every value of the column exactly."""
    unit = str(column.type.unit)
    per_second = _UNITS_PER_SECOND[unit]
    divisors = [per_second // per for per in _UNITS_PER_SECOND.values() if per < per_second]
    exact = [True] * len(divisors)
    for chunk in column.chunks:
        i8 = pc.cast(chunk.view(pa.int64()) if chunk.type.tz else chunk, pa.int64())
        values = np.asarray(pc.drop_null(i8).to_numpy(zero_copy_only=False))
        exact = [ok and not (values % d).any() for ok, d in zip(exact, divisors, strict=True)]
    for name, ok in zip(_UNITS_PER_SECOND, exact, strict=False):
        if ok:
            return name
    return unit


def arrow_scan(column: pa.ChunkedArray) -> ColumnScan | None:
    """The :class:`ColumnScan` of a float or timestamp column; ``None`` for other types."""
    t = column.type
    if pa.types.is_timestamp(t):
        return ColumnScan(unit=_datetime_unit(column))
    if pa.types.is_floating(t):
        return ColumnScan(all_whole=_scan_floats(column)[0])
    return None


def _float_formatter(
    name: str, column: pa.ChunkedArray, fmt: Format, scan: ColumnScan | None
) -> ArrowFormatter:
    all_whole, first_inf = _scan_floats(column)
    if scan is not None:
        all_whole = scan.all_whole
    if fmt == "json" and first_inf is not None:
        raise ColumnError(
            f"Column {name!r} holds an infinite value (row {first_inf}), which JSON cannot "
            "represent; replace it (pl.col(name).replace([float('inf'), float('-inf')], None)) "
            "or use format='csv'.",
            column=name,
        )

    def format_floats(values: pa.Array) -> pa.Array:
        arr = _without_nan(values)
        x = _floats(arr)
        whole = np.isfinite(x) & (x == np.trunc(x))
        need_point = whole if (all_whole or fmt == "json") else whole & (x == 0) & np.signbit(x)
        if fmt == "csv":
            return _float_text(arr, need_point) if need_point.any() else arr
        return _json_nulls(_float_text(arr, need_point))

    return format_floats


def _datetime_text(values: pa.Array, unit: str) -> pa.Array:
    t = values.type
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if t.tz is None:
        stamps = values.cast(pa.timestamp(unit))
        return iso_text(stamps, missing, [b""], np.zeros(len(values), np.intp))
    utc = values.view(pa.timestamp(t.unit))  # the instants, as UTC wall times
    wall = pc.local_timestamp(values)
    per_second = _UNITS_PER_SECOND[str(t.unit)]
    wall_i8 = np.asarray(pc.fill_null(wall.view(pa.int64()), 0).to_numpy(zero_copy_only=False))
    utc_i8 = np.asarray(pc.fill_null(utc.view(pa.int64()), 0).to_numpy(zero_copy_only=False))
    offsets = (wall_i8 - utc_i8) // per_second
    late = ~missing & (utc_i8 >= _LATE_SECONDS * per_second)
    if late.any() and t.tz[:1] not in "+-" and t.tz not in ("UTC", "Etc/UTC"):
        offsets, wall = _late_offsets(utc_i8, offsets, late, t, per_second, missing)
    odd = (offsets % 60 != 0) & ~missing
    if odd.any():
        # ISO 8601 offsets are whole minutes: a historical local mean time is written in UTC.
        wall = pc.if_else(pa.array(odd), utc, wall)
        offsets = np.where(odd, 0, offsets)
    present = offsets[~missing]
    if len(present) and present.min() == present.max():
        unique = present[:1]
    else:
        unique = np.unique(present) if len(present) else np.zeros(1, offsets.dtype)
    codes = np.searchsorted(unique, offsets).clip(0, len(unique) - 1)
    suffixes = [_offset_text(int(o)).encode() for o in unique]
    return iso_text(wall.cast(pa.timestamp(unit)), missing, suffixes, codes)


_LATE_SECONDS = 2_114_380_800  # 2037-01-01 UTC: Arrow's zone rules end with the tzdata tables


def _late_offsets(
    utc_i8: np.ndarray[Any, Any],
    offsets: np.ndarray[Any, Any],
    late: np.ndarray[Any, Any],
    t: pa.TimestampType,
    per_second: int,
    missing: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], pa.Array]:
    """Offsets from 2037 on by Python's ``zoneinfo``, which goes on applying the zone's rule
    (summer time) where Arrow's tables stop; polars and pandas 3 (``zoneinfo``) agree."""
    zone = zoneinfo.ZoneInfo(t.tz)
    offsets = offsets.copy()
    for i in np.flatnonzero(late):
        moment = dt.datetime.fromtimestamp(int(utc_i8[i] // per_second), tz=zone)
        offset = moment.utcoffset()
        offsets[i] = int(offset.total_seconds()) if offset is not None else 0
    wall_i8 = utc_i8 + offsets * per_second
    wall = pa.array(wall_i8, pa.int64(), mask=missing).view(pa.timestamp(t.unit))
    return offsets, wall


def _datetime_formatter(
    column: pa.ChunkedArray, fmt: Format, scan: ColumnScan | None
) -> ArrowFormatter:
    unit = scan.unit if scan is not None and scan.unit else _datetime_unit(column)

    def format_datetimes(values: pa.Array) -> pa.Array:
        text = _datetime_text(values, unit)
        if fmt == "csv":
            return text
        return _json_nulls(pc.binary_join_element_wise('"', text, '"', ""))

    return format_datetimes


def _text_formatter(fmt: Format) -> ArrowFormatter:
    def format_text(values: pa.Array) -> pa.Array:
        text = pc.cast(values, pa.string())
        return _string_array(text, fmt)

    return format_text


def _dictionary_formatter(name: str, column: pa.ChunkedArray, fmt: Format) -> ArrowFormatter:
    """The dictionary's values formatted once, by their own type's rules (pandas' categories)."""
    dictionary = (
        column.chunks[0].dictionary if column.num_chunks else pa.array([], column.type.value_type)
    )
    values = pa.chunked_array([dictionary], dictionary.type)
    formatted = arrow_formatter(name, values, fmt)(dictionary)
    if isinstance(formatted, pa.DictionaryArray):
        formatted = formatted.dictionary_decode()
    keep_dictionary = fmt == "csv" and _is_text(formatted.type)

    def format_dictionary(values: pa.Array) -> pa.Array:
        indices = values.indices
        if keep_dictionary:
            return pa.DictionaryArray.from_arrays(indices, formatted)
        taken = pc.take(formatted, indices)
        return taken if fmt == "csv" else _json_nulls(taken)

    return format_dictionary


def arrow_formatter(
    name: str, column: pa.ChunkedArray, fmt: Format, scan: ColumnScan | None = None
) -> ArrowFormatter:
    """Choose, once per column, how its values are written (by ``scan`` when it is given).

    A dictionary column should have one dictionary for all its chunks
    (``ChunkedArray.unify_dictionaries``), as the encoder's table has.

    Raises
    ------
    ColumnError
        The column's type is one no dataset holds (see :func:`refusal`), or (JSON) a float is
        infinite.
    """
    t = column.type
    error = refusal(name, t)
    if error is not None:
        raise error
    if pa.types.is_dictionary(t):
        return _dictionary_formatter(name, column, fmt)
    if pa.types.is_timestamp(t):
        return _datetime_formatter(column, fmt, scan)
    if pa.types.is_boolean(t):
        return lambda values: _bools(values, fmt)
    if pa.types.is_integer(t):
        return lambda values: values if fmt == "csv" else _json_nulls(pc.cast(values, pa.string()))
    if pa.types.is_floating(t):
        return _float_formatter(name, column, fmt, scan)
    if pa.types.is_null(t):
        return lambda values: _string_array(pa.nulls(len(values), pa.string()), fmt)
    if pa.types.is_date(t):
        return lambda values: _string_array(pc.cast(values.cast(pa.date32()), pa.string()), fmt)
    return _text_formatter(fmt)  # strings, and decimals as their digits


def _bools(values: pa.Array, fmt: Format) -> pa.Array:
    indices = pc.cast(values, pa.int8())
    if fmt == "csv":
        return pa.DictionaryArray.from_arrays(indices, _BOOL_TEXT["csv"])
    return _json_nulls(pc.take(_BOOL_TEXT["json"], indices))
