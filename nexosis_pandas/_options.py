"""Options declared once, and the checks of what a caller passes before anything is sent.

The history filters, the roles and the options of an import are each a ``TypedDict`` that the
functions passing the options on take as ``**options: Unpack[...]``, so a parameter is named,
typed and described in one place and a type checker sees every call that forwards it. The
function that acts on them (:func:`nexosis_pandas.import_dataframe`, :meth:`Client.import_history
<nexosis_pandas._client.Client.import_history>`) gives the defaults. The checks below
(:func:`required_text`, :func:`history_query`, :func:`import_id`, :func:`http_url`, ...) raise
the ``ValueError`` that names the argument and the fix, before any request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from nexosis_pandas._wire import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SORT_FIELDS,
    ColumnMetadata,
    ImportQuery,
    parse_timestamp,
)
from nexosis_pandas.columns import column_metadata_to_wire, merge_column_metadata

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._encode.encoder import Compression, Format
    from nexosis_pandas.progress import ProgressArg

__all__ = [
    "MAX_PAGE_SIZE",
    "DateLike",
    "HistoryFilters",
    "ImportOptions",
    "Roles",
    "S3Credentials",
    "UploadOptions",
    "basic_auth",
    "check_names",
    "columns_to_wire",
    "content_type",
    "history_query",
    "http_url",
    "import_id",
    "metadata_to_send",
    "required_text",
    "s3_credentials",
]

MAX_PAGE_SIZE = 1000
"""The most items a page of a list may hold (the API's limit)."""

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


class UploadOptions(TypedDict, total=False):
    """The options of :func:`nexosis_pandas.upload_dataframe` after the frame and the URL;
    they are described there."""

    format: Format | None
    compression: Compression | Literal["infer"]
    index: bool | None
    storage_options: Mapping[str, Any] | None
    fs: Any
    progress: ProgressArg


class ImportOptions(Roles, total=False):
    """The options of :func:`nexosis_pandas.import_dataframe` after the frame, the dataset
    and the S3 URL; they are described there."""

    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None
    wait: bool
    background: bool
    timeout: float | None
    progress: ProgressArg
    client: Client | None
    storage_options: Mapping[str, Any] | None
    fs: Any


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


S3Credentials = Mapping[str, str] | tuple[str, str]
"""S3 credentials: ``(access_key_id, secret_access_key)``, or a mapping with either
``access_key_id``/``secret_access_key``, ``key``/``secret`` (s3fs's storage options) or
``aws_access_key_id``/``aws_secret_access_key``."""

_CREDENTIAL_KEYS = (
    ("access_key_id", "secret_access_key"),
    (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
    ("key", "secret"),
    ("aws_access_key_id", "aws_secret_access_key"),
)


def required_text(name: str, value: Any, *, secret: bool = False) -> str:
    """``value`` when it is a non-empty string; else a ``ValueError`` naming ``name``.

    With ``secret``, the message does not echo the value.
    """
    if not isinstance(value, str) or not value.strip():
        got = "" if secret else f", got {value!r}"
        raise ValueError(f"{name} must be a non-empty string{got}.")
    return value


def import_id(value: Any) -> str:
    """``value`` when it is an import id (a GUID); the message points a dataset name elsewhere."""
    text = required_text("import_id", value)
    try:
        uuid.UUID(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an import id (a GUID such as "
            "015d1d17-2a45-4f61-aa97-f21cc4fd656c); to find the imports of a dataset, use "
            f"import_history(dataset_name={text!r})"
        ) from None
    return text


def columns_to_wire(columns: Mapping[str, Mapping[str, Any]] | None) -> ColumnMetadata | None:
    """Column metadata as an import request sends it, or ``None`` for none."""
    return None if columns is None else column_metadata_to_wire(columns)


def content_type(value: str | None) -> str | None:
    """``"csv"``, ``"json"`` or ``None`` (the server goes by the file's extension)."""
    if value is None:
        return None
    if str(value).lower() not in ("csv", "json"):
        raise ValueError(
            f"content_type must be 'csv' or 'json', got {value!r}; leave it out "
            "to let the server go by the file extension."
        )
    return str(value).lower()


def http_url(url: str) -> str:
    """``url`` when it is an http(s) address with a host and no credentials in it."""
    text = required_text("url", url).strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise ValueError(
            f"url must be an http:// or https:// address with a host, not one with {scheme}; "
            "for S3 use import_from_s3, for Azure import_from_azure."
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "url must not carry a user name or password: pass auth=(user_id, password) instead."
        )
    return text


def basic_auth(auth: Any) -> tuple[str, str]:
    """``(user_id, password)`` when ``auth`` is a pair of strings with a user id."""
    if (
        isinstance(auth, tuple)
        and len(auth) == 2
        and all(isinstance(part, str) for part in auth)
        and auth[0]
    ):
        return auth[0], auth[1]
    # Never echo the values: the second one is a password.
    raise ValueError(
        "auth must be a (user_id, password) pair of strings with a non-empty user_id; "
        f"got a {type(auth).__name__} that is not."
    )


def history_query(filters: HistoryFilters, page_size: int) -> dict[str, Any]:
    """Check the history filters and ``page_size``; write them as the wire's query parameters.

    Raises
    ------
    TypeError
        A filter is not one of :class:`HistoryFilters`, or a date is not date-like.
    ValueError
        A filter or ``page_size`` is invalid; the message names it and what is allowed.
    """
    check_names(filters, HistoryFilters, "import_history")
    dataset_name, sort_by = filters.get("dataset_name"), filters.get("sort_by")
    sort_order = filters.get("sort_order")
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValueError(f"page_size must be an integer from 1 to 1000, got {page_size!r}.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}, got {page_size}.")
    after = _utc_timestamp("requested_after", filters.get("requested_after"))
    before = _utc_timestamp("requested_before", filters.get("requested_before"))
    if after is not None and before is not None and after > before:
        raise ValueError(
            f"requested_after ({after.isoformat()}) is later than requested_before "
            f"({before.isoformat()}), so no import could match; swap them or widen the range."
        )
    order = None if sort_order is None else str(sort_order).lower()
    if order is not None and order not in ("asc", "desc"):
        raise ValueError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}.")
    return ImportQuery(
        dataset_name=None if dataset_name is None else required_text("dataset_name", dataset_name),
        requested_after=after,
        requested_before=before,
        sort_by=None if sort_by is None else _sort_field(sort_by),
        sort_order=order,
    ).to_wire()


def _sort_field(sort_by: str) -> str:
    wanted = str(sort_by).lower()
    for python_name, wire_name in SORT_FIELDS.items():
        if wanted in (python_name, wire_name.lower()):
            return python_name
    options = ", ".join(repr(name) for name in SORT_FIELDS)
    raise ValueError(f"sort_by must be one of {options}, got {sort_by!r}.")


def _utc_timestamp(name: str, value: DateLike | None) -> pd.Timestamp | None:
    if value is None:
        return None
    if not isinstance(value, str | dt.date | np.datetime64):
        raise TypeError(
            f"{name} must be a str, datetime, date or pandas.Timestamp, "
            f"got {type(value).__name__} {value!r}."
        )
    hint = (
        f"{name}={value!r} is not a date; pass ISO-8601 text such as '2024-01-31' or "
        "'2024-01-31T12:00:00+00:00', a datetime, a date or a pandas.Timestamp."
    )
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(hint) from exc


def s3_credentials(credentials: S3Credentials) -> tuple[str, str]:
    """``(access_key_id, secret_access_key)`` from any shape :data:`S3Credentials` allows."""
    if isinstance(credentials, tuple):
        if len(credentials) == 2 and all(isinstance(c, str) and c for c in credentials):
            return credentials[0], credentials[1]
    elif isinstance(credentials, Mapping):
        for key_name, secret_name in _CREDENTIAL_KEYS:
            key, secret = credentials.get(key_name), credentials.get(secret_name)
            if isinstance(key, str) and key and isinstance(secret, str) and secret:
                return key, secret
    # The message names the accepted shapes but never echoes the values: they are secrets.
    raise ValueError(
        "credentials must be (access_key_id, secret_access_key) or a mapping with "
        "access_key_id and secret_access_key (or s3fs's key and secret), both non-empty; "
        f"got a {type(credentials).__name__} that is neither."
    )


def metadata_to_send(
    df: pd.DataFrame,
    metadata: ColumnMetadata,
    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None,
    *,
    target: str | None,
    timestamp: str | None,
    key: str | Sequence[str] | None,
) -> ColumnMetadata | None:
    """The metadata an import sends, by ``columns=`` of :func:`nexosis_pandas.import_dataframe`."""
    if columns is None:
        if target is not None or timestamp is not None or key is not None:
            raise ValueError(
                "columns=None sends no column metadata, so target, timestamp and key would be "
                "ignored; leave columns='infer' to send them."
            )
        return None
    if isinstance(columns, str):
        if columns != "infer":
            raise ValueError(f'columns must be "infer", a mapping or None, not {columns!r}')
        return metadata
    return merge_column_metadata(df, metadata, columns)
