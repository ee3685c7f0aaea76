"""The one door: which frames an upload, an import and ``infer_column_metadata`` take.

:func:`recognise` tells them apart. pandas frames and Dask frames go their way as before;
everything else that holds columns becomes a ``pyarrow.Table``, never a pandas frame:

- a polars ``DataFrame`` (``to_arrow()``, no copy) or ``LazyFrame`` (collected);
- a pyarrow ``Table``, ``RecordBatch``, ``RecordBatchReader`` or ``dataset.Dataset``;
- any object that exports the Arrow C stream (``__arrow_c_stream__``: a DuckDB relation, an
  ibis or narwhals frame, ...), read with ``pyarrow.RecordBatchReader.from_stream``.

polars is never imported here: an object is a polars one when its type's module is polars'.
Anything else gets one short ``TypeError`` that names what it got and what is taken.

A ``LazyFrame`` and a ``RecordBatchReader`` are read whole before the upload: the encoder
scans each float and datetime column whole before writing its first value (whether every
float is whole, the coarsest exact unit of the datetimes), which a stream read once cannot
give.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from nexosis_pandas.exceptions import ColumnError

__all__ = ["TAKEN", "encodable_table", "recognise", "table_names"]

TAKEN = (
    "a pandas, Dask or polars DataFrame, a polars LazyFrame, a pyarrow Table, RecordBatch, "
    "RecordBatchReader or dataset, or any object with __arrow_c_stream__ (a DuckDB relation, "
    "...)"
)
"""What the door takes, as its error says it."""

Kind = Literal["pandas", "dask", "arrow"]


def _root_module(obj: object) -> str:
    return type(obj).__module__.partition(".")[0]


def recognise(obj: object) -> tuple[Kind, Any]:
    """What ``obj`` is, and the frame to go on with: itself, or a ``pyarrow.Table``.

    Raises
    ------
    TypeError
        ``obj`` is none of the frames taken (a pandas Series, a list, ...).

    Examples
    --------
    >>> import pyarrow as pa
    >>> kind, table = recognise(pa.record_batch([pa.array([1, 2])], names=["x"]))
    >>> kind, table.num_rows
    ('arrow', 2)
    >>> recognise([1, 2])
    Traceback (most recent call last):
    ...
    TypeError: Expected a DataFrame, got builtins.list; nexosis_pandas takes a pandas, Dask or \
polars DataFrame, a polars LazyFrame, a pyarrow Table, RecordBatch, RecordBatchReader or \
dataset, or any object with __arrow_c_stream__ (a DuckDB relation, ...)
    """
    if isinstance(obj, pd.DataFrame):
        return "pandas", obj
    root = _root_module(obj)
    if root == "dask" and hasattr(obj, "npartitions"):
        return "dask", obj
    table = _arrow_table(obj, root)
    if table is None:
        what = f"{type(obj).__module__}.{type(obj).__qualname__}"
        raise TypeError(f"Expected a DataFrame, got {what}; nexosis_pandas takes {TAKEN}")
    return "arrow", table


def _arrow_table(obj: object, root: str) -> pa.Table | None:
    if root == "polars":
        kind = type(obj).__name__
        if kind == "DataFrame":
            table: pa.Table = obj.to_arrow()  # type: ignore[attr-defined]
            return table
        if kind == "LazyFrame":
            collected: pa.Table = obj.collect().to_arrow()  # type: ignore[attr-defined]
            return collected
        return None  # a Series, an expression: not a frame
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    if root == "pyarrow":
        import pyarrow.dataset as ds

        if isinstance(obj, ds.Dataset):
            return obj.to_table()
    if hasattr(type(obj), "__arrow_c_stream__"):
        try:
            return _stream_reader(obj).read_all()
        except (pa.ArrowInvalid, TypeError):  # a stream of one array (a pandas Series), say
            return None
    return None


def _stream_reader(obj: Any) -> pa.RecordBatchReader:
    """The Arrow C stream of ``obj`` as a reader (``from_stream`` is in pyarrow 15, our floor)."""
    reader: pa.RecordBatchReader = pa.RecordBatchReader.from_stream(obj)
    return reader


def table_names(table: pa.Table) -> list[str]:
    """The column names of ``table``, checked as a pandas frame's are: unique and not empty.

    Raises
    ------
    ColumnError
        The table has no columns, or a name is empty or repeated.
    """
    names = [str(n) for n in table.column_names]
    if not names:
        raise ColumnError(
            "The table has no columns, so there is nothing to write. Add at least one column."
        )
    for i, name in enumerate(names):
        if not name.strip():
            raise ColumnError(
                f"Column name {name!r} (position {i}) is empty; column names must be "
                "non-empty; rename it, e.g. table.rename_columns([...]) or "
                "df.rename({...}) in polars.",
                column=name,
            )
        if names.count(name) > 1:
            places = [str(j) for j, n in enumerate(names) if n == name]
            raise ColumnError(
                f"Column name {name!r} appears {len(places)} times (positions "
                f"{', '.join(places)}); column names must be unique. Rename or drop the copies.",
                column=name,
            )
    return names


def encodable_table(table: pa.Table) -> pa.Table:
    """``table`` with its names checked and each dictionary column's chunks sharing one
    dictionary, so a dictionary's values are formatted once for the whole column."""
    table_names(table)
    if any(pa.types.is_dictionary(t) for t in table.schema.types):
        table = table.unify_dictionaries()
    return table
