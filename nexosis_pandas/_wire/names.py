"""The wire's names and vocabulary: the property names other modules spell, and the values.

The camelCase names of request fields and query parameters, as constants; the status and
column-metadata vocabularies (:class:`ImportStatus`, :class:`DataType`, :class:`Role`,
:class:`Imputation`, :class:`Aggregation`) with the defaults each data type gets; how a
logical value and a date are written; and :func:`lookup`, the one case-insensitive property
lookup every shape reads with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import pandas as pd

__all__ = [
    "ACCESS_KEY_ID",
    "ARROW_STREAM",
    "COLUMN_DEFAULTS",
    "CONNECTION_STRING",
    "CONTENT_TYPE",
    "DATASET_ITEM",
    "DATASET_NAME",
    "DATA_TYPE",
    "END_DATE",
    "IMPORT_ID",
    "ITEM_ID",
    "ITEM_TYPE",
    "LOGICAL_VALUES",
    "PAGE",
    "PAGE_SIZE",
    "PARTIAL_NAME",
    "QUERY_NAMES",
    "REQUESTED_AFTER_DATE",
    "REQUESTED_BEFORE_DATE",
    "SECRET_ACCESS_KEY",
    "SORT_BY",
    "SORT_ORDER",
    "START_DATE",
    "USER_ID",
    "Aggregation",
    "ColumnMetadata",
    "DataType",
    "ImportStatus",
    "Imputation",
    "Role",
    "lookup",
    "lower_keys",
    "parse_iso_datetime",
    "parse_logical",
    "parse_timestamp",
]


ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
"""The bulk media type the reference server offers a client that asks for it (``Accept``): a
dataset's rows and the import history as one Arrow IPC stream. The hosted API sent JSON only."""

# The wire's names that code outside this package must spell on its own: request fields, path
# and query parameters, the fields a 400 names. The reference server's request models and
# routes take their aliases and query names from here (as module constants, which pydantic's
# type checking reads as the literals it needs), the client reads list items by them. Whole
# objects are written by the shapes' ``to_wire`` (in .records, .envelope and .requests).
DATASET_NAME: Final = "dataSetName"
DATA_TYPE: Final = "dataType"
CONTENT_TYPE: Final = "contentType"
ACCESS_KEY_ID: Final = "accessKeyId"
SECRET_ACCESS_KEY: Final = "secretAccessKey"  # noqa: S105 (a field name, not a secret)
USER_ID: Final = "userId"
CONNECTION_STRING: Final = "connectionString"
IMPORT_ID: Final = "importId"
REQUESTED_AFTER_DATE: Final = "requestedAfterDate"
REQUESTED_BEFORE_DATE: Final = "requestedBeforeDate"
SORT_BY: Final = "sortBy"
SORT_ORDER: Final = "sortOrder"
PAGE: Final = "page"
PAGE_SIZE: Final = "pageSize"
PARTIAL_NAME: Final = "partialName"
START_DATE: Final = "startDate"
END_DATE: Final = "endDate"
ITEM_TYPE: Final = "itemType"
"""Of a ``404``'s ``errorDetails``: ``import``, ``dataSet`` (:data:`DATASET_ITEM`) or ``route``."""
ITEM_ID: Final = "itemId"
DATASET_ITEM: Final = "dataSet"

QUERY_NAMES: Final = (
    DATASET_NAME,
    REQUESTED_AFTER_DATE,
    REQUESTED_BEFORE_DATE,
    PAGE,
    PAGE_SIZE,
    SORT_BY,
    SORT_ORDER,
    PARTIAL_NAME,
    START_DATE,
    END_DATE,
)
"""Every query parameter of the API."""


class _LenientEnum(StrEnum):
    """A str enum that matches values case-insensitively."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


class ImportStatus(_LenientEnum):
    """The state of an import.

    Values the API may add later (``cancellationPending`` is one it used) never fail to parse:
    an unknown value becomes a member named ``UNKNOWN`` that keeps the server's text.

    Examples
    --------
    >>> ImportStatus("Completed").is_terminal
    True
    >>> ImportStatus("somethingNew").value
    'somethingNew'
    """

    REQUESTED = "requested"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCELLATION_PENDING = "cancellationPending"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        known = super()._missing_(value)
        if known is not None or not isinstance(value, str):
            return known
        unknown = str.__new__(cls, value)
        unknown._name_ = "UNKNOWN"
        unknown._value_ = value
        return unknown

    @property
    def is_terminal(self) -> bool:
        """Whether the import has ended (``completed``, ``failed`` or ``cancelled``)."""
        return self in (ImportStatus.COMPLETED, ImportStatus.FAILED, ImportStatus.CANCELLED)


class DataType(_LenientEnum):
    """A column's data type."""

    STRING = "string"
    NUMERIC = "numeric"
    NUMERIC_MEASURE = "numericMeasure"
    LOGICAL = "logical"
    DATE = "date"
    TEXT = "text"


class Role(_LenientEnum):
    """A column's role in a dataset."""

    NONE = "none"
    TIMESTAMP = "timestamp"
    TARGET = "target"
    FEATURE = "feature"
    KEY = "key"


class Imputation(_LenientEnum):
    """How missing values of a column are filled."""

    ZEROES = "zeroes"
    MEAN = "mean"
    MEDIAN = "median"
    MODE = "mode"
    MIN = "min"
    MAX = "max"


class Aggregation(_LenientEnum):
    """How values of a column are aggregated over time."""

    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    MODE = "mode"
    MIN = "min"
    MAX = "max"


ColumnMetadata = dict[str, dict[str, str]]
"""Column name to ``{"dataType": ..., "role": ..., "imputation": ..., "aggregation": ...}``."""

COLUMN_DEFAULTS: dict[DataType, tuple[Imputation | None, Aggregation | None]] = {
    DataType.NUMERIC: (Imputation.ZEROES, Aggregation.SUM),
    DataType.NUMERIC_MEASURE: (Imputation.MEAN, Aggregation.MEAN),
    DataType.LOGICAL: (Imputation.MODE, Aggregation.MODE),
    DataType.STRING: (Imputation.MODE, Aggregation.MODE),
    DataType.DATE: (None, None),
    DataType.TEXT: (Imputation.MODE, None),
}
"""The imputation and aggregation each data type gets when none is given (spec: Defaults)."""


LOGICAL_VALUES: dict[str, bool] = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "on": True,
    "off": False,
    "yes": True,
    "no": False,
}
"""The texts a logical value may be (lower case; spec: True/False, 1/0, On/Off, Yes/No)."""


def parse_logical(value: Any) -> bool | None:
    """The boolean a logical value stands for, or ``None`` when it is not one.

    Text is one of :data:`LOGICAL_VALUES` in any case, with surrounding blanks ignored; a
    number is ``1`` or ``0``; a ``bool`` is itself. Anything else, ``None`` included, is
    ``None``. The server checks and renders logical columns with it, and the client reads
    them back with it.

    Examples
    --------
    >>> parse_logical("Yes"), parse_logical(" off "), parse_logical(0), parse_logical("maybe")
    (True, False, False, None)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        return LOGICAL_VALUES.get(value.strip().lower())
    return None


def parse_timestamp(value: Any) -> pd.Timestamp:
    """Parse an ISO-8601 wire date (6 or 7 fractional digits) to a UTC ``Timestamp``.

    A value without an offset is taken as UTC. Anything ``pandas.Timestamp`` reads is accepted
    (a ``datetime``, a ``date``, a ``numpy.datetime64``).

    Raises
    ------
    ValueError
        The value is not a date, or stands for a missing one (``NaT``, ``None``).

    Examples
    --------
    >>> parse_timestamp("2017-07-07T12:47:24.8153474+00:00")
    Timestamp('2017-07-07 12:47:24.815347400+0000', tz='UTC')
    """
    parsed: Any = pd.Timestamp(value)  # NaT for "NaT", "" and None, though typed Timestamp
    if parsed is pd.NaT:
        raise ValueError(f"{value!r} is a missing date, not a date")
    stamp: pd.Timestamp = parsed
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC")


def parse_iso_datetime(value: Any) -> datetime | None:
    """ISO-8601 text as a ``datetime`` with its offset (UTC when it has none), else ``None``.

    Python's parser, to the microsecond, for any year from 1 to 9999 (pandas' nanosecond
    timestamps end in 2262).

    Examples
    --------
    >>> parse_iso_datetime("2020-01-02 03:04:05")
    datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    >>> parse_iso_datetime("soon") is None
    True
    """
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def lower_keys(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object with its property names lower-cased, for case-insensitive reading."""
    return {str(k).lower(): v for k, v in wire.items()}


def lookup(wire: Any, name: str, default: Any = None) -> Any:
    """The property ``name`` of a JSON object, matched case-insensitively.

    ``default`` when ``wire`` is not an object or has no such property.

    Examples
    --------
    >>> lookup({"DataSetName": "sales"}, "dataSetName")
    'sales'
    >>> lookup(["not", "an", "object"], "dataSetName", "?")
    '?'
    """
    if isinstance(wire, Mapping):
        wanted = name.lower()
        for key, value in wire.items():
            if str(key).lower() == wanted:
                return value
    return default
