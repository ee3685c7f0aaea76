"""A dataset's rows as a DataFrame, each column's dtype taken from the dataset's metadata.

:meth:`Client.read_dataset <nexosis_pandas._client.Client.read_dataset>` fetches the pages;
this module turns the rows it collected into columns of the right dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nexosis_pandas._wire import DataType, lookup, parse_logical

__all__ = ["dataset_frame"]


def dataset_frame(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Any]) -> pd.DataFrame:
    """Build a DataFrame from a dataset's rows, typed by its column metadata.

    ``numeric`` and ``numericMeasure`` columns become numbers, ``logical`` the nullable
    ``boolean`` (values read by :func:`~nexosis_pandas._wire.parse_logical`), ``date`` UTC
    timestamps; ``string`` and ``text`` stay as they came. A column without metadata becomes
    numbers when every value is one. ``""`` is a missing value in typed columns; a value that
    does not fit its column's type becomes missing too.

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
    ...     {"day": {"dataType": "date"}, "promo": {"dataType": "logical"}},
    ... )
    >>> list(frame.columns), str(frame.day.dt.tz), frame.promo.dtype
    (['day', 'promo', 'units'], 'UTC', BooleanDtype)
    >>> frame.promo.tolist(), frame.units.tolist()
    ([True, False], [3.0, nan])
    """
    names: list[str] = [str(c) for c in columns]
    for row in rows:
        names.extend(str(k) for k in row if str(k) not in names)
    frame = pd.DataFrame.from_records(
        [{str(k): v for k, v in row.items()} for row in rows], columns=names
    )
    for name in names:
        frame[name] = _typed_column(frame[name], _data_type(columns.get(name)))
    return frame


def _data_type(spec: Any) -> DataType | None:
    value = lookup(spec, "dataType")
    if not value:
        return None
    try:
        return DataType(str(value))
    except ValueError:
        return None


def _typed_column(column: pd.Series, data_type: DataType | None) -> pd.Series:
    values = column.astype(object).where(column.notna(), None)
    values = values.where(values.map(lambda v: v != ""), None)
    if data_type in (DataType.NUMERIC, DataType.NUMERIC_MEASURE):
        if values.isna().all():
            return pd.Series(np.nan, index=column.index, dtype="float64")
        return pd.to_numeric(values, errors="coerce")
    if data_type is DataType.LOGICAL:
        return values.map(parse_logical).astype("boolean")
    if data_type is DataType.DATE:
        return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    if data_type in (DataType.STRING, DataType.TEXT):
        return column
    if len(values) and values.notna().any():
        try:
            return pd.to_numeric(values)
        except (ValueError, TypeError):
            return column
    return column
