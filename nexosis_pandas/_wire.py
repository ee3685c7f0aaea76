"""The wire's shapes as Python values: camelCase is read and written here and nowhere else.

Shared by the client and the reference server: the status and column-metadata vocabularies,
the column-metadata defaults, and the parsed ``Import`` record.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

__all__ = [
    "COLUMN_DEFAULTS",
    "LOGICAL_VALUES",
    "Aggregation",
    "ColumnMetadata",
    "DataType",
    "Import",
    "ImportStatus",
    "Imputation",
    "Link",
    "Message",
    "Role",
    "StatusChange",
    "column_metadata_to_wire",
    "parse_logical",
    "parse_timestamp",
]


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


_COLUMN_FIELDS: dict[str, tuple[str, type[_LenientEnum]]] = {
    "datatype": ("dataType", DataType),
    "data_type": ("dataType", DataType),
    "role": ("role", Role),
    "imputation": ("imputation", Imputation),
    "aggregation": ("aggregation", Aggregation),
}


def column_metadata_to_wire(columns: Mapping[str, Mapping[str, Any]]) -> ColumnMetadata:
    """Check column metadata and write it as the wire has it (camelCase names, enum values).

    Field names may be ``dataType`` or ``data_type`` in any case; values may be enum members or
    their text in any case; ``None`` leaves a field unset.

    Raises
    ------
    ColumnError
        A column's spec is not a mapping, or has an unknown field or value; the message names
        the column and lists what is allowed.

    Examples
    --------
    >>> column_metadata_to_wire({"units": {"data_type": "NUMERICMEASURE", "role": Role.TARGET}})
    {'units': {'dataType': 'numericMeasure', 'role': 'target'}}
    """
    from nexosis_pandas.exceptions import ColumnError

    if not isinstance(columns, Mapping):
        raise ColumnError(
            "columns must map column names to {'dataType': ..., 'role': ..., ...}, "
            f"not {type(columns).__name__}."
        )
    wire: ColumnMetadata = {}
    for name, spec in columns.items():
        if not isinstance(spec, Mapping):
            raise ColumnError(
                f"columns[{name!r}] must be a mapping such as {{'dataType': 'numeric'}}, "
                f"not {spec!r}.",
                column=name,
            )
        entry: dict[str, str] = {}
        for field_name, value in spec.items():
            known = _COLUMN_FIELDS.get(str(field_name).lower())
            if known is None:
                raise ColumnError(
                    f"columns[{name!r}] has the unknown field {field_name!r}; use dataType, "
                    "role, imputation or aggregation.",
                    column=name,
                )
            wire_name, vocabulary = known
            if value is None:
                continue
            try:
                entry[wire_name] = vocabulary(value).value
            except ValueError:
                allowed = {m.value.lower(): m.value for m in vocabulary}
                close = difflib.get_close_matches(str(value).lower(), allowed, n=1)
                hint = f" Did you mean {allowed[close[0]]!r}?" if close else ""
                raise ColumnError(
                    f"columns[{name!r}] has {wire_name}={value!r}, which is not one of: "
                    f"{', '.join(allowed.values())}.{hint}",
                    column=name,
                ) from None
        wire[str(name)] = entry
    return wire


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


def _lower_keys(wire: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in wire.items()}


def _status_change(entry: Any) -> StatusChange | None:
    """A ``statusHistory`` entry, or ``None`` when it lacks a usable date or status."""
    if not isinstance(entry, Mapping):
        return None
    fields = _lower_keys(entry)
    date, status = fields.get("date"), fields.get("status")
    if date is None or date == "" or not isinstance(status, str) or not status:
        return None
    try:
        stamp = parse_timestamp(date)
    except (ValueError, TypeError, OverflowError):
        return None
    return StatusChange(date=stamp, status=ImportStatus(status))


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
        w = _lower_keys(wire)
        requested = w.get("requesteddate")
        changes = (_status_change(e) for e in w.get("statushistory") or [])
        history = tuple(c for c in changes if c is not None)
        messages = tuple(
            Message(severity=str(m.get("severity", "")), message=str(m.get("message", "")))
            for m in (_lower_keys(e) for e in w.get("messages") or [])
        )
        links = tuple(
            Link(rel=str(x.get("rel", "")), href=str(x.get("href", "")))
            for x in (_lower_keys(e) for e in w.get("links") or [])
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
        )

    def to_wire(self) -> dict[str, Any]:
        """Write the Import JSON object, as the API sends it."""
        return {
            "importId": self.import_id,
            "type": self.type,
            "status": self.status.value,
            "dataSetName": self.dataset_name,
            "parameters": dict(self.parameters),
            "requestedDate": _iso(self.requested_date) if self.requested_date else None,
            "statusHistory": [
                {"date": _iso(h.date), "status": h.status.value} for h in self.status_history
            ],
            "messages": [{"severity": m.severity, "message": m.message} for m in self.messages],
            "columns": dict(self.columns),
            "links": [{"rel": x.rel, "href": x.href} for x in self.links],
        }


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.isoformat(timespec="microseconds")
