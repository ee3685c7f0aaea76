"""Column metadata inferred from a DataFrame's dtypes, and checked against the frame.

Everything here runs before a byte is uploaded, so a mistake in the frame or in the roles the
user named fails in a second with a message that names the column and the fix, not minutes
later as a failed import.

How a column's data type is chosen
----------------------------------
==========================================  ===========
dtype                                       data type
==========================================  ===========
bool, ``boolean``, ``bool[pyarrow]``        ``logical``
integers, floats (numpy, nullable, arrow)   ``numeric``
datetimes (naive or with a time zone)       ``date``
``category``, periods, intervals            ``string``
strings (``str``, ``string``, ``object``)   ``string``, or ``text`` for long free text
``object`` holding other Python values      inferred from the values (``pd.api.types.infer_dtype``)
sparse columns                              the data type of the dense column (sent dense)
complex numbers, timedeltas                 an error: convert them first (the message says how)
lists, dicts, sets, arrays in cells         an error: spread them or write them as JSON text
``bytes``                                   an error: decode them, or send them as base64 text
infinite floats                             an error: a numeric column holds finite numbers
``Decimal`` a double does not hold          an error: it would come back rounded
Python ints beyond 64 bits (or a double)    an error: they would come back rounded
datetimes with nanoseconds                  an error: dates are kept to the microsecond
datetimes outside the years 1 to 9999       an error: a date cannot hold them
==========================================  ===========

Long free text
    A string column is ``text`` (free text, not a category) when the median length of its
    non-missing values is at least :data:`TEXT_MIN_MEDIAN_LENGTH` characters **and** at least
    half of those values contain whitespace. Sentences pass both tests; category labels fail
    the first, and long identifiers, hashes and URLs fail the second. Large columns are judged
    on an evenly spaced sample of :data:`TEXT_SAMPLE_SIZE` values. Override the choice with
    ``columns={"name": {"dataType": "string"}}``.

Roles
    The columns named as ``target``, ``timestamp`` and ``key`` get those roles. Every other
    column is sent with its data type only: a new dataset makes it a ``feature``, and a
    dataset imported into again keeps the roles it has (so a later import need not repeat
    them, and still upserts by the dataset's key and timestamp).

A column's data type is inferred and checked here; the checks of the columns named for a role
are in :mod:`nexosis_pandas._roles`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd

from nexosis_pandas._frame import bytes_error, unencodable_text_error, validate_column_names
from nexosis_pandas._roles import (
    as_names,
    check_key,
    check_target,
    check_timestamp,
    missing_column,
    named_roles,
)
from nexosis_pandas._wire import (
    DATA_TYPE,
    Aggregation,
    ColumnMetadata,
    DataType,
    Imputation,
    Role,
)
from nexosis_pandas.exceptions import ColumnError

__all__ = [
    "TEXT_MIN_MEDIAN_LENGTH",
    "TEXT_SAMPLE_SIZE",
    "infer_column_metadata",
    "infer_data_type",
    "merge_column_metadata",
]

TEXT_MIN_MEDIAN_LENGTH = 50
"""A string column whose median value is at least this many characters may be free text."""

TEXT_SAMPLE_SIZE = 10_000
"""At most this many values of a string column are measured to decide string or text."""

_OBJECT_KINDS: dict[str, DataType] = {
    "boolean": DataType.LOGICAL,
    "integer": DataType.NUMERIC,
    "floating": DataType.NUMERIC,
    "mixed-integer-float": DataType.NUMERIC,
    "decimal": DataType.NUMERIC,
    "datetime": DataType.DATE,
    "datetime64": DataType.DATE,
    "date": DataType.DATE,
}


def infer_data_type(series: pd.Series) -> DataType:
    """The Nexosis data type for a column, from its dtype (and, for ``object``, its values).

    See the module documentation for the table and for the rule that tells free text from
    categorical strings.

    Parameters
    ----------
    series
        The column.

    Raises
    ------
    ColumnError
        The column holds complex numbers or timedeltas, which a dataset cannot hold as they are.

    Examples
    --------
    >>> infer_data_type(pd.Series([1.5, 2.0]))
    <DataType.NUMERIC: 'numeric'>
    >>> infer_data_type(pd.Series(["red", "blue"]))
    <DataType.STRING: 'string'>
    """
    dtype = series.dtype
    name = series.name
    if isinstance(dtype, pd.CategoricalDtype | pd.PeriodDtype | pd.IntervalDtype):
        return DataType.STRING
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return DataType.LOGICAL
    if kind in "iu":
        return DataType.NUMERIC
    if kind == "f":
        _check_finite(series)
        return DataType.NUMERIC
    if kind == "M":
        return DataType.DATE
    if kind == "c":
        raise ColumnError(
            f"Column {name!r} holds complex numbers, which a dataset cannot hold; split it, "
            f"e.g. df[{name!r} + '_real'] = df[{name!r}].to_numpy().real (and .imag), "
            "then drop it",
            column=name,
        )
    if kind == "m":
        raise ColumnError(
            f"Column {name!r} holds timedeltas, which a dataset cannot hold; convert them to "
            f"numbers, e.g. df[{name!r}] = df[{name!r}].dt.total_seconds()",
            column=name,
        )
    if isinstance(dtype, pd.StringDtype) or (pd.api.types.is_string_dtype(dtype) and kind != "O"):
        return _string_or_text(series)
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "string":
        return _string_or_text(series)
    if inferred == "bytes" or inferred.startswith("mixed"):
        _check_no_bytes(series)
    if inferred.startswith("mixed"):
        _check_flat(series)
    data_type = _OBJECT_KINDS.get(inferred, DataType.STRING)
    if data_type is DataType.NUMERIC:
        _check_finite(series)
    return data_type


_NESTED = (list, tuple, dict, set, frozenset, np.ndarray)


def _check_no_bytes(series: pd.Series) -> None:
    """Bytes would arrive as their Python repr (``b'\\x00'``): refuse them."""
    if series.map(lambda value: isinstance(value, bytes | bytearray | memoryview)).any():
        raise bytes_error(series.name, series)


def _check_flat(series: pd.Series) -> None:
    """A cell holding a list or a dict would arrive as its Python repr: refuse it."""
    nested = series.map(lambda value: isinstance(value, _NESTED)).to_numpy(dtype=bool)
    if not nested.any():
        return
    name = series.name
    label = series.index[nested][0]
    found = type(series.to_numpy()[nested.argmax()]).__name__
    raise ColumnError(
        f"Column {name!r} holds a {found} at row {label!r} ({int(nested.sum())} such cells); "
        "a dataset holds one value per cell. Spread it into columns, or send it as JSON "
        f"text: df[{name!r}] = df[{name!r}].map(json.dumps, na_action='ignore')",
        column=name,
    )


def _check_finite(series: pd.Series) -> None:
    """Infinities fail the import's numeric check on the server: refuse them before upload."""
    numbers = pd.to_numeric(series, errors="coerce")
    infinite = np.isinf(np.asarray(numbers.to_numpy(dtype="float64", na_value=np.nan)))
    if not infinite.any():
        return
    name = series.name
    raise ColumnError(
        f"Column {name!r} holds an infinite value at row {series.index[infinite][0]!r} "
        f"({int(infinite.sum())} in all); a numeric dataset column holds finite numbers. "
        f"Replace them, e.g. df[{name!r}] = df[{name!r}].replace([np.inf, -np.inf], np.nan)",
        column=name,
    )


_INT64 = (-(2**63), 2**63 - 1)
_UINT64 = (0, 2**64 - 1)


def _as_text_fix(name: object) -> str:
    return (
        f"Send it as text, df[{name!r}] = df[{name!r}].astype(str) (every digit kept, as a "
        f"string column), or as floats if rounding is fine, df[{name!r}] = "
        f"df[{name!r}].astype(float)."
    )


def _check_exact_numbers(series: pd.Series) -> None:
    """Refuse Python numbers in an ``object`` column that would come back rounded.

    Such a column comes back as ``int64`` (``uint64`` when every value is 0 to 2**64 - 1)
    when every value is an integer, else as ``float64``. A ``Decimal`` or an ``int`` that
    its double does not hold to the last digit would be rounded on the way.
    """
    name = series.name
    cells = series[series.notna()]
    numbers = [v for v in cells.tolist() if not isinstance(v, bool)]
    if not numbers:
        return
    if all(isinstance(v, int) for v in numbers):
        low, high = min(numbers), max(numbers)
        if (_INT64[0] <= low and high <= _INT64[1]) or (_UINT64[0] <= low and high <= _UINT64[1]):
            return
        bad = [v < _INT64[0] or v > _UINT64[1] or (low < 0 and v > _INT64[1]) for v in numbers]
        value = numbers[bad.index(True)]
        raise ColumnError(
            f"Column {name!r} holds the integer {value} (row {cells.index[bad.index(True)]!r}), "
            "beyond what a numeric column keeps exactly (integers from -2**63 to 2**63 - 1, or "
            f"all from 0 to 2**64 - 1): it would come back as {float(value)!r}. "
            + _as_text_fix(name),
            column=name,
        )
    for label, value in zip(cells.index, cells.tolist(), strict=True):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            continue
        if not _double_holds(value):
            shown = f"the integer {value}" if isinstance(value, int) else f"Decimal('{value}')"
            raise ColumnError(
                f"Column {name!r} holds {shown} (row {label!r}), which a numeric column (of "
                "doubles) does not keep to the last digit: it would come back as "
                f"{float(value)!r}. " + _as_text_fix(name),
                column=name,
            )


def _double_holds(value: int | Decimal) -> bool:
    """Whether the nearest double is ``value`` (its shortest text, for a ``Decimal``)."""
    number = float(value)
    if not math.isfinite(number):
        return True  # an infinity: refused as one, by _check_finite
    if isinstance(value, int):
        return int(number) == value
    return Decimal(repr(number)) == value


def _check_survives(series: pd.Series, data_type: DataType) -> None:
    """Refuse the values a dataset would give back changed, rather than change them silently."""
    name = series.name
    if data_type is DataType.NUMERIC and series.dtype == object:
        _check_exact_numbers(series)
    if data_type is not DataType.DATE or not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return
    stamps = series.dt.tz_convert("UTC") if getattr(series.dt, "tz", None) else series
    nanos = np.asarray(stamps.dt.nanosecond.to_numpy(dtype="float64", na_value=0.0)) != 0
    if nanos.any():
        raise ColumnError(
            f"Column {name!r} holds a datetime with nanoseconds (row {series.index[nanos][0]!r}, "
            f"{series[nanos].iloc[0]}); a dataset keeps dates to the microsecond. Round them "
            f"first, e.g. df[{name!r}] = df[{name!r}].dt.floor('us').",
            column=name,
        )
    years = np.asarray(stamps.dt.year.to_numpy(dtype="float64", na_value=2000.0))
    outside = (years < 1) | (years > 9999)
    if outside.any():
        raise ColumnError(
            f"Column {name!r} holds a datetime outside the years 1 to 9999 (row "
            f"{series.index[outside][0]!r}), which a dataset's dates cannot hold. Drop or "
            f"replace those rows, e.g. df = df[df[{name!r}].dt.year.between(1, 9999)].",
            column=name,
        )


def _string_or_text(series: pd.Series) -> DataType:
    values = series.dropna()
    if values.empty:
        return DataType.STRING
    if len(values) > TEXT_SAMPLE_SIZE:
        step = len(values) // TEXT_SAMPLE_SIZE
        values = values.iloc[::step]
    try:
        strings = values.astype(str)
    except UnicodeEncodeError:
        raise unencodable_text_error(series.name, values) from None
    long_enough = strings.str.len().median() >= TEXT_MIN_MEDIAN_LENGTH
    if long_enough and strings.str.contains(r"\s", regex=True).mean() >= 0.5:
        return DataType.TEXT
    return DataType.STRING


def infer_column_metadata(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
) -> ColumnMetadata:
    """The column metadata an import of ``df``'s columns sends, checked against the frame.

    This describes the columns as they are; :func:`nexosis_pandas.infer_column_metadata`
    first takes the frame as an import sends it, its index included when that is data.
    Data types come from the dtypes (see :mod:`nexosis_pandas.columns` for the table and the
    rule for free text); the columns named here get their roles. Every other column carries
    no role, so the server decides: ``feature`` in a new dataset, the role it already has in
    an existing one. The server fills in imputation and aggregation from the data type.

    Parameters, Returns and Raises are those of :func:`nexosis_pandas.infer_column_metadata`,
    without its handling of the index.

    Examples
    --------
    >>> infer_column_metadata(pd.DataFrame({"id": ["a", "b"], "units": [1.5, 2.0]}), key="id")
    {'id': {'dataType': 'string', 'role': 'key'}, 'units': {'dataType': 'numeric'}}
    """
    validate_column_names(df, index=False)
    roles = named_roles(df, target=target, timestamp=timestamp, key=key)

    metadata: ColumnMetadata = {}
    for name in df.columns:
        data_type = infer_data_type(df[name])
        _check_survives(df[name], data_type)
        named_role = roles.get(name)
        if named_role is Role.TARGET:
            check_target(df, name, data_type)
        elif named_role is Role.TIMESTAMP:
            check_timestamp(df, name, data_type)
        # An object column with no value says nothing of its type: claiming "string" would
        # turn an existing dataset's column (of dates, say) into text.
        unknown = df[name].dtype == object and named_role is None and df[name].isna().all()
        metadata[name] = {} if unknown else {DATA_TYPE: data_type.value}
        if named_role is not None:
            # Only named roles are sent: a role left out keeps the existing dataset's role.
            metadata[name]["role"] = named_role.value
    keys = as_names(key)
    if keys:
        dates = [n for n, meta in metadata.items() if meta.get(DATA_TYPE) == DataType.DATE]
        check_key(df, keys, timestamp, dates)
    return metadata


_COLUMN_FIELDS: dict[str, tuple[str, type[StrEnum]]] = {
    "datatype": (DATA_TYPE, DataType),
    "data_type": (DATA_TYPE, DataType),
    "role": ("role", Role),
    "imputation": ("imputation", Imputation),
    "aggregation": ("aggregation", Aggregation),
}


def column_metadata_to_wire(columns: Mapping[str, Mapping[str, Any]]) -> ColumnMetadata:
    """Check column metadata and write it as the wire has it (camelCase names, enum values).

    Field names may be ``dataType`` or ``data_type`` in any case; values may be enum members or
    their text in any case; ``None`` leaves a field unset.

    Raises
    ------
    ColumnError
        A column's spec is not a mapping, or has an unknown field or value; the message names
        the column and lists what is allowed.

    Examples
    --------
    >>> column_metadata_to_wire({"units": {"data_type": "NUMERICMEASURE", "role": Role.TARGET}})
    {'units': {'dataType': 'numericMeasure', 'role': 'target'}}
    """
    if not isinstance(columns, Mapping):
        raise ColumnError(
            "columns must map column names to {'dataType': ..., 'role': ..., ...}, "
            f"not {type(columns).__name__}."
        )
    wire: ColumnMetadata = {}
    for name, spec in columns.items():
        if not isinstance(spec, Mapping):
            raise ColumnError(
                f"columns[{name!r}] must be a mapping such as {{'dataType': 'numeric'}}, "
                f"not {spec!r}.",
                column=name,
            )
        entry: dict[str, str] = {}
        for field_name, value in spec.items():
            known = _COLUMN_FIELDS.get(str(field_name).lower())
            if known is None:
                raise ColumnError(
                    f"columns[{name!r}] has the unknown field {field_name!r}; use dataType, "
                    "role, imputation or aggregation.",
                    column=name,
                )
            wire_name, vocabulary = known
            if value is None:
                continue
            try:
                entry[wire_name] = vocabulary(value).value
            except ValueError:
                allowed = {m.value.lower(): m.value for m in vocabulary}
                close = difflib.get_close_matches(str(value).lower(), allowed, n=1)
                hint = f" Did you mean {allowed[close[0]]!r}?" if close else ""
                raise ColumnError(
                    f"columns[{name!r}] has {wire_name}={value!r}, which is not one of: "
                    f"{', '.join(allowed.values())}.{hint}",
                    column=name,
                ) from None
        wire[str(name)] = entry
    return wire


def merge_column_metadata(
    df: pd.DataFrame, inferred: ColumnMetadata, given: Mapping[str, Mapping[str, Any]]
) -> ColumnMetadata:
    """Lay the user's column metadata over the inferred one, field by field.

    Parameters
    ----------
    df
        The frame the metadata describes.
    inferred
        From :func:`infer_column_metadata`.
    given
        Column name to the fields the user sets (``dataType``, ``role``, ...).

    Raises
    ------
    ColumnError
        ``given`` names a column the frame does not have, or a field or value the API does
        not know.

    Examples
    --------
    >>> df = pd.DataFrame({"note": ["x"]})
    >>> merge_column_metadata(df, infer_column_metadata(df), {"note": {"dataType": "text"}})
    {'note': {'dataType': 'text'}}
    """
    merged = {name: dict(fields) for name, fields in inferred.items()}
    for name, fields in column_metadata_to_wire(given).items():
        if name not in merged:
            raise missing_column(df, name, "columns")
        merged[name].update(fields)
    return merged


def columns_to_wire(columns: Mapping[str, Mapping[str, Any]] | None) -> ColumnMetadata | None:
    """Column metadata as an import request sends it, or ``None`` for none."""
    return None if columns is None else column_metadata_to_wire(columns)


def metadata_to_send(
    df: pd.DataFrame,
    metadata: ColumnMetadata,
    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None,
    *,
    target: str | None,
    timestamp: str | None,
    key: str | Sequence[str] | None,
) -> ColumnMetadata | None:
    """The metadata an import sends, by ``columns=`` of :func:`nexosis_pandas.import_dataframe`."""
    if columns is None:
        if target is not None or timestamp is not None or key is not None:
            raise ValueError(
                "columns=None sends no column metadata, so target, timestamp and key would be "
                "ignored; leave columns='infer' to send them."
            )
        return None
    if isinstance(columns, str):
        if columns != "infer":
            raise ValueError(f'columns must be "infer", a mapping or None, not {columns!r}')
        return metadata
    return merge_column_metadata(df, metadata, columns)
