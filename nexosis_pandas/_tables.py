"""A dataset's rows as a typed Arrow table, never through pandas.

The Arrow twin of :mod:`nexosis_pandas._frames`: the same text columns (the server's Arrow
stream, or the JSON pages' values as text) typed by the same column metadata with
``pyarrow.compute``, so that ``read_dataset(..., backend="pyarrow")`` and
``backend="polars"`` hold the values the pandas frame holds, in Arrow's types:

======================  ==========================================  =====================
data type               values                                      Arrow type
======================  ==========================================  =====================
numeric, numericMeasure every value an integer                      ``int64`` (``uint64``
                                                                    above its range)
numeric, numericMeasure otherwise                                   ``float64``
logical                 :data:`~nexosis_pandas._wire.LOGICAL_VALUES` ``bool``
date                    ISO 8601, UTC when without an offset        ``timestamp[us, UTC]``
                                                                    (``ns`` when a value
                                                                    has finer digits)
string, text            as they came                                ``string``
no metadata             numbers when every value is one, else text  as above
======================  ==========================================  =====================

Missing values, ``""`` in typed columns, and values that do not fit their column's type are
nulls. Arrow parses a column at once when it can vouch for every value; any other column is
parsed value by value in Python, by the rules the pandas reader follows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas._wire import (
    DATA_TYPE,
    LOGICAL_VALUES,
    DataType,
    lookup,
    parse_iso_datetime,
    parse_logical,
)

__all__ = ["dataset_table", "rows_table"]

_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"  # as pandas.to_numeric reads integers
_FINE_FRACTION = r"\.[0-9]{7,}"
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


def dataset_table(table: pa.Table, columns: Mapping[str, Any]) -> pa.Table:
    """Type a table of text columns by the dataset's column metadata.

    Parameters
    ----------
    table
        The rows as text columns (the server's Arrow stream).
    columns
        The dataset's column metadata: column name to ``{"dataType": ..., ...}``. Its columns
        come first, in its order, then any others the table has.

    Examples
    --------
    >>> import pyarrow as pa
    >>> rows = pa.table({"units": ["3", ""], "promo": ["Yes", "0"], "day": ["2024-01-02", None]})
    >>> typed = dataset_table(rows, {"day": {"dataType": "date"}, "units": {"dataType": "numeric"},
    ...                              "promo": {"dataType": "logical"}})
    >>> typed.column_names, [str(t) for t in typed.schema.types]
    (['day', 'units', 'promo'], ['timestamp[us, tz=UTC]', 'int64', 'bool'])
    >>> typed.column("units").to_pylist(), typed.column("promo").to_pylist()
    ([3, None], [True, False])
    """
    present = [str(n) for n in table.column_names]
    names = [str(c) for c in columns] + [n for n in present if n not in columns]
    arrays = []
    for name in names:
        data_type = _data_type(columns.get(name))
        if name in present:
            values = table.column(name).combine_chunks()
            if not _is_text(values.type):
                values = pc.cast(values, pa.string())
        else:
            values = pa.nulls(table.num_rows, pa.string())
        arrays.append(_typed(values, data_type))
    return pa.Table.from_arrays(arrays, names=names)


def rows_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Any]) -> pa.Table:
    """Type a dataset's JSON rows by its column metadata (see :func:`dataset_table`).

    Each value becomes the text it stands for (a JSON number its digits, a JSON boolean
    ``true``/``false``), then the columns are typed as the Arrow stream's are.
    """
    names: list[str] = [str(c) for c in columns]
    for row in rows:
        names.extend(str(k) for k in row if str(k) not in names)
    texts = [{str(k): v for k, v in row.items()} for row in rows]
    table = pa.Table.from_arrays(
        [pa.array([_text(row.get(n)) for row in texts], pa.string()) for n in names],
        names=names,
    )
    return dataset_table(table, columns)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return str(value)


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _data_type(spec: Any) -> DataType | None:
    value = lookup(spec, DATA_TYPE)
    if not value:
        return None
    try:
        return DataType(str(value))
    except ValueError:
        return None


def _typed(values: pa.Array, data_type: DataType | None) -> pa.Array:
    if data_type in (DataType.STRING, DataType.TEXT):
        return pc.cast(values, pa.string())
    blanked = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    if data_type in (DataType.NUMERIC, DataType.NUMERIC_MEASURE):
        return _numbers(blanked)
    if data_type is DataType.LOGICAL:
        return _logicals(blanked)
    if data_type is DataType.DATE:
        return _dates(blanked)
    # no metadata: numbers when every value is one, else the text as it came
    if blanked.null_count == len(blanked):
        return pc.cast(values, pa.string())
    numbers = _strict_numbers(blanked)
    return numbers if numbers is not None else pc.cast(values, pa.string())


def _numbers(values: pa.Array) -> pa.Array:
    """Integers when every value is one, else floats; a value that is no number is null."""
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.float64())
    integers = _integers(values)
    if integers is not None:
        return integers
    try:
        return pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        return pa.array([_float(v) for v in values.to_pylist()], pa.float64())


def _strict_numbers(values: pa.Array) -> pa.Array | None:
    """:func:`_numbers` when every present value is a number, else ``None``."""
    integers = _integers(values)
    if integers is not None and not integers.null_count:
        return integers  # with gaps, floats: pandas.to_numeric's answer, which pandas gives
    try:
        return pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        texts = values.to_pylist()
        floats = [_float(v) for v in texts]
        if any(f is None and v is not None for f, v in zip(floats, texts, strict=True)):
            return None
        return pa.array(floats, pa.float64())


def _integers(values: pa.Array) -> pa.Array | None:
    """``int64`` (``uint64`` for larger non-negative values) when every value is an integer."""
    if not pc.all(pc.match_substring_regex(values, _INTEGER_TEXT)).as_py():
        return None
    try:
        return pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        pass
    ints = [None if v is None else int(v) for v in values.to_pylist()]  # "+3", past int64
    present = [i for i in ints if i is not None]
    if all(-_INT64_MAX - 1 <= i <= _INT64_MAX for i in present):
        return pa.array(ints, pa.int64())
    if all(0 <= i <= _UINT64_MAX for i in present):
        return pa.array(ints, pa.uint64())
    return None  # beyond 64 bits: floats, as the pandas reader gives


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _logicals(values: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    known = pc.is_in(lowered, value_set=pa.array(sorted(LOGICAL_VALUES)))
    if (pc.sum(known).as_py() or 0) == len(values) - values.null_count:
        truths = pa.array(sorted(t for t, flag in LOGICAL_VALUES.items() if flag))
        flags = pc.is_in(lowered, value_set=truths)
        return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), flags)
    return pa.array([parse_logical(v) for v in values.to_pylist()], pa.bool_())


def _dates(values: pa.Array) -> pa.Array:
    """UTC timestamps: a value without an offset is UTC, one that is no date is null."""
    fine = values.null_count < len(values) and bool(
        pc.any(pc.match_substring_regex(values, _FINE_FRACTION)).as_py()
    )
    unit = "ns" if fine else "us"
    for zone in (None, "UTC"):  # without offsets, or every value with one
        try:
            stamps = pc.cast(values, pa.timestamp(unit, zone))
        except pa.ArrowInvalid:
            continue
        return stamps.cast(pa.timestamp(unit, "UTC")) if zone is None else stamps
    return _python_dates(values)


def _python_dates(values: pa.Array) -> pa.Array:
    """Python's ISO 8601 parser, value by value, to the microsecond."""
    stamps = []
    for value in values.to_pylist():
        stamp = parse_iso_datetime(value)
        stamps.append(None if stamp is None else stamp.astimezone(UTC))
    return pa.array(stamps, pa.timestamp("us", "UTC"))
