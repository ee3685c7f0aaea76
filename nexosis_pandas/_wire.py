"""The wire's shapes as Python values: camelCase is read and written here and nowhere else.

Shared by the client and the reference server: the status and column-metadata vocabularies,
the column-metadata defaults, the ``Import`` record, the list ``Page``, the ``ErrorEnvelope``,
the S3, URL and Azure import requests and the import-list query, and the names other
modules must spell on their own (the server's request fields and query parameters). Each
shape the client reads has one way in (``from_wire``, property names matched
case-insensitively, as the hosted API did), each shape one way out (``to_wire``), and
:func:`lookup` is the one case-insensitive property lookup. The import requests only go
out: the server reads them with its pydantic models (``server/http/imports.py``), which draw
the OpenAPI schema and name each wrong field, and take their names from here.

Longer than 400 lines (a quarter of it docstrings) because it is the whole wire vocabulary,
some fifteen shapes with their ways in and out: one module owns every wire name, so that a
reader looking for how a field is spelt, parsed or defaulted finds it here and nowhere else,
and a change to the wire is one diff the client and the reference server both follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import pandas as pd

__all__ = [
    "ACCESS_KEY_ID",
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
    "SORT_FIELDS",
    "SORT_ORDER",
    "START_DATE",
    "USER_ID",
    "Aggregation",
    "AzureImportRequest",
    "ColumnMetadata",
    "DataType",
    "ErrorEnvelope",
    "Import",
    "ImportQuery",
    "ImportStatus",
    "Imputation",
    "Link",
    "Message",
    "Page",
    "ReadProgress",
    "Role",
    "S3ImportRequest",
    "StatusChange",
    "UrlImportRequest",
    "dataset_object",
    "import_object",
    "lookup",
    "lower_keys",
    "page_query",
    "parse_iso_datetime",
    "parse_logical",
    "parse_timestamp",
]


# The wire's names that code outside this module must spell on its own: request fields, path
# and query parameters, the fields a 400 names. The reference server's request models and
# routes take their aliases and query names from here (as module constants, which pydantic's
# type checking reads as the literals it needs), the client reads list items by them. Whole
# objects are written by the shapes' ``to_wire`` below.
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


@dataclass(frozen=True)
class StatusChange:
    """One entry of an import's status history."""

    date: pd.Timestamp
    status: ImportStatus


@dataclass(frozen=True)
class Message:
    """A message the server attached to an import (``severity`` is ``error``, ``warning``...)."""

    severity: str
    message: str


@dataclass(frozen=True)
class Link:
    """A hypermedia link (``rel`` is ``self``, ``data``, ``next``...)."""

    rel: str
    href: str


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


def _status_change(entry: Any) -> StatusChange | None:
    """A ``statusHistory`` entry, or ``None`` when it lacks a usable date or status."""
    if not isinstance(entry, Mapping):
        return None
    fields = lower_keys(entry)
    date, status = fields.get("date"), fields.get("status")
    if date is None or date == "" or not isinstance(status, str) or not status:
        return None
    try:
        stamp = parse_timestamp(date)
    except (ValueError, TypeError, OverflowError):
        return None
    return StatusChange(date=stamp, status=ImportStatus(status))


@dataclass(frozen=True)
class ReadProgress:
    """How far the server has read an import's file (``rowsRead``, ``bytesRead``,
    ``bytesTotal``: fields the reference server adds and the original API did not send).

    Examples
    --------
    >>> ReadProgress(rows_read=500, bytes_read=250, bytes_total=1000).fraction
    0.25
    """

    rows_read: int
    bytes_read: int
    bytes_total: int | None = None

    @property
    def fraction(self) -> float | None:
        """The share of the file read, 0 to 1; ``None`` when its size is unknown."""
        if not self.bytes_total:
            return None
        return min(max(self.bytes_read / self.bytes_total, 0.0), 1.0)


@dataclass(frozen=True)
class Import:
    """An import as the wire describes it, parsed.

    Use :meth:`from_wire` to read the JSON object and :meth:`to_wire` to write it.
    """

    import_id: str
    type: str
    status: ImportStatus
    dataset_name: str
    parameters: dict[str, str] = field(default_factory=dict)
    requested_date: pd.Timestamp | None = None
    status_history: tuple[StatusChange, ...] = ()
    messages: tuple[Message, ...] = ()
    columns: ColumnMetadata = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    progress: ReadProgress | None = None

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Import:
        """Parse an Import JSON object (property names matched case-insensitively).

        A ``statusHistory`` entry without a ``date`` or a ``status`` (or with a date that is
        not one) is skipped rather than failing the whole import: ``status`` still says where
        the import is, and every entry kept has a timestamp to compute durations with.

        Examples
        --------
        >>> wire = {"importId": "a", "status": "started", "statusHistory": [
        ...     {"status": "requested"}, {"date": "2024-01-02T03:04:05Z", "status": "started"}]}
        >>> [h.status.value for h in Import.from_wire(wire).status_history]
        ['started']
        """
        w = lower_keys(wire)
        requested = w.get("requesteddate")
        changes = (_status_change(e) for e in w.get("statushistory") or [])
        history = tuple(c for c in changes if c is not None)
        messages = tuple(
            Message(severity=str(m.get("severity", "")), message=str(m.get("message", "")))
            for m in (lower_keys(e) for e in w.get("messages") or [])
        )
        links = _links(w.get("links"))
        rows_read, bytes_read = _int_or_none(w.get("rowsread")), _int_or_none(w.get("bytesread"))
        progress = (
            ReadProgress(rows_read, bytes_read, _int_or_none(w.get("bytestotal")))
            if rows_read is not None and bytes_read is not None
            else None
        )
        return cls(
            import_id=str(w.get("importid", "")),
            type=str(w.get("type", "")),
            status=ImportStatus(w.get("status") or "requested"),
            dataset_name=str(w.get("datasetname", "")),
            parameters={str(k): str(v) for k, v in (w.get("parameters") or {}).items()},
            requested_date=parse_timestamp(requested) if requested else None,
            status_history=history,
            messages=messages,
            columns=dict(w.get("columns") or {}),
            links=links,
            progress=progress,
        )

    def to_wire(self) -> dict[str, Any]:
        """Write the Import JSON object, as the API sends it."""
        return import_object(
            import_id=self.import_id,
            type=self.type,
            status=self.status.value,
            dataset_name=self.dataset_name,
            parameters=self.parameters,
            requested_date=_iso(self.requested_date) if self.requested_date else None,
            status_history=[(_iso(h.date), h.status.value) for h in self.status_history],
            messages=[(m.severity, m.message) for m in self.messages],
            columns=self.columns,
            links=self.links,
            progress=self.progress,
        )


def import_object(
    *,
    import_id: str,
    type: str,
    status: str,
    dataset_name: str,
    parameters: Mapping[str, str],
    requested_date: str | None,
    status_history: Iterable[tuple[str, str]],
    messages: Iterable[tuple[str, str]],
    columns: Mapping[str, Any],
    links: Iterable[Link] = (),
    progress: ReadProgress | None = None,
) -> dict[str, Any]:
    """The Import JSON object from its fields, dates already in their wire text.

    :meth:`Import.to_wire` writes through it, and so does the server's list of imports, which
    keeps its dates as text and need not parse them to write them again.

    Parameters
    ----------
    status_history
        ``(date, status)`` pairs, oldest first.
    messages
        ``(severity, message)`` pairs.
    progress
        How far the server has read the file: ``rowsRead``, ``bytesRead`` and, when the size
        is known, ``bytesTotal``, fields the original API did not send and its clients ignore.
    """
    wire: dict[str, Any] = {
        IMPORT_ID: import_id,
        "type": type,
        "status": status,
        DATASET_NAME: dataset_name,
        "parameters": dict(parameters),
        "requestedDate": requested_date,
        "statusHistory": [{"date": date, "status": state} for date, state in status_history],
        "messages": [{"severity": severity, "message": text} for severity, text in messages],
        "columns": dict(columns),
        "links": [{"rel": x.rel, "href": x.href} for x in links],
    }
    if progress is not None:
        wire["rowsRead"] = progress.rows_read
        wire["bytesRead"] = progress.bytes_read
        if progress.bytes_total is not None:
            wire["bytesTotal"] = progress.bytes_total
    return wire


def dataset_object(
    *,
    dataset_name: str,
    row_count: int,
    columns: Mapping[str, Mapping[str, Any]],
    links: Iterable[Link] = (),
) -> dict[str, Any]:
    """A dataset's summary as ``GET /data`` lists it and ``PUT /data/{dataSetName}`` answers.

    ``isTimeSeries`` says whether a column has the role ``timestamp``.
    """
    return {
        DATASET_NAME: dataset_name,
        "rowCount": row_count,
        "isTimeSeries": any(spec.get("role") == Role.TIMESTAMP for spec in columns.values()),
        "columns": dict(columns),
        "links": [{"rel": x.rel, "href": x.href} for x in links],
    }


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.isoformat(timespec="microseconds")


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _links(value: Any) -> tuple[Link, ...]:
    return tuple(
        Link(rel=str(lookup(x, "rel", "")), href=str(lookup(x, "href", "")))
        for x in (value if isinstance(value, list) else [])
        if isinstance(x, Mapping)
    )


@dataclass(frozen=True)
class Page:
    """One page of a list: imports (``items``), datasets, or a dataset's rows (``data``).

    ``dataset_name`` and ``columns`` are set on a page of a dataset's rows, which the wire
    writes as ``{"dataSetName", "columns", "data", ...paging}``. The paging fields are
    ``None`` when the server left them out (the original API sent only ``items``).

    Examples
    --------
    >>> page = Page.from_wire({"items": [1, 2], "PageNumber": 0, "totalPages": 2})
    >>> page.items, page.has_next(0, 2)
    ([1, 2], True)
    >>> Page.from_wire([1]).items
    [1]
    """

    items: list[Any]
    page_number: int | None = None
    page_size: int | None = None
    total_count: int | None = None
    total_pages: int | None = None
    links: tuple[Link, ...] = ()
    dataset_name: str | None = None
    columns: ColumnMetadata | None = None

    @classmethod
    def from_wire(cls, body: Any) -> Page | None:
        """Parse a page; a bare list is a page of items; ``None`` when it is neither."""
        if isinstance(body, list):
            return cls(items=body)
        if not isinstance(body, Mapping):
            return None
        w = lower_keys(body)
        items = w.get("items")
        if items is None:
            items = w.get("data")
        columns = w.get("columns")
        name = w.get("datasetname")
        return cls(
            items=items if isinstance(items, list) else [],
            page_number=_int_or_none(w.get("pagenumber")),
            page_size=_int_or_none(w.get("pagesize")),
            total_count=_int_or_none(w.get("totalcount")),
            total_pages=_int_or_none(w.get("totalpages")),
            links=_links(w.get("links")) if isinstance(w.get("links"), list) else (),
            dataset_name=None if name is None else str(name),
            columns=dict(columns) if isinstance(columns, Mapping) else None,
        )

    def to_wire(self) -> dict[str, Any]:
        """Write the page as the API sends it (``data`` for a dataset's rows, else ``items``)."""
        body: dict[str, Any] = {}
        if self.dataset_name is not None:
            body[DATASET_NAME] = self.dataset_name
            body["columns"] = dict(self.columns or {})
            body["data"] = list(self.items)
        else:
            body["items"] = list(self.items)
        body.update(
            pageNumber=self.page_number,
            pageSize=self.page_size,
            totalCount=self.total_count,
            totalPages=self.total_pages,
            links=[{"rel": x.rel, "href": x.href} for x in self.links],
        )
        return body

    def has_next(self, page: int, page_size: int) -> bool:
        """Whether a page follows this one, page number ``page`` asked with ``page_size``.

        By ``totalPages`` when the server sent it; else, when it sent ``links``, by a ``next``
        link; else by whether this page was full.
        """
        if self.total_pages is not None:
            number = page if self.page_number is None else self.page_number
            return number + 1 < self.total_pages
        if self.links:
            return any(link.rel.lower() == "next" for link in self.links)
        return len(self.items) >= page_size


def page_query(page: int, page_size: int) -> dict[str, int]:
    """The query parameters asking for page number ``page`` (zero-based) of ``page_size``."""
    return {PAGE: page, PAGE_SIZE: page_size}


@dataclass(frozen=True)
class ErrorEnvelope:
    """The body of every error answer: ``{statusCode, message, errorType?, errorDetails?}``.

    Examples
    --------
    >>> ErrorEnvelope(404, "No such import", "NotFound", {"itemType": "import"}).to_wire()
    {'statusCode': 404, 'message': 'No such import', 'errorType': 'NotFound', \
'errorDetails': {'itemType': 'import'}}
    >>> ErrorEnvelope.from_wire({"MESSAGE": "Quota Exceeded"}, 429).message
    'Quota Exceeded'
    """

    status_code: int
    message: str
    error_type: str | None = None
    error_details: Mapping[str, Any] | None = None

    @classmethod
    def from_wire(cls, body: Any, status_code: int) -> ErrorEnvelope | None:
        """Parse an error body answered with HTTP ``status_code``; ``None`` if not an object.

        A missing ``message`` is ``""``; ``errorDetails`` that is not an object is kept as
        ``{"details": ...}``.
        """
        if not isinstance(body, Mapping):
            return None
        w = lower_keys(body)
        details = w.get("errordetails")
        if details and not isinstance(details, Mapping):
            details = {"details": details}
        return cls(
            status_code=status_code,
            message=str(w.get("message") or ""),
            error_type=str(w["errortype"]) if w.get("errortype") else None,
            error_details=details or None,
        )

    def to_wire(self) -> dict[str, Any]:
        """Write the envelope; ``errorType`` and ``errorDetails`` only when set."""
        body: dict[str, Any] = {"statusCode": self.status_code, "message": self.message}
        if self.error_type is not None:
            body["errorType"] = self.error_type
        if self.error_details is not None:
            body["errorDetails"] = dict(self.error_details)
        return body


def _optional_fields(body: dict[str, Any], columns: Any, content_type: str | None) -> None:
    """Write the fields every import request may carry, when set."""
    if columns is not None:
        body["columns"] = dict(columns)
    if content_type is not None:
        body[CONTENT_TYPE] = content_type


@dataclass(frozen=True)
class S3ImportRequest:
    """The body of ``POST /imports/s3``.

    ``credentials`` (access key id, secret) is sent only in this request: it is left out of
    the repr and never echoed. ``region`` has no default here: the client's default is its
    ``import_from_s3``'s, and the server tells a region left out from one given.

    Examples
    --------
    >>> S3ImportRequest("sales", "bucket", "a.csv.gz", "us-east-1", content_type="csv").to_wire()
    {'dataSetName': 'sales', 'bucket': 'bucket', 'path': 'a.csv.gz', 'region': \
'us-east-1', 'contentType': 'csv'}
    """

    dataset_name: str
    bucket: str
    path: str
    region: str
    columns: ColumnMetadata | None = None
    content_type: str | None = None
    credentials: tuple[str, str] | None = field(default=None, repr=False)

    def to_wire(self) -> dict[str, Any]:
        """Write the request body; optional fields only when set."""
        body: dict[str, Any] = {
            DATASET_NAME: self.dataset_name,
            "bucket": self.bucket,
            "path": self.path,
            "region": self.region,
        }
        _optional_fields(body, self.columns, self.content_type)
        if self.credentials is not None:
            key, secret = self.credentials
            body[ACCESS_KEY_ID], body[SECRET_ACCESS_KEY] = key, secret
        return body


@dataclass(frozen=True)
class UrlImportRequest:
    """The body of ``POST /imports/url``.

    ``auth`` (user id, password) is sent only in this request: it is left out of the repr,
    and the server never echoes or stores it.

    Examples
    --------
    >>> UrlImportRequest("iris", "https://example.com/iris.csv", auth=("ada", "pw")).to_wire()
    {'dataSetName': 'iris', 'url': 'https://example.com/iris.csv', 'auth': {'basic': \
{'userId': 'ada', 'password': 'pw'}}}
    """

    dataset_name: str
    url: str
    columns: ColumnMetadata | None = None
    content_type: str | None = None
    auth: tuple[str, str] | None = field(default=None, repr=False)

    def to_wire(self) -> dict[str, Any]:
        """Write the request body; optional fields only when set."""
        body: dict[str, Any] = {DATASET_NAME: self.dataset_name, "url": self.url}
        _optional_fields(body, self.columns, self.content_type)
        if self.auth is not None:
            body["auth"] = {"basic": {USER_ID: self.auth[0], "password": self.auth[1]}}
        return body


@dataclass(frozen=True)
class AzureImportRequest:
    """The body of ``POST /imports/azure``.

    The connection string (it holds the account key) is sent only in this request: it is left
    out of the repr, and the server echoes it as ``"redacted"``.

    Examples
    --------
    >>> AzureImportRequest("sales", "AccountName=a;AccountKey=k", "exports", "2017/s.csv")
    AzureImportRequest(dataset_name='sales', container='exports', blob='2017/s.csv', \
columns=None, content_type=None)
    """

    dataset_name: str
    connection_string: str = field(repr=False)
    container: str
    blob: str
    columns: ColumnMetadata | None = None
    content_type: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """Write the request body; optional fields only when set."""
        body: dict[str, Any] = {
            DATASET_NAME: self.dataset_name,
            CONNECTION_STRING: self.connection_string,
            "container": self.container,
            "blob": self.blob,
        }
        _optional_fields(body, self.columns, self.content_type)
        return body


SORT_FIELDS: dict[str, str] = {
    "id": "id",
    "dataset_name": DATASET_NAME,
    "requested_date": "requestedDate",
    "current_status_date": "currentStatusDate",
}
"""``sort_by`` values (Python name to wire name); the wire names are accepted as well."""


@dataclass(frozen=True)
class ImportQuery:
    """The filters of ``GET /imports``, checked, as the query string writes them.

    ``sort_by`` is a key of :data:`SORT_FIELDS`; ``sort_order`` is ``"asc"`` or ``"desc"``.

    Examples
    --------
    >>> ImportQuery(dataset_name="sales", sort_by="requested_date", sort_order="desc").to_wire()
    {'dataSetName': 'sales', 'sortBy': 'requestedDate', 'sortOrder': 'desc'}
    """

    dataset_name: str | None = None
    requested_after: pd.Timestamp | None = None
    requested_before: pd.Timestamp | None = None
    sort_by: str | None = None
    sort_order: str | None = None

    def to_wire(self) -> dict[str, str]:
        """The query parameters; filters left as ``None`` are left out."""
        params: dict[str, str] = {}
        if self.dataset_name is not None:
            params[DATASET_NAME] = self.dataset_name
        if self.requested_after is not None:
            params[REQUESTED_AFTER_DATE] = self.requested_after.isoformat()
        if self.requested_before is not None:
            params[REQUESTED_BEFORE_DATE] = self.requested_before.isoformat()
        if self.sort_by is not None:
            params[SORT_BY] = SORT_FIELDS[self.sort_by]
        if self.sort_order is not None:
            params[SORT_ORDER] = self.sort_order
        return params
