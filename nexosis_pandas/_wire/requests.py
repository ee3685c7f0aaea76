"""The requests the client sends: the S3, URL and Azure import bodies, and the list query.

They only go out. The server reads them with its pydantic models
(``server/http/imports.py``), which draw the OpenAPI schema, name each wrong field, and take
their names from :mod:`nexosis_pandas._wire.names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from nexosis_pandas._wire.names import (
    ACCESS_KEY_ID,
    CONNECTION_STRING,
    CONTENT_TYPE,
    DATASET_NAME,
    REQUESTED_AFTER_DATE,
    REQUESTED_BEFORE_DATE,
    SECRET_ACCESS_KEY,
    SORT_BY,
    SORT_ORDER,
    USER_ID,
    ColumnMetadata,
)

__all__ = [
    "SORT_FIELDS",
    "AzureImportRequest",
    "ImportQuery",
    "S3ImportRequest",
    "UrlImportRequest",
]


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
