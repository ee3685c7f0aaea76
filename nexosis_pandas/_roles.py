"""The columns a user names for a role, checked before anything is sent.

``target`` must be numeric or logical, ``timestamp`` must hold dates, ``key`` (with the
timestamp) must identify each row; each check's message names the column and the fix, such
as the ``pd.to_datetime`` call that works for the strings seen.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Sequence
from typing import Any

import pandas as pd

from nexosis_pandas._wire import DataType, Role
from nexosis_pandas.exceptions import ColumnError

__all__ = [
    "as_names",
    "check_key",
    "check_target",
    "check_timestamp",
    "missing_column",
    "named_roles",
]


def named_roles(
    df: pd.DataFrame,
    *,
    target: str | None,
    timestamp: str | None,
    key: str | Sequence[str] | None,
) -> dict[str, Role]:
    """Column name to the role the user gave it; each named column exists and has one role."""
    roles: dict[str, Role] = {}
    named: list[tuple[str, str, Role]] = [("target", n, Role.TARGET) for n in as_names(target)]
    named += [("timestamp", n, Role.TIMESTAMP) for n in as_names(timestamp)]
    named += [("key", n, Role.KEY) for n in as_names(key)]
    columns = column_names(df)
    for argument, name, role in named:
        if name not in columns:
            raise missing_column(df, name, argument)
        if name in roles and roles[name] is not role:
            raise ColumnError(
                f"Column {name!r} is named as both {roles[name].value} and {role.value}; a "
                "column has one role. Pass a different column for one of them.",
                column=name,
            )
        roles[name] = role
    return roles


def column_names(df: Any) -> list[Hashable]:
    """The column names of a pandas frame or a ``pyarrow.Table``."""
    names = getattr(df, "column_names", None)  # a Table's columns are its arrays
    return list(df.columns if names is None else names)


def missing_column(df: pd.DataFrame, name: Hashable, argument: str) -> ColumnError:
    columns = [str(c) for c in column_names(df)]
    close = difflib.get_close_matches(str(name), columns, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(map(repr, columns[:20])) + (", ..." if len(columns) > 20 else "")
    if argument == "columns":  # a mapping's key, not the argument's value
        return ColumnError(
            f"columns= names {name!r}, which is not a column of the DataFrame. {hint}"
            f"The columns are: {shown}. Name one of them in columns=.",
            column=name,
        )
    return ColumnError(
        f"{argument}={name!r} is not a column of the DataFrame. {hint}"
        f"The columns are: {shown}. Pass {argument}= one of them.",
        column=name,
    )


def as_names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def check_target(df: pd.DataFrame, name: str, data_type: DataType) -> None:
    if data_type in (DataType.NUMERIC, DataType.NUMERIC_MEASURE, DataType.LOGICAL):
        return
    problem = (
        f"target={name!r} must be numeric or logical to be predicted, but its dtype is "
        f"{df[name].dtype} ({data_type.value})."
    )
    values = df[name].dropna()
    if data_type in (DataType.STRING, DataType.TEXT) and len(values):
        parsed = pd.to_numeric(values.astype(object), errors="coerce")
        failed = values[parsed.isna().to_numpy()]
        if len(failed) < len(values) / 2:  # numbers stored as text: converting them is safe
            if failed.empty:
                fix = f"df[{name!r}] = pd.to_numeric(df[{name!r}])"
            else:
                fix = (
                    f"df[{name!r}] = pd.to_numeric(df[{name!r}], errors='coerce') (the "
                    f"{len(failed)} value(s) that are not numbers, e.g. {failed.iloc[0]!r}, "
                    "become missing)"
                )
            raise ColumnError(
                f"{problem} Its values look like numbers stored as text: convert them, e.g. "
                f"{fix}, or choose another target.",
                column=name,
            )
    if data_type is DataType.STRING and len(values):
        categories = list(dict.fromkeys(values.astype(object).tolist()))
        codes = ", ".join(f"{value!r}: {code}" for code, value in enumerate(categories[:2]))
        more = ", ..." if len(categories) > 2 else ""
        raise ColumnError(
            f"{problem} Its values are categories such as {categories[0]!r}, not numbers. "
            "Choose another column as the target, or, to predict these categories, map them "
            f"to numbers deliberately, e.g. df[{name + '_code'!r}] = "
            f"df[{name!r}].map({{{codes}{more}}}).astype(float), and pass that as the target.",
            column=name,
        )
    hint = (
        f" Dates place rows in time: pass it as timestamp={name!r}."
        if data_type is DataType.DATE
        else ""
    )
    raise ColumnError(
        f"{problem} A target is a number or a flag (True/False) to predict: choose another "
        f"column as the target.{hint}",
        column=name,
    )


def check_timestamp(df: pd.DataFrame, name: str, data_type: DataType) -> None:
    if data_type is DataType.DATE:
        return
    raise ColumnError(
        f"timestamp={name!r} must hold dates or datetimes, but its dtype is "
        f"{df[name].dtype}. {_to_datetime_hint(df[name], name)}",
        column=name,
    )


_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$")


def _to_datetime_hint(values: pd.Series, name: str) -> str:
    """How to convert ``values`` to datetimes: a call that works for the strings seen.

    Day-first strings (``13/01/2024``) get an explicit ``format=``; strings that could be
    either day-first or month-first say so; others get plain ``pd.to_datetime``.
    """
    call = f"df[{name!r}] = pd.to_datetime(df[{name!r}]{{}})"
    sample = values.dropna().astype(str).str.strip().head(1000)
    if sample.empty:
        return "Convert it, e.g. " + call.format("") + "."
    parts = sample.str.extract(_NUMERIC_DATE)
    if parts.notna().all().all():
        first, second = parts[0].astype(int), parts[2].astype(int)
        sep = str(parts[1].iloc[0])
        year = "%Y" if parts[3].str.len().eq(4).all() else "%y"
        day_first, month_first = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
        if (first > 12).any() and (second <= 12).all():
            return (
                f"Its values are day-first, such as {sample[first > 12].iloc[0]!r}: convert "
                "it with " + call.format(f", format={day_first!r}") + "."
            )
        if (second > 12).any() and (first <= 12).all():
            return "Convert it with " + call.format(f", format={month_first!r}") + "."
        return (
            f"Its values, such as {sample.iloc[0]!r}, may be day-first or month-first: convert "
            "it with " + call.format(f", format={day_first!r}") + f" (or format={month_first!r}"
            " if the month comes first)."
        )
    return "Convert it, e.g. " + call.format("") + "."


def check_key(df: pd.DataFrame, names: list[str], timestamp: str | None, dates: list[str]) -> None:
    # A row is identified by its key together with its timestamp, as the server upserts.
    for name in names:
        missing = int(df[name].isna().sum())
        if missing:
            raise ColumnError(
                f"key={name!r} has {missing} missing value(s) (first at row "
                f"{df.index[df[name].isna().to_numpy()][0]!r}); every row needs a key. Fill or "
                f"drop them, e.g. df = df.dropna(subset=[{name!r}]).",
                column=name,
            )
    identity = [*names, timestamp] if timestamp is not None else names
    duplicated = df.duplicated(subset=identity, keep=False)
    if not duplicated.any():
        return
    label = names[0] if len(names) == 1 else names
    with_time = f" with timestamp={timestamp!r}" if timestamp is not None else ""
    counts = df.value_counts(subset=identity, dropna=False, sort=True)
    counts = counts[counts > 0]  # categories that no row has
    top = counts.index[0] if isinstance(counts.index[0], tuple) else (counts.index[0],)
    shown = top[0] if len(identity) == 1 else top
    kind = "key value" if len(identity) == 1 else f"({', '.join(identity)}) combination"
    message = (
        f"key={label!r}{with_time} must identify each row, but {int(duplicated.sum())} of "
        f"{len(df)} rows share their {kind} with another row; there are {len(counts)} "
        f"distinct {kind}s (e.g. {shown!r} is in {int(counts.iloc[0])} rows). "
    )
    # A key repeats over time by design (a store, every day): a timestamp may complete it.
    together = [
        c
        for c in (dates if timestamp is None else [])
        if c not in names and not df.duplicated([*names, c]).any()
    ]
    if together:
        message += (
            f"A row is identified by its key together with its timestamp, and {label!r} with "
            f"{together[0]!r} is unique: pass timestamp={together[0]!r}. Otherwise, find"
        )
    else:
        message += "Find"
    message += (
        f" the repeated rows with df[df.duplicated({identity!r}, keep=False)], then correct "
        "them or choose another key."
    )
    raise ColumnError(message, column=names[0])
