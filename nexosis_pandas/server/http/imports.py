"""The imports resource: ``POST /imports/s3``, ``/imports/url`` and ``/imports/azure``,
``GET /imports/{importId}``, ``GET /imports``.

What may hold a secret (S3 keys, a URL and its basic-auth password, an Azure connection string)
goes to the pool in memory for that import's run; the stored ``parameters`` are what the API
echoes: ``{bucket, path, region}``, ``{url}`` cut to scheme and host, and
``{connectionString: "redacted", container, blob}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from nexosis_pandas._wire import (
    ACCESS_KEY_ID,
    ARROW_STREAM,
    CONNECTION_STRING,
    CONTENT_TYPE,
    DATA_TYPE,
    DATASET_NAME,
    IMPORT_ID,
    REQUESTED_AFTER_DATE,
    REQUESTED_BEFORE_DATE,
    SECRET_ACCESS_KEY,
    SORT_BY,
    SORT_FIELDS,
    SORT_ORDER,
    USER_ID,
    Import,
    ImportStatus,
    Link,
    ReadProgress,
    parse_timestamp,
)
from nexosis_pandas.server.columns import (
    ColumnSpec,
    MetadataError,
    shown_columns,
    validate_metadata,
)
from nexosis_pandas.server.http.deps import PagingDep, PoolDep, StoreDep, api_base
from nexosis_pandas.server.http.envelope import (
    NexosisJSONResponse,
    invalid_date_range,
    invalid_metadata,
    not_found,
    validation_error,
)
from nexosis_pandas.server.sources.azure import AzureTarget
from nexosis_pandas.server.sources.s3 import Credentials
from nexosis_pandas.server.sources.url import BasicAuth, UrlTarget, check_url, shown_url
from nexosis_pandas.server.store import IMPORT_SORT_COLUMNS
from nexosis_pandas.server.store.registry import HISTORY_FIELDS

__all__ = [
    "MAX_NAME_LENGTH",
    "ImportAzureRequest",
    "ImportS3Request",
    "ImportUrlRequest",
    "LenientModel",
    "import_wire",
    "router",
]

MAX_NAME_LENGTH = 1000
"""The longest dataset name: longer ones would make URLs HTTP servers refuse."""

router = APIRouter(tags=["imports"])


class LenientModel(BaseModel):
    """A request body whose property names match case-insensitively and where ``""`` is unset.

    The server reads the import requests with these models rather than with ``_wire``'s
    request objects (which the client writes): pydantic draws their OpenAPI schema and names
    each wrong field in the ``400``, and the routes must see what the client's objects never
    leave out, a region not given or one credential without the other. Their camelCase
    aliases come from :mod:`~nexosis_pandas._wire`'s name constants.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        names = {
            (f.alias or name).lower(): (f.alias or name) for name, f in cls.model_fields.items()
        }
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = names.get(str(key).lower())
            if name is not None and value is not None and value != "":
                out[name] = value
        return out


class _ImportRequest(LenientModel):
    """What every import request has: the dataset, its column metadata, the content type."""

    dataset_name: str = Field(
        alias=DATASET_NAME,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        examples=["Location-A"],
        description="The dataset's name; it is part of the dataset's URL, hence the limit",
    )
    columns: dict[str, Any] | None = Field(
        default=None,
        description=f"Column metadata: name to {{{DATA_TYPE}, role, imputation, aggregation}}",
    )
    content_type: str | None = Field(
        default=None,
        alias=CONTENT_TYPE,
        description='"csv" or "json"; else the extension, the served type, the first bytes',
    )


class ImportS3Request(_ImportRequest):
    """The body of ``POST /imports/s3``."""

    bucket: str = Field(min_length=1, examples=["nexosis-sample-data"])
    path: str = Field(min_length=1, examples=["LocationA.csv"])
    region: str | None = Field(default=None, examples=["us-east-1"])
    access_key_id: SecretStr | None = Field(default=None, alias=ACCESS_KEY_ID)
    secret_access_key: SecretStr | None = Field(default=None, alias=SECRET_ACCESS_KEY)


class BasicCredentials(LenientModel):
    """``auth.basic`` of ``POST /imports/url``."""

    user_id: str = Field(alias=USER_ID, min_length=1)
    password: SecretStr = Field(default=SecretStr(""))


class UrlAuth(LenientModel):
    """``auth`` of ``POST /imports/url``: basic authentication only, as the API had."""

    basic: BasicCredentials


class ImportUrlRequest(_ImportRequest):
    """The body of ``POST /imports/url``."""

    url: str = Field(
        min_length=1,
        examples=["https://example.com/data/iris.csv"],
        description="An http(s) URL; echoed as its scheme and host only",
    )
    auth: UrlAuth | None = Field(
        default=None, description=f"{{basic: {{{USER_ID}, password}}}}; never stored or echoed"
    )


class ImportAzureRequest(_ImportRequest):
    """The body of ``POST /imports/azure``."""

    connection_string: SecretStr = Field(
        alias=CONNECTION_STRING,
        description="The storage account's connection string; never stored, echoed redacted",
    )
    container: str = Field(min_length=1, examples=["exports"])
    blob: str = Field(min_length=1, examples=["2017/sales.csv.gz"], description="Folders included")


def import_wire(
    record: Import, request: Request, progress: ReadProgress | None = None
) -> dict[str, Any]:
    """An import as the API sends it, with its ``self`` and ``data`` links.

    ``progress`` (how far the server has read the file) is added once the import has read
    something.
    """
    links = _links(request, record.import_id, record.dataset_name)
    shown = shown_columns(record.columns)
    return replace(record, links=links, columns=shown, progress=progress).to_wire()  # type: ignore[arg-type]


def _links(request: Request, import_id: str, dataset_name: str) -> tuple[Link, Link]:
    base = api_base(request)
    return Link("self", f"{base}/imports/{import_id}"), Link("data", f"{base}/data/{dataset_name}")


def _status_header(status: ImportStatus) -> dict[str, str]:
    value = status.value
    return {"Nexosis-Import-Status": value[:1].upper() + value[1:]}


def import_response(
    record: Import, request: Request, progress: ReadProgress | None = None
) -> Response:
    """The import as a response, with its ``Nexosis-Import-Status`` header."""
    return NexosisJSONResponse(
        import_wire(record, request, progress), headers=_status_header(record.status)
    )


def request_columns(raw: Any) -> dict[str, ColumnSpec]:
    """The request's column metadata, validated; a ``400 InvalidColumnMetadata`` if wrong."""
    try:
        return validate_metadata(raw)
    except MetadataError as exc:
        raise invalid_metadata(exc.details) from None


def request_content_type(raw: str | None, details: dict[str, list[str]]) -> str | None:
    """The request's ``contentType``, lower-cased; a reason in ``details`` if it is invalid."""
    content_type = raw.strip().lower() if raw else None
    if content_type is not None and content_type not in ("csv", "json"):
        details[CONTENT_TYPE] = [f"The value {raw!r} is not valid; use csv or json."]
    return content_type


@router.post("/imports/s3", summary="Import a CSV or JSON file from S3")
def import_from_s3(
    body: ImportS3Request, request: Request, store: StoreDep, pool: PoolDep
) -> Response:
    details: dict[str, list[str]] = {}
    if (body.access_key_id is None) != (body.secret_access_key is None):
        missing = SECRET_ACCESS_KEY if body.secret_access_key is None else ACCESS_KEY_ID
        details[missing] = [f"The {missing} field is required when the other credential is given."]
    credentials = (
        Credentials(
            body.access_key_id.get_secret_value(), body.secret_access_key.get_secret_value()
        )
        if body.access_key_id is not None and body.secret_access_key is not None
        else None
    )
    region = body.region or pool.s3.region or "us-east-1"
    parameters = {"bucket": body.bucket, "path": body.path, "region": region}
    return _start(body, request, store, pool, "s3", parameters, credentials, details)


@router.post("/imports/url", summary="Import a CSV or JSON file from an http(s) URL")
def import_from_url(
    body: ImportUrlRequest, request: Request, store: StoreDep, pool: PoolDep
) -> Response:
    details: dict[str, list[str]] = {}
    url = body.url.strip()
    problem = check_url(url)
    if problem is not None:
        details["url"] = [problem]
    auth = (
        BasicAuth(body.auth.basic.user_id, body.auth.basic.password.get_secret_value())
        if body.auth is not None
        else None
    )
    parameters = {"url": shown_url(url)}
    return _start(body, request, store, pool, "url", parameters, UrlTarget(url, auth), details)


@router.post("/imports/azure", summary="Import a CSV or JSON blob from Azure Blob Storage")
def import_from_azure(
    body: ImportAzureRequest, request: Request, store: StoreDep, pool: PoolDep
) -> Response:
    details: dict[str, list[str]] = {}
    connection_string = body.connection_string.get_secret_value().strip()
    if not connection_string:
        details[CONNECTION_STRING] = [f"The {CONNECTION_STRING} field is required."]
    parameters = {
        CONNECTION_STRING: "redacted",
        "container": body.container,
        "blob": body.blob,
    }
    target = AzureTarget(connection_string)
    return _start(body, request, store, pool, "azure", parameters, target, details)


def _start(
    body: _ImportRequest,
    request: Request,
    store: StoreDep,
    pool: PoolDep,
    import_type: str,
    parameters: dict[str, str],
    credentials: Any,
    details: dict[str, list[str]],
) -> Response:
    """Every import's one way in: check what all have, record it, queue it, answer.

    ``details`` holds what the route found wrong with its own fields: one ``400`` names them
    all, with the content type's problem, after any problem with the column metadata.
    """
    columns = request_columns(body.columns)
    content_type = request_content_type(body.content_type, details)
    if details:
        raise validation_error(details)
    record = store.create_import(
        import_id=str(uuid.uuid4()),
        dataset_name=body.dataset_name,
        parameters=parameters,
        columns=columns,
        content_type=content_type,
        import_type=import_type,
    )
    pool.submit(record.import_id, credentials)
    return import_response(record, request)


ImportIdPath = Annotated[str, Path(alias=IMPORT_ID, description="The import's id (a GUID)")]


@router.get(f"/imports/{{{IMPORT_ID}}}", summary="One import and its status")
def get_import(raw: ImportIdPath, request: Request, store: StoreDep) -> Response:
    try:
        import_id = str(uuid.UUID(raw))
    except ValueError:
        raise validation_error({IMPORT_ID: [f"The value '{raw}' is not valid for Guid."]}) from None
    record = store.get_import(import_id)
    if record is None:
        raise not_found("import", raw)
    return import_response(record, request, store.progress([import_id]).get(import_id))


def date_range(
    low_name: str, low: str | None, high_name: str, high: str | None
) -> tuple[str | None, str | None]:
    """Two date query parameters, the range's ends, in the store's form.

    A ``400 InvalidDateRange`` names the parameter that is not a date, or ``low_name`` when
    the range ends before it starts.
    """

    def parsed(name: str, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            stamp = parse_timestamp(value)
        except (ValueError, TypeError):
            raise invalid_date_range(
                name, f"The value {value!r} is not a valid ISO-8601 date."
            ) from None
        return str(stamp.isoformat(timespec="microseconds"))

    start, end = parsed(low_name, low), parsed(high_name, high)
    if start is not None and end is not None and start > end:
        raise invalid_date_range(low_name, f"{low} is later than {high}.")
    return start, end


@router.get(
    "/imports",
    summary="List imports, filtered and paged (the history as Arrow on request)",
    description=(
        "A page of imports as JSON. With `Accept: application/vnd.apache.arrow.stream` (the "
        "bulk format of `GET /data/{dataSetName}`) the answer is every matching import from "
        "the page on, one row each, as an Arrow IPC stream of the client's history columns "
        "(an extension of this server; the hosted API did not offer it)."
    ),
    responses={200: {"content": {"application/vnd.apache.arrow.stream": {}}}},
)
def list_imports(
    request: Request,
    store: StoreDep,
    paging: PagingDep,
    dataset_name: Annotated[str | None, Query(alias=DATASET_NAME)] = None,
    requested_after: Annotated[str | None, Query(alias=REQUESTED_AFTER_DATE)] = None,
    requested_before: Annotated[str | None, Query(alias=REQUESTED_BEFORE_DATE)] = None,
    sort_by: Annotated[
        str | None, Query(alias=SORT_BY, description=", ".join(SORT_FIELDS.values()))
    ] = None,
    sort_order: Annotated[str | None, Query(alias=SORT_ORDER, description="asc or desc")] = None,
) -> Response:
    details: dict[str, list[str]] = {}
    sort_key = (sort_by or SORT_FIELDS["requested_date"]).lower()
    if sort_key not in IMPORT_SORT_COLUMNS:
        *first, last = SORT_FIELDS.values()
        details[SORT_BY] = [
            f"The value {sort_by!r} is not valid; use {', '.join(first)} or {last}."
        ]
    order = (sort_order or "asc").lower()
    if order not in ("asc", "desc"):
        details[SORT_ORDER] = [f"The value {sort_order!r} is not valid; use asc or desc."]
    if details:
        raise validation_error(details)
    after, before = date_range(
        REQUESTED_AFTER_DATE, requested_after, REQUESTED_BEFORE_DATE, requested_before
    )
    if ARROW_STREAM in request.headers.get("accept", "").lower():
        rows = store.history_rows(
            dataset_name=dataset_name,
            requested_after=after,
            requested_before=before,
            sort_by=sort_key,
            descending=order == "desc",
        )
        return Response(_history_stream(rows[paging.offset :]), media_type=ARROW_STREAM)
    items, total = store.list_imports(
        dataset_name=dataset_name,
        requested_after=after,
        requested_before=before,
        sort_by=sort_key,
        descending=order == "desc",
        offset=paging.offset,
        limit=paging.page_size,
    )
    progress = store.progress([item.import_id for item in items])
    wires = [
        item.to_wire(
            links=_links(request, item.import_id, item.dataset_name),
            columns=shown_columns(item.columns),
            progress=progress.get(item.import_id),
        )
        for item in items
    ]
    return paging.response(request, wires, total)


def _history_stream(rows: list[tuple[Any, ...]]) -> bytes:
    """The history rows as an Arrow IPC stream: text columns, ``n_messages`` an ``int64``."""
    fields = [
        pa.field(name, pa.int64() if name == "n_messages" else pa.string())
        for name in HISTORY_FIELDS
    ]
    schema = pa.schema(fields)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    table = pa.Table.from_arrays(
        [pa.array(values, f.type) for values, f in zip(columns, fields, strict=True)],
        schema=schema,
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())
