"""Column metadata inferred from Arrow types, and checked against the table, without pandas.

The Arrow side of :func:`nexosis_pandas.columns.infer_column_metadata`, for polars frames,
Arrow tables and the Arrow stream, with the same outcome for the same data:

=====================================================  ===========
Arrow type (polars dtype)                              data type
=====================================================  ===========
``bool`` (``Boolean``)                                 ``logical``
integers, floats, decimals (``Int*``, ``Float*``, ...)  ``numeric``
``timestamp`` with or without a zone, ``date``         ``date``
dictionaries (``Categorical``, ``Enum``)               ``string``
strings (``String``, ``Utf8``)                         ``string``, or ``text`` for long free text
``null`` (a column of nulls alone)                     none sent: the server decides
durations, times, binary, lists, structs, maps         an error naming the column and a fix
=====================================================  ===========

The values are checked as a pandas frame's are: no infinite floats, decimals a double holds,
datetimes to the microsecond within the years 1 to 9999; the columns named
for a role are checked for it (a numeric or logical target, a date timestamp, a key without
missing values or repeats).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas._encode.arrow_formatters import refusal
from nexosis_pandas._inputs import table_names
from nexosis_pandas._roles import as_names, named_roles
from nexosis_pandas._wire import DATA_TYPE, ColumnMetadata, DataType, Role
from nexosis_pandas.exceptions import ColumnError

__all__ = ["arrow_column_metadata", "arrow_data_type"]

_TEXT_MIN_MEDIAN_LENGTH = 50  # columns.TEXT_MIN_MEDIAN_LENGTH, which imports this module's peers
_TEXT_SAMPLE_SIZE = 10_000
_MIN_US = -62135596800 * 10**6  # 0001-01-01 in microseconds since the epoch
_MAX_US = 253402300800 * 10**6 - 1  # the last microsecond of 9999


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view")


def arrow_data_type(name: str, column: pa.ChunkedArray) -> DataType | None:
    """The data type of an Arrow column; ``None`` for a column of nulls alone.

    Raises
    ------
    ColumnError
        A type no dataset holds (see :func:`~nexosis_pandas._encode.arrow_formatters.refusal`).
    """
    t = column.type
    error = refusal(name, t)
    if error is not None:
        raise error
    if pa.types.is_dictionary(t):
        return DataType.STRING
    if pa.types.is_boolean(t):
        return DataType.LOGICAL
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return DataType.NUMERIC
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return DataType.DATE
    if pa.types.is_null(t):
        return None
    return _string_or_text(column)


def _string_or_text(column: pa.ChunkedArray) -> DataType:
    values = pc.drop_null(column)
    if not len(values):
        return DataType.STRING
    if len(values) > _TEXT_SAMPLE_SIZE:
        step = len(values) // _TEXT_SAMPLE_SIZE
        values = values.take(pa.array(np.arange(0, len(values), step)))
    lengths = np.asarray(pc.utf8_length(values).to_numpy(), dtype="float64")
    spaced = np.asarray(pc.match_substring_regex(values, r"\s").to_numpy(), dtype=bool)
    if np.median(lengths) >= _TEXT_MIN_MEDIAN_LENGTH and spaced.mean() >= 0.5:
        return DataType.TEXT
    return DataType.STRING


def _first(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy()))[0])


def _check_survives(name: str, column: pa.ChunkedArray, data_type: DataType | None) -> None:
    """Refuse the values a dataset would give back changed, as for a pandas frame."""
    t = column.type
    if pa.types.is_floating(t):
        infinite = pc.is_inf(column)
        if pc.any(infinite).as_py():
            raise ColumnError(
                f"Column {name!r} holds an infinite value at row {_first(infinite)} "
                f"({pc.sum(infinite).as_py()} in all); a numeric dataset column holds finite "
                f"numbers. Replace them with nulls, e.g. pl.when(pl.col({name!r}).is_infinite())"
                f".then(None).otherwise(pl.col({name!r})).",
                column=name,
            )
    if pa.types.is_decimal(t):
        back = pc.cast(pc.cast(column, pa.float64()), t, safe=False)
        changed = pc.not_equal(back, column)
        if pc.any(changed).as_py():
            raise ColumnError(
                f"Column {name!r} holds a decimal a double does not hold (row {_first(changed)}); "
                "it would come back rounded. Send it as text (pl.col(name).cast(pl.String)) to "
                "keep every digit, or round it to what a float holds.".replace("name", repr(name)),
                column=name,
            )
    if data_type is DataType.DATE and pa.types.is_timestamp(t):
        _check_instants(name, column)


def _check_instants(name: str, column: pa.ChunkedArray) -> None:
    unit = column.type.unit
    instants = pc.cast(column.cast(pa.timestamp(unit)), pa.int64())
    if unit == "ns":
        nanos = pc.not_equal(pc.subtract(instants, pc.multiply(pc.divide(instants, 1000), 1000)), 0)
        if pc.any(nanos).as_py():
            raise ColumnError(
                f"Column {name!r} holds a datetime with nanoseconds (row {_first(nanos)}); a "
                f"dataset keeps dates to the microsecond. Round them first, e.g. "
                f"pl.col({name!r}).dt.truncate('1us').cast(pl.Datetime('us')).",
                column=name,
            )
        return
    per_us = {"s": 10**6, "ms": 10**3, "us": 1}[unit]
    low, high = _MIN_US // per_us, _MAX_US // per_us
    outside = pc.or_(pc.less(instants, low), pc.greater(instants, high))
    if pc.any(outside).as_py():
        raise ColumnError(
            f"Column {name!r} holds a datetime outside the years 1 to 9999 (row "
            f"{_first(outside)}), which a dataset's dates cannot hold. Drop or replace those "
            "rows.",
            column=name,
        )


def arrow_column_metadata(
    table: pa.Table,
    *,
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
) -> ColumnMetadata:
    """The column metadata an import of ``table`` sends, checked against it.

    As :func:`nexosis_pandas.columns.infer_column_metadata` for a pandas frame: Parameters,
    Returns and Raises are those of :func:`nexosis_pandas.infer_column_metadata`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"id": ["a", "b"], "units": [1.5, 2.0], "on": [True, None]})
    >>> arrow_column_metadata(table, key="id")  # doctest: +NORMALIZE_WHITESPACE
    {'id': {'dataType': 'string', 'role': 'key'}, 'units': {'dataType': 'numeric'},
     'on': {'dataType': 'logical'}}
    """
    names = table_names(table)
    roles = named_roles(table, target=target, timestamp=timestamp, key=key)
    metadata: ColumnMetadata = {}
    for name, column in zip(names, table.columns, strict=True):
        data_type = arrow_data_type(name, column)
        _check_survives(name, column, data_type)
        role = roles.get(name)
        if role is not None and data_type is None:
            data_type = DataType.STRING  # a column of nulls named for a role: as pandas sends it
        if role is Role.TARGET and data_type not in (DataType.NUMERIC, DataType.LOGICAL):
            raise ColumnError(
                f"target={name!r} must be numeric or logical to be predicted, but its Arrow "
                f"type is {column.type} ({data_type.value if data_type else 'no values'}). A "
                "target is a number or a flag (True/False) to predict: choose another column "
                "as the target.",
                column=name,
            )
        if role is Role.TIMESTAMP and data_type is not DataType.DATE:
            raise ColumnError(
                f"timestamp={name!r} must hold dates or datetimes, but its Arrow type is "
                f"{column.type}. Convert it first, e.g. pl.col({name!r}).str.to_datetime().",
                column=name,
            )
        metadata[name] = {} if data_type is None else {DATA_TYPE: data_type.value}
        if role is not None:
            metadata[name]["role"] = role.value
    keys = as_names(key)
    if keys:
        _check_key(table, keys, timestamp)
    return metadata


def _check_key(table: pa.Table, names: list[str], timestamp: str | None) -> None:
    for name in names:
        missing = table.column(name).null_count
        if missing:
            raise ColumnError(
                f"key={name!r} has {missing} missing value(s) (first at row "
                f"{_first(pc.is_null(table.column(name)))}); every row needs a key. Fill or "
                f"drop them, e.g. df.drop_nulls({name!r}) in polars.",
                column=name,
            )
    identity = [*names, timestamp] if timestamp is not None else names
    distinct = table.select(identity).group_by(identity).aggregate([]).num_rows
    if distinct == table.num_rows:
        return
    label = names[0] if len(names) == 1 else names
    with_time = f" with timestamp={timestamp!r}" if timestamp is not None else ""
    raise ColumnError(
        f"key={label!r}{with_time} must identify each row, but the table's {table.num_rows} "
        f"rows hold {distinct} distinct values of {identity!r}. Find the repeated rows, e.g. "
        f"df.filter(pl.struct({identity!r}).is_duplicated()) in polars, then correct them or "
        "choose another key.",
        column=names[0],
    )
