"""Which library a dataset's rows come back in: ``backend="pandas" | "polars" | "pyarrow"``.

The spelling is narwhals' (``narwhals.from_dict(..., backend="polars")``,
``narwhals.read_csv(..., backend=)``), whose names are the libraries' own module names, so a
user guesses it from the import they already wrote. pandas' ``dtype_backend="pyarrow"``
means another thing (a pandas frame with Arrow dtypes) and is not borrowed.

The pandas frame is built by :mod:`nexosis_pandas._frames`; the Arrow table, and the polars
frame made from it by ``polars.from_arrow``, by :mod:`nexosis_pandas._tables`, without pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pyarrow as pa

from nexosis_pandas._frames import arrow_frame, dataset_frame
from nexosis_pandas._tables import dataset_table, rows_table

__all__ = ["BACKENDS", "Backend", "check_backend", "from_rows", "from_table"]

Backend = Literal["pandas", "polars", "pyarrow"]
BACKENDS: tuple[Backend, ...] = ("pandas", "polars", "pyarrow")


def check_backend(backend: object) -> Backend:
    """``backend`` when it is one of :data:`BACKENDS` (and its library is installed).

    Raises
    ------
    ValueError
        ``backend`` is none of them.
    ImportError
        ``backend="polars"`` and polars is not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}, not {backend!r}"
        )
    if backend == "polars":
        _polars()
    chosen: Backend = backend
    return chosen


def from_table(table: pa.Table, columns: Mapping[str, Any], backend: Backend) -> Any:
    """The dataset's rows (text columns) typed by ``columns``, in ``backend``'s frame."""
    if backend == "pandas":
        return arrow_frame(table, columns)
    return _arrow_as(dataset_table(table, columns), backend)


def from_rows(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, Any], backend: Backend
) -> Any:
    """The dataset's JSON rows typed by ``columns``, in ``backend``'s frame."""
    if backend == "pandas":
        return dataset_frame(rows, columns)
    return _arrow_as(rows_table(rows, columns), backend)


def _arrow_as(table: pa.Table, backend: Backend) -> Any:
    if backend == "polars":
        return _polars().from_arrow(table)
    return table


def _polars() -> Any:
    try:
        import polars
    except ImportError:
        raise ImportError(
            "backend='polars' needs polars: pip install polars (or nexosis-pandas[polars])"
        ) from None
    return polars
