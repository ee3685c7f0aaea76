"""The reference server's web application: routes, the error envelope, and the account headers.

:func:`create_app` builds a FastAPI app over a :class:`~nexosis_pandas.server.store.Store` and an
:class:`~nexosis_pandas.server.worker.ImportWorker`. Every error, including unknown paths, wrong
methods and invalid requests, answers with the API's error envelope
(``{"statusCode", "message", "errorType", "errorDetails"}``); every response carries the
account headers. Paths, query parameter names and JSON property names are matched
case-insensitively, as the hosted API did.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import math
import pathlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexosis_pandas._version import __version__
from nexosis_pandas._wire import ErrorEnvelope, Import, ImportStatus, Link, Page, parse_timestamp
from nexosis_pandas.server.columns import (
    ColumnSpec,
    MetadataError,
    complete_metadata,
    render_value,
    validate_metadata,
)
from nexosis_pandas.server.parsing import FileFormatError
from nexosis_pandas.server.store import IMPORT_SORT_COLUMNS, DatasetRecord, StagingTable, Store
from nexosis_pandas.server.worker import Credentials, ImportWorker, load_rows

__all__ = ["ApiError", "NexosisJSONResponse", "create_app"]

ACCESS_DENIED = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)
ALLOTTED = 10_000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
MAX_NAME_LENGTH = 1000
"""The longest dataset name: longer ones would make URLs HTTP servers refuse."""
API_PREFIX = "/v1"
_PUBLIC_PATHS = ("/docs", "/openapi.json", "/docs/", "/")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class NexosisJSONResponse(JSONResponse):
    """JSON as the API sent it: ``application/json; charset=utf-8``, UTF-8 text unescaped."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


class ApiError(Exception):
    """An error the API answers with its envelope.

    Parameters
    ----------
    status_code
        The HTTP status.
    message
        The envelope's ``message``.
    error_type
        The envelope's ``errorType`` (omitted when ``None``).
    error_details
        The envelope's ``errorDetails`` (omitted when ``None``).
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        error_type: str | None = None,
        error_details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.error_details = error_details
        self.headers = dict(headers or {})
        super().__init__(message)

    def response(self) -> NexosisJSONResponse:
        """The envelope as a response."""
        envelope = ErrorEnvelope(
            self.status_code, self.message, self.error_type, self.error_details
        )
        return NexosisJSONResponse(
            envelope.to_wire(), status_code=self.status_code, headers=self.headers
        )


def _validation(details: Mapping[str, list[str]]) -> ApiError:
    return ApiError(400, "Request is invalid", "RequestValidation", details)


def _not_found(item_type: str, item_id: str) -> ApiError:
    return ApiError(
        404,
        f"No {item_type} with id {item_id!r} was found",
        "NotFound",
        {"itemType": item_type, "itemId": item_id},
    )


# -- request models ------------------------------------------------------------------------------
class _LenientModel(BaseModel):
    """A request body whose property names match case-insensitively and where ``""`` is unset."""

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


class ImportS3Request(_LenientModel):
    """The body of ``POST /imports/s3``."""

    dataset_name: str = Field(
        alias="dataSetName",
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        examples=["Location-A"],
        description="The dataset's name; it is part of the dataset's URL, hence the limit",
    )
    bucket: str = Field(min_length=1, examples=["nexosis-sample-data"])
    path: str = Field(min_length=1, examples=["LocationA.csv"])
    region: str | None = Field(default=None, examples=["us-east-1"])
    columns: dict[str, Any] | None = Field(
        default=None,
        description="Column metadata: name to {dataType, role, imputation, aggregation}",
    )
    access_key_id: SecretStr | None = Field(default=None, alias="accessKeyId")
    secret_access_key: SecretStr | None = Field(default=None, alias="secretAccessKey")
    content_type: str | None = Field(
        default=None, alias="contentType", description='"csv" or "json"; else from the extension'
    )


# -- the middleware ------------------------------------------------------------------------------
_QUERY_NAMES = {
    name.lower(): name
    for name in (
        "dataSetName",
        "requestedAfterDate",
        "requestedBeforeDate",
        "page",
        "pageSize",
        "sortBy",
        "sortOrder",
        "partialName",
    )
}


def canonical_path(path: str) -> str:
    """The path with the API's fixed segments in their canonical case, without a trailing ``/``.

    Examples
    --------
    >>> canonical_path("/V1/Imports/S3/")
    '/v1/imports/s3'
    >>> canonical_path("/v1/DATA/MyData")
    '/v1/data/MyData'
    """
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    parts = path.split("/")
    if len(parts) > 1 and parts[1].lower() in ("v1", "docs", "openapi.json"):
        parts[1] = parts[1].lower()
    if len(parts) > 2 and parts[1] == "v1" and parts[2].lower() in ("imports", "data"):
        parts[2] = parts[2].lower()
        if len(parts) == 4 and parts[2] == "imports" and parts[3].lower() == "s3":
            parts[3] = "s3"
    return "/".join(parts)


def canonical_query(query: bytes) -> bytes:
    """Known query parameter names in their canonical case; empty values dropped."""
    if not query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode(
        [(_QUERY_NAMES.get(k.lower(), k), v) for k, v in pairs if v.strip() != ""]
    ).encode("latin-1")


class NexosisMiddleware:
    """Canonical paths and queries, the ``api-key`` check, and the account headers.

    Parameters
    ----------
    app
        The application.
    api_keys
        The accepted keys, each compared in constant time.
    dataset_count
        Counts the datasets for the ``DataSetCount-Current`` header (cached for a second).
    """

    def __init__(
        self, app: ASGIApp, *, api_keys: Sequence[str], dataset_count: Callable[[], int]
    ) -> None:
        self.app = app
        self._keys = [k.encode("utf-8") for k in api_keys]
        self._dataset_count = dataset_count
        self._count: tuple[float, int] = (-math.inf, 0)

    def _account_headers(self) -> list[tuple[bytes, bytes]]:
        stamp, count = self._count
        if time.monotonic() - stamp > 1.0:
            try:
                count = self._dataset_count()
            except Exception:  # the headers are informational; never fail a response for them
                count = 0
            self._count = (time.monotonic(), count)
        values = {
            "DataSetCount-Allotted": ALLOTTED,
            "DataSetCount-Current": count,
            "PredictionCount-Allotted": ALLOTTED,
            "PredictionCount-Current": 0,
            "SessionCount-Allotted": ALLOTTED,
            "SessionCount-Current": 0,
        }
        return [(f"Nexosis-Account-{k}".encode(), str(v).encode()) for k, v in values.items()]

    def _authorised(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"api-key":
                given = value.strip()
                break
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(given, key)
        return matched and bool(given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["path"] = canonical_path(scope["path"])
        scope["query_string"] = canonical_query(scope.get("query_string", b""))
        extra = self._account_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        path: str = scope["path"]
        public = path in _PUBLIC_PATHS or path.startswith("/docs/")
        if not public and not self._authorised(scope):
            response = ApiError(401, ACCESS_DENIED).response()
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


# -- helpers -------------------------------------------------------------------------------------
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API_PREFIX


def _status_header(status: ImportStatus) -> dict[str, str]:
    value = status.value
    return {"Nexosis-Import-Status": value[:1].upper() + value[1:]}


def _shown_columns(columns: Mapping[str, Mapping[str, str | None]]) -> dict[str, ColumnSpec]:
    return {
        name: complete_metadata(spec) if spec.get("dataType") else dict(spec)
        for name, spec in columns.items()
    }


def _import_wire(record: Import, request: Request) -> dict[str, Any]:
    base = _base(request)
    links = (
        Link("self", f"{base}/imports/{record.import_id}"),
        Link("data", f"{base}/data/{record.dataset_name}"),
    )
    shown = _shown_columns(record.columns)
    return replace(record, links=links, columns=shown).to_wire()  # type: ignore[arg-type]


def _page_links(request: Request, page: int, total_pages: int) -> tuple[Link, ...]:
    def href(number: int) -> str:
        return str(request.url.include_query_params(page=number))

    links = [Link("self", str(request.url)), Link("first", href(0))]
    if page + 1 < total_pages:
        links.append(Link("next", href(page + 1)))
    links.append(Link("last", href(max(total_pages - 1, 0))))
    return tuple(links)


def _page(
    request: Request,
    items: list[Any],
    page: int,
    page_size: int,
    total: int,
    *,
    dataset_name: str | None = None,
    columns: Mapping[str, ColumnSpec] | None = None,
) -> NexosisJSONResponse:
    total_pages = math.ceil(total / page_size) if total else 0
    wire = Page(
        items=items,
        page_number=page,
        page_size=page_size,
        total_count=total,
        total_pages=total_pages,
        links=_page_links(request, page, total_pages),
        dataset_name=dataset_name,
        columns=None if columns is None else dict(columns),  # type: ignore[arg-type]
    )
    return NexosisJSONResponse(wire.to_wire())


def _date_filter(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        stamp = parse_timestamp(value)
    except (ValueError, TypeError):
        raise ApiError(
            400,
            "The date range is invalid",
            "InvalidDateRange",
            {name: [f"The value {value!r} is not a valid ISO-8601 date."]},
        ) from None
    return str(stamp.isoformat(timespec="microseconds"))


def _dataset_summary(dataset: DatasetRecord, request: Request) -> dict[str, Any]:
    columns = _shown_columns(dataset.columns)
    return {
        "dataSetName": dataset.name,
        "rowCount": dataset.row_count,
        "isTimeSeries": any(s.get("role") == "timestamp" for s in columns.values()),
        "columns": columns,
        "links": [{"rel": "data", "href": f"{_base(request)}/data/{dataset.name}"}],
    }


def _render_rows(
    rows: list[dict[str, Any]], columns: Mapping[str, ColumnSpec]
) -> list[dict[str, Any]]:
    types = [(name, str(spec.get("dataType") or "string")) for name, spec in columns.items()]
    return [{name: render_value(row.get(name), kind) for name, kind in types} for row in rows]


def _csv_text(rows: list[dict[str, Any]], names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else ("true" if v is True else "false" if v is False else v)
                for v in (row[n] for n in names)
            ]
        )
    return out.getvalue()


api_key_header = APIKeyHeader(
    name="api-key", auto_error=False, description="Your Nexosis api key (the server's key)"
)


def _offline_docs_dir() -> pathlib.Path | None:
    try:
        import fastapi_offline
    except ImportError:
        return None
    static = pathlib.Path(fastapi_offline.__file__).parent / "static"
    return static if (static / "swagger-ui-bundle.js").exists() else None


# -- the app -------------------------------------------------------------------------------------
def create_app(*, store: Store, worker: ImportWorker, api_keys: Sequence[str]) -> FastAPI:
    """Build the Nexosis Imports API application.

    Parameters
    ----------
    store
        The store that holds imports and datasets.
    worker
        The pool that runs the imports.
    api_keys
        The keys a request may send in its ``api-key`` header.

    Returns
    -------
    FastAPI
        The application, wrapped in the middleware that checks keys and adds headers.
    """
    app = FastAPI(
        title="Nexosis Imports API (reference server)",
        version=__version__,
        description=(
            "A local, working copy of the Nexosis Imports API: import CSV or JSON files from S3 "
            "into datasets, follow each import, and read the datasets back. Send your key in "
            "the `api-key` header (use **Authorize**)."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=NexosisJSONResponse,
    )
    _install_docs(app)
    _install_error_handlers(app)
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(api_key_header)])
    _install_import_routes(router, store, worker)
    _install_dataset_routes(router, store)
    app.include_router(router)
    app.add_middleware(
        NexosisMiddleware,
        api_keys=list(api_keys),
        dataset_count=store.dataset_count,
    )
    return app


def _install_docs(app: FastAPI) -> None:
    static = _offline_docs_dir()
    if static is not None:
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs/static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if static is None:  # swagger-ui from its CDN: needs the internet
            return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title,
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon.png",
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            return ApiError(
                404,
                f"No resource matches {request.method} {request.url.path}",
                "NotFound",
                {"itemType": "route", "itemId": request.url.path},
                headers,
            ).response()
        if exc.status_code == 405:
            return ApiError(
                405,
                f"The method {request.method} is not allowed for {request.url.path}"
                + (f"; allowed: {headers['allow']}" if "allow" in headers else ""),
                "MethodNotAllowed",
                None,
                headers,
            ).response()
        if exc.status_code == 400:  # FastAPI's own "There was an error parsing the body"
            return ApiError(
                400,
                "Request is invalid",
                "RequestValidation",
                {"body": [f"The request body could not be read: {exc.detail}."]},
                headers,
            ).response()
        return ApiError(exc.status_code, str(exc.detail), None, None, headers).response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details: dict[str, list[str]] = {}
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ())]
            field = loc[1] if len(loc) > 1 and loc[0] in ("body", "query", "path") else "body"
            if error.get("type") == "json_invalid":
                field = "body"
                reason = (error.get("ctx") or {}).get("error", "")
                message = f"The request body is not valid JSON: {reason}".rstrip(": ")
            elif error.get("type") == "missing":
                message = (
                    "The request body is required."
                    if field == "body"
                    else f"The {field} field is required."
                )
            else:
                message = f"The value of {field} is invalid: {error.get('msg')}."
            details.setdefault(field, []).append(message)
        return _validation(details).response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return ApiError(
            500,
            f"The server failed while handling the request ({type(exc).__name__})",
            "ServerError",
        ).response()


ImportIdPath = Annotated[str, Path(alias="importId", description="The import's id (a GUID)")]
DatasetPath = Annotated[str, Path(alias="dataSetName", description="The dataset's name")]
MAX_PAGE = 10**9
"""The largest page number: page * pageSize must fit SQLite's 64-bit OFFSET."""
PageQuery = Annotated[int, Query(ge=0, le=MAX_PAGE, description="Zero-based page number")]
PageSizeQuery = Annotated[
    int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 1000)")
]


def _install_import_routes(router: APIRouter, store: Store, worker: ImportWorker) -> None:
    @router.post("/imports/s3", tags=["imports"], summary="Import a CSV or JSON file from S3")
    def import_from_s3(body: ImportS3Request, request: Request) -> Response:
        try:
            columns = validate_metadata(body.columns)
        except MetadataError as exc:
            raise ApiError(
                400, "The column metadata is invalid", "InvalidColumnMetadata", exc.details
            ) from None
        details: dict[str, list[str]] = {}
        content_type = body.content_type.strip().lower() if body.content_type else None
        if content_type is not None and content_type not in ("csv", "json"):
            details["contentType"] = [
                f"The value {body.content_type!r} is not valid; use csv or json."
            ]
        if (body.access_key_id is None) != (body.secret_access_key is None):
            missing = "secretAccessKey" if body.secret_access_key is None else "accessKeyId"
            details[missing] = [
                f"The {missing} field is required when the other credential is given."
            ]
        if details:
            raise _validation(details)
        credentials = (
            Credentials(
                body.access_key_id.get_secret_value(), body.secret_access_key.get_secret_value()
            )
            if body.access_key_id is not None and body.secret_access_key is not None
            else None
        )
        region = body.region or worker.s3.region or "us-east-1"
        record = store.create_import(
            import_id=str(uuid.uuid4()),
            dataset_name=body.dataset_name,
            parameters={"bucket": body.bucket, "path": body.path, "region": region},
            columns=columns,
            content_type=content_type,
        )
        worker.submit(record.import_id, credentials)
        return NexosisJSONResponse(
            _import_wire(record, request), headers=_status_header(record.status)
        )

    @router.get("/imports/{importId}", tags=["imports"], summary="One import and its status")
    def get_import(raw: ImportIdPath, request: Request) -> Response:
        try:
            import_id = str(uuid.UUID(raw))
        except ValueError:
            raise _validation({"importId": [f"The value '{raw}' is not valid for Guid."]}) from None
        record = store.get_import(import_id)
        if record is None:
            raise _not_found("import", raw)
        return NexosisJSONResponse(
            _import_wire(record, request), headers=_status_header(record.status)
        )

    @router.get("/imports", tags=["imports"], summary="List imports, filtered and paged")
    def list_imports(
        request: Request,
        dataset_name: Annotated[str | None, Query(alias="dataSetName")] = None,
        requested_after: Annotated[str | None, Query(alias="requestedAfterDate")] = None,
        requested_before: Annotated[str | None, Query(alias="requestedBeforeDate")] = None,
        page: PageQuery = 0,
        page_size: PageSizeQuery = DEFAULT_PAGE_SIZE,
        sort_by: Annotated[
            str | None,
            Query(alias="sortBy", description="id, dataSetName, requestedDate, currentStatusDate"),
        ] = None,
        sort_order: Annotated[
            str | None, Query(alias="sortOrder", description="asc or desc")
        ] = None,
    ) -> Response:
        details: dict[str, list[str]] = {}
        sort_key = (sort_by or "requestedDate").lower()
        if sort_key not in IMPORT_SORT_COLUMNS:
            details["sortBy"] = [
                f"The value {sort_by!r} is not valid; use id, dataSetName, requestedDate or "
                "currentStatusDate."
            ]
        order = (sort_order or "asc").lower()
        if order not in ("asc", "desc"):
            details["sortOrder"] = [f"The value {sort_order!r} is not valid; use asc or desc."]
        if details:
            raise _validation(details)
        after = _date_filter("requestedAfterDate", requested_after)
        before = _date_filter("requestedBeforeDate", requested_before)
        if after is not None and before is not None and after > before:
            raise ApiError(
                400,
                "The date range is invalid",
                "InvalidDateRange",
                {"requestedAfterDate": [f"{requested_after} is later than {requested_before}."]},
            )
        items, total = store.list_imports(
            dataset_name=dataset_name,
            requested_after=after,
            requested_before=before,
            sort_by=sort_key,
            descending=order == "desc",
            offset=page * page_size,
            limit=page_size,
        )
        return _page(
            request, [_import_wire(item, request) for item in items], page, page_size, total
        )


def _install_dataset_routes(router: APIRouter, store: Store) -> None:
    @router.get("/data", tags=["datasets"], summary="List datasets")
    def list_datasets(
        request: Request,
        partial_name: Annotated[str | None, Query(alias="partialName")] = None,
        page: PageQuery = 0,
        page_size: PageSizeQuery = DEFAULT_PAGE_SIZE,
    ) -> Response:
        items, total = store.list_datasets(
            partial_name=partial_name, offset=page * page_size, limit=page_size
        )
        return _page(request, [_dataset_summary(d, request) for d in items], page, page_size, total)

    @router.get(
        "/data/{dataSetName:path}",
        tags=["datasets"],
        summary="A page of a dataset's rows (JSON, or CSV with Accept: text/csv)",
        responses={200: {"content": {"text/csv": {}}}},
    )
    def get_dataset(
        name: DatasetPath,
        request: Request,
        page: PageQuery = 0,
        page_size: PageSizeQuery = DEFAULT_PAGE_SIZE,
    ) -> Response:
        dataset = store.get_dataset(name)
        if dataset is None:
            raise _not_found("dataSet", name)
        columns = _shown_columns(dataset.columns)
        rows = _render_rows(
            store.dataset_rows(dataset.id, offset=page * page_size, limit=page_size), columns
        )
        if "text/csv" in request.headers.get("accept", "").lower():
            return Response(
                _csv_text(rows, list(columns)).encode("utf-8"),
                media_type="text/csv; charset=utf-8",
            )
        return _page(
            request,
            rows,
            page,
            page_size,
            dataset.row_count,
            dataset_name=dataset.name,
            columns=columns,
        )

    @router.delete(
        "/data/{dataSetName:path}", tags=["datasets"], status_code=204, summary="Delete a dataset"
    )
    def delete_dataset(name: DatasetPath) -> Response:
        if not store.delete_dataset(name):
            raise _not_found("dataSet", name)
        return Response(status_code=204)

    @router.put(
        "/data/{dataSetName:path}",
        tags=["datasets"],
        summary="Send rows directly: JSON {columns?, data} or a CSV body",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "columns": {"type": "object"},
                                "data": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def put_dataset(name: DatasetPath, request: Request) -> Response:
        if len(name) > MAX_NAME_LENGTH:
            raise _validation(
                {"dataSetName": [f"The dataSetName must be at most {MAX_NAME_LENGTH} characters."]}
            )
        body = await request.body()
        is_csv = "csv" in request.headers.get("content-type", "").lower()
        return await run_in_threadpool(_put_rows, store, request, name, body, is_csv)


def _put_rows(store: Store, request: Request, name: str, body: bytes, is_csv: bool) -> Response:
    columns: dict[str, ColumnSpec] = {}
    if is_csv:
        payload = body
    else:
        try:
            parsed = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise _validation({"body": [f"The request body is not valid JSON: {exc}"]}) from None
        if isinstance(parsed, Mapping):
            lowered = {str(k).lower(): v for k, v in parsed.items()}
            try:
                columns = validate_metadata(lowered.get("columns"))
            except MetadataError as exc:
                raise ApiError(
                    400, "The column metadata is invalid", "InvalidColumnMetadata", exc.details
                ) from None
            parsed = lowered.get("data")
        if not isinstance(parsed, list):
            raise _validation({"data": ["The data field is required: an array of objects."]})
        payload = json.dumps(parsed).encode("utf-8")

    def open_stream() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(payload), encoding="utf-8-sig", newline="")

    staging = StagingTable(store.staging_dir / f"put-{uuid.uuid4()}.sqlite3")
    try:
        load_rows(
            store,
            dataset_name=name,
            columns=columns,
            open_stream=open_stream,
            kind="csv" if is_csv else "json",
            staging=staging,
        )
    except FileFormatError as exc:
        raise _validation({"data": [str(exc)]}) from None
    finally:
        staging.discard()
    dataset = store.get_dataset(name)
    assert dataset is not None
    return NexosisJSONResponse(_dataset_summary(dataset, request))
