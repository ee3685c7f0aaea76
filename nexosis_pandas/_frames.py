"""A dataset's rows as a DataFrame, each column's dtype taken from the dataset's metadata.

:meth:`Client.read_dataset <nexosis_pandas._client.Client.read_dataset>` fetches the pages;
this module turns the rows it collected into columns of the right dtypes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from nexosis_pandas._wire import (
    DATA_TYPE,
    LOGICAL_VALUES,
    DataType,
    lookup,
    parse_iso_datetime,
    parse_logical,
)

__all__ = ["arrow_frame", "dataset_frame"]

_TEXT = pd.Series(["text"]).dtype  # the pandas in use's own: str (pandas 3) or object


def dataset_frame(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Any]) -> pd.DataFrame:
    """Build a DataFrame from a dataset's rows, typed by its column metadata.

    The dtype is restored from the column's data type and what its values show:

    - ``numeric`` and ``numericMeasure``: ``int64`` when every value is an integer (``Int64``
      when some are missing), else ``float64``;
    - ``logical``: ``bool`` (``boolean`` when some are missing), values read by
      :func:`~nexosis_pandas._wire.parse_logical`;
    - ``date``: UTC timestamps (a value without an offset is UTC);
    - ``string`` and ``text``: text, in the default string dtype of the pandas in use
      (``str`` in pandas 3, ``object`` before).

    A column without metadata becomes numbers when every value is one. ``""`` is a missing
    value in typed columns; a value that does not fit its column's type becomes missing too.

    Parameters
    ----------
    rows
        The rows as the API sends them: column name to value.
    columns
        The dataset's column metadata: column name to ``{"dataType": ..., ...}``. Its columns
        come first, in its order, then any others the rows have.

    Examples
    --------
    >>> frame = dataset_frame(
    ...     [{"day": "2024-01-02", "units": "3", "promo": "Yes"}, {"units": "", "promo": "0"}],
    ...     {"day": {"dataType": "date"}, "promo": {"dataType": "logical"},
    ...      "units": {"dataType": "numeric"}},
    ... )
    >>> list(frame.columns), str(frame.day.dt.tz), frame.units.dtype
    (['day', 'promo', 'units'], 'UTC', Int64Dtype())
    >>> frame.promo.dtype, frame.promo.tolist(), frame.units.tolist()
    (dtype('bool'), [True, False], [3, <NA>])
    """
    names: list[str] = [str(c) for c in columns]
    for row in rows:
        names.extend(str(k) for k in row if str(k) not in names)
    texts = [{str(k): v for k, v in row.items()} for row in rows]
    # object columns: from_records would make integers with a gap floats before they are typed
    frame = pd.DataFrame(
        {name: pd.Series([row.get(name) for row in texts], dtype=object) for name in names},
        columns=names,
    )
    for name in names:
        frame[name] = _typed_column(frame[name], _data_type(columns.get(name)))
    return frame


def arrow_frame(table: Any, columns: Mapping[str, Any]) -> pd.DataFrame:
    """Build a DataFrame from a dataset's rows as an Arrow table of text columns.

    The same frame :func:`dataset_frame` builds from the same rows as JSON: the text columns
    are typed by the column metadata the same way. ``pyarrow.compute`` parses a column at once
    when it can vouch for every value (numbers, dates without offsets or with, the usual
    logical spellings); any other column takes the value-by-value path of
    :func:`dataset_frame`.

    Parameters
    ----------
    table
        A ``pyarrow.Table`` (the server's bulk format).
    columns
        The dataset's column metadata, as for :func:`dataset_frame`.
    """
    present = [str(n) for n in table.column_names]
    names = [str(c) for c in columns] + [n for n in present if n not in columns]
    data: dict[str, pd.Series] = {}
    for name in names:
        data_type = _data_type(columns.get(name))
        if name not in present:
            empty = pd.Series(np.full(table.num_rows, None, dtype=object))
            data[name] = _typed_column(empty, data_type)
            continue
        values = table.column(name)
        typed = _arrow_typed(values, data_type)
        if typed is None:
            typed = _typed_column(pd.Series(values.to_numpy(zero_copy_only=False)), data_type)
        data[name] = typed
    return pd.DataFrame(data, columns=names)


_INTEGER_TEXT = r"^[+-]?[0-9]+$"


def _arrow_true() -> Any:
    import pyarrow as pa

    return pa.array(sorted(text for text, flag in LOGICAL_VALUES.items() if flag))


def _arrow_dates(values: Any) -> pd.Series | None:
    """UTC timestamps in the unit pandas' own ISO-8601 parser gives; ``None``: not all parsed.

    A value without an offset is UTC; a column with offsets is parsed when every value has one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        stamps = pc.cast(values, pa.timestamp("us"))
    except pa.ArrowInvalid:
        stamps = pc.cast(values, pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
    unit = _date_unit()
    if unit == "ns" and len(stamps) - stamps.null_count:
        bounds = pc.min_max(stamps)
        low, high = (bounds[part].value for part in ("min", "max"))
        if low < _NS_MIN_US or high > _NS_MAX_US:
            return None  # pandas 2 holds nanoseconds, which end in 2262: the exact path
    array = stamps.to_numpy(zero_copy_only=False).astype(f"datetime64[{unit}]")
    return pd.Series(array).dt.tz_localize("UTC")


_NS_MIN_US = int(pd.Timestamp.min.value // 1000) + 1
_NS_MAX_US = int(pd.Timestamp.max.value // 1000) - 1


@functools.cache
def _date_unit() -> str:
    """The unit of ``pandas.to_datetime`` of ISO-8601 texts: ``ns`` in pandas 2, ``us`` after."""
    parsed = pd.to_datetime(pd.Series(["2000-01-01 00:00:00"], dtype=object), utc=True)
    return str(np.datetime_data(parsed.dtype.base)[0])  # type: ignore[union-attr]


def _arrow_typed(values: Any, data_type: DataType | None) -> pd.Series | None:
    """A text column typed by ``pyarrow.compute``; ``None`` when it cannot vouch for a value.

    Arrow's parsers round doubles correctly, as Python's ``float`` does, and accept no text
    that ``float`` would refuse; a text Arrow refuses sends the column to the exact path.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if data_type in (DataType.STRING, DataType.TEXT):
        text: pd.Series = values.to_pandas().astype(_TEXT)
        return text
    if data_type is None:
        return None
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    missing = values.null_count
    try:
        if data_type is DataType.LOGICAL:
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
            known = pc.is_in(lowered, value_set=pa.array(sorted(LOGICAL_VALUES)))
            if (pc.sum(known).as_py() or 0) != len(values) - missing:
                return None
            flags = pc.fill_null(pc.is_in(lowered, value_set=_arrow_true()), False)
            flag_array = flags.to_numpy(zero_copy_only=False)
            if missing or not len(values):
                mask = pc.is_null(values).to_numpy(zero_copy_only=False)
                return pd.Series(pd.arrays.BooleanArray(flag_array, mask))
            return pd.Series(flag_array)
        if data_type is DataType.DATE:
            return _arrow_dates(values) if missing < len(values) else None
        if missing == len(values):
            return pd.Series(np.nan, index=pd.RangeIndex(len(values)), dtype="float64")
        if pc.all(pc.match_substring_regex(values, _INTEGER_TEXT)).as_py():
            integers = pc.cast(values, pa.int64())
            if not missing:
                return pd.Series(integers.to_numpy())
            mask = pc.is_null(integers).to_numpy(zero_copy_only=False)
            data = pc.fill_null(integers, 0).to_numpy()
            return pd.Series(pd.arrays.IntegerArray(data, mask))
        return pd.Series(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False))
    except pa.ArrowInvalid:
        return None


def _data_type(spec: Any) -> DataType | None:
    value = lookup(spec, DATA_TYPE)
    if not value:
        return None
    try:
        return DataType(str(value))
    except ValueError:
        return None


_LOGICAL_SPELLINGS: dict[Any, bool] = {
    spelling: flag
    for text, flag in LOGICAL_VALUES.items()
    for spelling in (text, text.upper(), text.title())
}


def _typed_column(column: pd.Series, data_type: DataType | None) -> pd.Series:
    values = column.astype(object).where(column.notna(), None)
    values = values.where(values != "", None)
    if data_type in (DataType.NUMERIC, DataType.NUMERIC_MEASURE):
        return _numbers(values)
    if data_type is DataType.LOGICAL:
        flags = values.map(_LOGICAL_SPELLINGS)  # the usual spellings at C speed, then the rest
        rest = flags.isna() & values.notna()
        if rest.any():
            flags[rest] = values[rest].map(parse_logical)
        return flags.astype("boolean" if flags.isna().any() or flags.empty else bool)
    if data_type is DataType.DATE:
        return _dates(values)
    if data_type in (DataType.STRING, DataType.TEXT):
        return column.astype(_TEXT)
    if len(values) and values.notna().any():
        try:
            return pd.to_numeric(values)
        except (ValueError, TypeError):
            return column.astype(_TEXT)
    return column.astype(_TEXT)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _floats(values: pd.Series) -> pd.Series:
    """Doubles parsed exactly: pandas 2's ``to_numeric`` rounds some 17-digit texts."""
    return values.map(_float, na_action="ignore").astype("float64")


def _numbers(values: pd.Series) -> pd.Series:
    """Integers when every value is one (nullable when some are missing), else floats."""
    missing = values.isna().to_numpy()
    present = values[~missing]
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype="float64")
    exact = pd.to_numeric(present, errors="coerce")
    as_text = pd.api.types.infer_dtype(present, skipna=True) == "string"  # the bulk format
    if exact.dtype.kind not in "iu" or (
        not as_text and present.map(lambda v: isinstance(v, bool | float)).any()
    ):
        return _floats(values)
    if not missing.any():
        return exact.set_axis(values.index)
    unsigned = exact.dtype.kind == "u"
    data = np.zeros(len(values), dtype=np.uint64 if unsigned else np.int64)
    data[~missing] = exact.to_numpy()
    return pd.Series(pd.arrays.IntegerArray(data, missing), index=values.index)


def _dates(values: pd.Series) -> pd.Series:
    try:
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        if not (parsed.isna() & values.notna()).any():
            return parsed
    except (OverflowError, ValueError):
        pass
    # pandas 2 parses to nanoseconds, which end in 2262: a value it could not hold or read is
    # parsed again by Python, to the microsecond
    stamps = [_utc_datetime(v) for v in values]
    array = np.array(
        [np.datetime64("NaT") if s is None else np.datetime64(s, "us") for s in stamps],
        dtype="datetime64[us]",
    )
    return pd.Series(array, index=values.index).dt.tz_localize("UTC")


def _utc_datetime(value: Any) -> datetime | None:
    stamp = parse_iso_datetime(value)
    return None if stamp is None else stamp.astimezone(UTC).replace(tzinfo=None)
