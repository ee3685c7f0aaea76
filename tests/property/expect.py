"""What must come back: comparisons the properties share, exact to the bit where it matters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tests.property.strategies import Case, Family, Kind


def _mask(values: pd.Series) -> np.ndarray[Any, Any]:
    return np.asarray(values.isna().to_numpy(), dtype=bool)


def assert_same_missing(back: pd.Series, sent: pd.Series, name: str) -> None:
    got, want = _mask(back), _mask(sent)
    assert (got == want).all(), (
        f"{name}: missing at rows {np.flatnonzero(got).tolist()}, "
        f"expected {np.flatnonzero(want).tolist()}"
    )


def assert_same_floats(back: pd.Series, sent: pd.Series, name: str) -> None:
    """Equal doubles, bit for bit (``-0.0`` is not ``0.0``), and missing where missing."""
    assert_same_missing(back, sent, name)
    got = np.asarray(back.to_numpy(dtype="float64", na_value=np.nan))
    want = np.asarray(sent.to_numpy(dtype="float64", na_value=np.nan))
    present = ~np.isnan(want)
    differ = got[present].view("int64") != want[present].view("int64")
    assert not differ.any(), (
        f"{name}: {got[present][differ][:3].tolist()} came back for "
        f"{want[present][differ][:3].tolist()}"
    )


def assert_same_values(back: pd.Series, sent: pd.Series, name: str) -> None:
    """The same Python values, row by row, missing where missing."""
    assert_same_missing(back, sent, name)
    keep = ~_mask(sent)
    got = back[keep].tolist()
    want = sent[keep].tolist()
    assert got == want, f"{name}: {got!r} came back for {want!r}"


def utc_instants(values: pd.Series, unit: str = "us") -> pd.Series:
    """Datetimes (naive ones read as UTC) as naive UTC in ``unit``; dates as midnight."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(values.dtype):  # datetime.date objects
        values = pd.Series(
            [pd.NaT if pd.isna(v) else dt.datetime(v.year, v.month, v.day) for v in values],
            index=values.index,
            dtype="datetime64[us]",
        )
    return values.astype(np.dtype(f"datetime64[{unit}]"))


def as_text(values: pd.Series) -> pd.Series:
    """Text columns (object, string, categories) as plain values, ``None`` where missing."""
    out = values.astype(object)
    return out.where(~_mask(values), None)


def sent_frame(case: Case) -> tuple[pd.DataFrame, dict[str, Kind]]:
    """The frame as an import sends it (its index as columns by the import rule), and kinds."""
    df, kinds = case.frame, dict(case.kinds)
    if case.index in ("named", "datetime", "labels"):
        name = str(df.index.name or "index")
        kinds = {name: _index_kind(case.index), **kinds}
        df = df.reset_index()
    else:
        df = df.reset_index(drop=True)
    return df, kinds


def _index_kind(index: str) -> Kind:
    return {"named": "int64", "datetime": "datetime", "labels": "object"}[index]  # type: ignore[return-value]


def assert_column(
    back: pd.Series, sent: pd.Series, kind: Kind, name: str, unit: str = "us"
) -> None:
    """``back`` holds ``sent``'s values, compared as a column of ``kind`` comes back."""
    if isinstance(sent.dtype, pd.SparseDtype):
        sent = pd.Series(
            sent.to_numpy(), index=sent.index
        )  # a sparse column comes back as the column it stands for
    if kind == "float64":
        assert_same_floats(back, sent, name)
    elif kind in ("datetime", "datetime_tz", "date"):
        assert_same_values(utc_instants(back, unit), utc_instants(sent, unit), name)
    elif kind in ("object", "string", "string[pyarrow]", "category"):
        assert_same_values(as_text(back), as_text(sent), name)
    else:
        assert_same_values(back.astype(object), sent.astype(object), name)


_INT64 = (-(2**63), 2**63 - 1)
_UINT64 = (0, 2**64 - 1)


def culprits(family: Family, values: list[Any]) -> tuple[str, list[int]]:
    """The words a refusal of the column must say and the rows it may name; none: exact.

    What a dataset keeps: no bytes; integers from -2**63 to 2**63 - 1, or all from 0 to
    2**64 - 1; a Decimal (or an integer among Decimals) only when the double nearest to it
    is it (its shortest text, for a Decimal).
    """
    present = {i: v for i, v in enumerate(values) if v is not None}
    if family == "bytes":
        return "holds bytes", [i for i, v in present.items() if isinstance(v, bytes)]
    if family == "pyint":
        ints = list(present.values())
        low, high = min(ints), max(ints)
        if (_INT64[0] <= low and high <= _INT64[1]) or (_UINT64[0] <= low and high <= _UINT64[1]):
            return "", []
        wide = _UINT64 if low >= 0 else _INT64
        return "beyond what a numeric column keeps exactly", [
            i for i, v in present.items() if not wide[0] <= v <= wide[1]
        ]
    if family == "decimal":
        return "does not keep to the last digit", [
            i for i, v in present.items() if Decimal(repr(float(v))) != v
        ]
    return "", []


def assert_exact_numbers(back: pd.Series, sent: list[Any], name: str) -> None:
    """Python numbers (ints, Decimals) back as the numbers they were, missing where missing."""
    assert_same_missing(back, pd.Series(sent, dtype=object), name)
    for i, want in enumerate(sent):
        if want is None:
            continue
        got = back.iloc[i]
        integer = isinstance(got, int | np.integer)
        exact = Decimal(int(got)) if integer else Decimal(repr(float(got)))
        assert exact == want, f"{name} row {i}: {got!r} came back for {want!r}"


def dense_kind(family: Family) -> Kind:
    """The kind a sparse column comes back as: its dense dtype's."""
    return {"sparse_float64": "float64", "sparse_int64": "int64", "sparse_bool": "bool"}[family]  # type: ignore[return-value]
