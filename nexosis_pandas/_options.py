"""Options declared once: the history filters, the roles, and the options of an import.

Each is a ``TypedDict`` that the functions passing the options on take as
``**options: Unpack[...]``, so a parameter is named, typed and described in one place and a
type checker sees every call that forwards it. The function that acts on them
(:func:`nexosis_pandas.import_dataframe`, :meth:`Client.import_history
<nexosis_pandas._client.Client.import_history>`) gives the defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas.progress import ProgressArg

__all__ = ["DateLike", "HistoryFilters", "ImportOptions", "Roles", "check_names"]

DateLike = str | dt.datetime | dt.date | pd.Timestamp | np.datetime64
"""A date filter: ISO-8601 text, a ``datetime``, a ``date`` or a ``Timestamp``; naive is UTC."""


class HistoryFilters(TypedDict, total=False):
    """Which imports a history or a listing holds, and in which order; every filter optional.

    Attributes
    ----------
    dataset_name
        Only imports into this dataset (exact name).
    requested_after, requested_before
        Only imports requested in this range (inclusive). Text, ``datetime``, ``date`` or
        ``Timestamp``; a value without a time zone is UTC, a ``date`` is its midnight.
    sort_by
        ``"id"``, ``"dataset_name"``, ``"requested_date"`` or ``"current_status_date"``.
    sort_order
        ``"asc"`` or ``"desc"``.
    """

    dataset_name: str | None
    requested_after: DateLike | None
    requested_before: DateLike | None
    sort_by: str | None
    sort_order: Literal["asc", "desc"] | None


class Roles(TypedDict, total=False):
    """The columns given a role in the column metadata.

    Attributes
    ----------
    target
        The column to predict; it must be numeric or logical.
    timestamp
        The column that places rows in time; it must hold datetimes.
    key
        The column (or columns) that identify a row, together with the timestamp when one is
        given; no missing values, no duplicates. An import into an existing dataset replaces
        the rows with the same key.
    """

    target: str | None
    timestamp: str | None
    key: str | Sequence[str] | None


class ImportOptions(Roles, total=False):
    """The options of :func:`nexosis_pandas.import_dataframe` after the frame, the dataset
    and the S3 URL; they are described there."""

    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None
    wait: bool
    timeout: float | None
    progress: ProgressArg
    client: Client | None
    storage_options: Mapping[str, Any] | None


def check_names(options: Mapping[str, Any], allowed: type[Any], function: str) -> None:
    """Raise the ``TypeError`` Python raises for an unknown keyword argument.

    ``**options`` takes any name at run time; a misspelt filter must not be dropped quietly.

    Examples
    --------
    >>> check_names({"dataset_nme": "x"}, HistoryFilters, "import_history")
    Traceback (most recent call last):
    ...
    TypeError: import_history() got an unexpected keyword argument 'dataset_nme'; \
it takes dataset_name, requested_after, requested_before, sort_by, sort_order
    """
    known = allowed.__required_keys__ | allowed.__optional_keys__
    for name in options:
        if name not in known:
            raise TypeError(
                f"{function}() got an unexpected keyword argument {name!r}; it takes "
                f"{', '.join(allowed.__annotations__)}"
            )
