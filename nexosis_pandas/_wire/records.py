"""The records the wire carries: an import (:class:`Import`), a dataset's summary, a list page.

Each record the client reads has one way in (``from_wire``, property names matched
case-insensitively, as the hosted API did) and one way out (``to_wire``, which the reference
server answers with).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nexosis_pandas._wire.names import (
    DATASET_NAME,
    IMPORT_ID,
    PAGE,
    PAGE_SIZE,
    ColumnMetadata,
    ImportStatus,
    Role,
    lookup,
    lower_keys,
    parse_timestamp,
)

__all__ = [
    "Import",
    "Link",
    "Message",
    "Page",
    "ReadProgress",
    "StatusChange",
    "dataset_object",
    "import_object",
    "page_query",
]


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
