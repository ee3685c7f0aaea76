"""The frame as a file sees it: column names checked, and the index policies.

An upload writes the index by :func:`writes_index`; an import sends it by
:func:`frame_to_import`. A sparse column is written as the dense column it stands for (the
same values: :func:`frame_columns`); the errors for values no file can carry as they are
(text UTF-8 cannot encode, bytes, ``""`` in a CSV file of one column) are built here.

Everything here runs before any byte is made, so a :class:`~nexosis_pandas.exceptions.ColumnError`
always means nothing was sent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas.exceptions import ColumnError

__all__ = [
    "bytes_error",
    "check_lone_text",
    "dense",
    "frame_columns",
    "frame_to_import",
    "unencodable_text_error",
    "validate_column_names",
    "writes_index",
]


def writes_index(df: pd.DataFrame, index: bool | None = None) -> bool:
    """Whether ``df``'s index is written as columns, by the upload's rule.

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


def frame_to_import(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as an import sends it: the index becomes a column unless it only numbers the rows.

    The index is sent when it is named (``set_index("day")``), or when its labels are not
    integers (an unnamed ``DatetimeIndex`` or string labels, sent as a column called ``index``;
    a ``MultiIndex``). An unnamed integer index (the default ``RangeIndex``, or the labels
    left after filtering or slicing rows) numbers the rows and is left out. The upload alone
    (:func:`~nexosis_pandas.upload_dataframe`) has its own rule: there, any index but the default
    ``RangeIndex`` is written.

    Raises
    ------
    ColumnError
        The index would be sent with a name that is not a string or that a column has.
    """
    validate_column_names(df, index=False)  # a MultiIndex of columns, say: checked first
    idx = df.index
    named = any(name is not None for name in idx.names)
    numbers_rows = not isinstance(idx, pd.MultiIndex) and pd.api.types.is_integer_dtype(idx)
    if not named and numbers_rows:
        return df
    # The names are checked first: pandas' own error for an index named like a column is bare.
    validate_column_names(df, index=True)
    return df.reset_index()


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
        As for :func:`~nexosis_pandas.upload_dataframe`: ``None`` writes the index only when
        it carries information (named, or not the default ``RangeIndex``).

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


def bytes_error(name: object, values: pd.Series) -> ColumnError:
    """The error for a column holding ``bytes``, naming the first such row.

    A dataset has no binary type: bytes would be stored as their Python repr (``b'\\x00'``)
    and come back as that text. Whichever text they should be (UTF-8, base64, hex) is the
    user's choice, and it comes back as text, so the message offers the two usual ones.

    Parameters
    ----------
    name
        The column's name.
    values
        The column (or the part of it being encoded).

    Returns
    -------
    ColumnError
        Naming the column, the row and the two ways out.

    Examples
    --------
    >>> import pandas as pd
    >>> str(bytes_error("b", pd.Series(["x", b"\\x00"], dtype=object)))[:40]
    "Column 'b' holds bytes (row 1, 1 in all)"
    """
    found = [isinstance(value, bytes | bytearray | memoryview) for value in values.tolist()]
    label = values.index[found.index(True)] if any(found) else None
    return ColumnError(
        f"Column {name!r} holds bytes (row {label!r}, {sum(found)} in all), which a dataset "
        "cannot hold (it has no binary type). Send them as text: "
        f"df[{name!r}] = df[{name!r}].str.decode('utf-8') when they are UTF-8, or "
        f"df[{name!r}] = df[{name!r}].map(lambda b: base64.b64encode(b).decode('ascii'), "
        "na_action='ignore') for any bytes",
        column=name,
    )


def _plural(places: list[str]) -> str:
    return "positions" if all(p.startswith("position") for p in places) else "at"


def dense(series: pd.Series) -> pd.Series:
    """``series``, dense when it is sparse: the same values, which every writer can read."""
    if isinstance(series.dtype, pd.SparseDtype):
        values: pd.Series = series.astype(series.dtype.subtype)
        return values
    return series


def frame_columns(df: pd.DataFrame, index: bool | None) -> list[tuple[str, pd.Series]]:
    """The columns a file of ``df`` holds, named, the index's first; sparse ones made dense."""
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
    columns.extend(dense(df.iloc[:, i]) for i in range(df.shape[1]))
    return list(zip(names, columns, strict=True))


def check_lone_text(name: object, values: pd.Series | pa.Array | pa.ChunkedArray) -> None:
    """Refuse ``""`` in the only column of a CSV file, where it would come back missing.

    A CSV file tells ``""`` (quoted) from a missing value (an empty field), except in a file
    of one column: there a missing value cannot be a blank line, which readers skip, so it is
    written ``""`` as well, and read back as missing. ``values`` is a pandas column or, for
    polars and Arrow data, an Arrow one.

    Raises
    ------
    ColumnError
        Naming the column, the first row and two ways out.

    Examples
    --------
    >>> import pandas as pd
    >>> check_lone_text("note", pd.Series(["a", ""]))
    Traceback (most recent call last):
    ...
    nexosis_pandas.exceptions.ColumnError: Column 'note' holds an empty string (row 1), which \
a CSV file of one column cannot tell from a missing value. ...
    """
    if isinstance(values, pa.Array | pa.ChunkedArray):
        t = values.type
        if pa.types.is_dictionary(t):
            values, t = values.cast(t.value_type), t.value_type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            return
        empty = np.asarray(pc.fill_null(pc.equal(values, ""), False), dtype=bool)
        rows: Any = np.arange(len(values))
    else:
        types = pd.api.types
        if types.is_numeric_dtype(values.dtype) or types.is_datetime64_any_dtype(values.dtype):
            return
        empty = np.asarray(values.isin([""]), dtype=bool)
        rows = values.index
    if empty.any():
        row = rows[empty][0]
        row = row.item() if isinstance(row, np.generic) else row
        raise ColumnError(
            f"Column {name!r} holds an empty string (row {row!r}), which a "
            "CSV file of one column cannot tell from a missing value. Upload it as JSON (an "
            "s3_url ending .json.gz), which keeps both, or send it with another column.",
            column=name,
        )
