"""The wire's shapes as Python values: camelCase is read and written here and nowhere else.

Shared by the client and the reference server. One module per kind of thing:

- :mod:`~nexosis_pandas._wire.names`: the names other modules must spell on their own (the
  server's request fields and query parameters), the status and column-metadata vocabularies
  with the column-metadata defaults, how logical values and dates are written, and
  :func:`lookup`, the one case-insensitive property lookup;
- :mod:`~nexosis_pandas._wire.records`: the ``Import`` record, a dataset's summary and the list
  ``Page``;
- :mod:`~nexosis_pandas._wire.envelope`: the ``ErrorEnvelope`` of every error answer;
- :mod:`~nexosis_pandas._wire.requests`: the S3, URL and Azure import requests and the
  import-list query.

Each shape the client reads has one way in (``from_wire``, property names matched
case-insensitively, as the hosted API did), each shape one way out (``to_wire``). The import
requests only go out: the server reads them with its pydantic models
(``server/http/imports.py``), which draw the OpenAPI schema and name each wrong field, and take
their names from here. Everything is importable from this package, as it was from the single
module it replaces, so a change to the wire is still one diff that the client and the
reference server both follow.
"""

from nexosis_pandas._wire.envelope import (
    ErrorEnvelope,
)
from nexosis_pandas._wire.names import (
    ACCESS_KEY_ID,
    ARROW_STREAM,
    COLUMN_DEFAULTS,
    CONNECTION_STRING,
    CONTENT_TYPE,
    DATA_TYPE,
    DATASET_ITEM,
    DATASET_NAME,
    END_DATE,
    IMPORT_ID,
    ITEM_ID,
    ITEM_TYPE,
    LOGICAL_VALUES,
    PAGE,
    PAGE_SIZE,
    PARTIAL_NAME,
    QUERY_NAMES,
    REQUESTED_AFTER_DATE,
    REQUESTED_BEFORE_DATE,
    SECRET_ACCESS_KEY,
    SORT_BY,
    SORT_ORDER,
    START_DATE,
    USER_ID,
    Aggregation,
    ColumnMetadata,
    DataType,
    ImportStatus,
    Imputation,
    Role,
    lookup,
    lower_keys,
    parse_iso_datetime,
    parse_logical,
    parse_timestamp,
)
from nexosis_pandas._wire.records import (
    Import,
    Link,
    Message,
    Page,
    ReadProgress,
    StatusChange,
    dataset_object,
    import_object,
    page_query,
)
from nexosis_pandas._wire.requests import (
    SORT_FIELDS,
    AzureImportRequest,
    ImportQuery,
    S3ImportRequest,
    UrlImportRequest,
)

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
