"""The datasets resource: ``GET /data``, ``GET|PUT|DELETE /data/{dataSetName}``."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexosis_pandas.server.columns import ColumnSpec, render_value, shown_columns
from nexosis_pandas.server.http.deps import PagingDep, StoreDep, api_base
from nexosis_pandas.server.http.envelope import NexosisJSONResponse, not_found, validation_error
from nexosis_pandas.server.http.imports import MAX_NAME_LENGTH, request_columns
from nexosis_pandas.server.loading import load_rows
from nexosis_pandas.server.parsing import FileFormatError
from nexosis_pandas.server.store import DatasetRecord, StagingTable, Store

__all__ = ["router"]

router = APIRouter(tags=["datasets"])

DatasetPath = Annotated[str, Path(alias="dataSetName", description="The dataset's name")]


def _summary(dataset: DatasetRecord, request: Request) -> dict[str, Any]:
    columns = shown_columns(dataset.columns)
    return {
        "dataSetName": dataset.name,
        "rowCount": dataset.row_count,
        "isTimeSeries": any(s.get("role") == "timestamp" for s in columns.values()),
        "columns": columns,
        "links": [{"rel": "data", "href": f"{api_base(request)}/data/{dataset.name}"}],
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


@router.get("/data", summary="List datasets")
def list_datasets(
    request: Request,
    store: StoreDep,
    paging: PagingDep,
    partial_name: Annotated[str | None, Query(alias="partialName")] = None,
) -> Response:
    items, total = store.list_datasets(
        partial_name=partial_name, offset=paging.offset, limit=paging.page_size
    )
    return paging.response(request, [_summary(d, request) for d in items], total)


@router.get(
    "/data/{dataSetName:path}",
    summary="A page of a dataset's rows (JSON, or CSV with Accept: text/csv)",
    responses={200: {"content": {"text/csv": {}}}},
)
def get_dataset(
    name: DatasetPath, request: Request, store: StoreDep, paging: PagingDep
) -> Response:
    dataset = store.get_dataset(name)
    if dataset is None:
        raise not_found("dataSet", name)
    columns = shown_columns(dataset.columns)
    rows = _render_rows(
        store.dataset_rows(dataset.id, offset=paging.offset, limit=paging.page_size), columns
    )
    if "text/csv" in request.headers.get("accept", "").lower():
        return Response(
            _csv_text(rows, list(columns)).encode("utf-8"), media_type="text/csv; charset=utf-8"
        )
    return paging.response(
        request, rows, dataset.row_count, dataset_name=dataset.name, columns=columns
    )


@router.delete("/data/{dataSetName:path}", status_code=204, summary="Delete a dataset")
def delete_dataset(name: DatasetPath, store: StoreDep) -> Response:
    if not store.delete_dataset(name):
        raise not_found("dataSet", name)
    return Response(status_code=204)


@router.put(
    "/data/{dataSetName:path}",
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
async def put_dataset(name: DatasetPath, request: Request, store: StoreDep) -> Response:
    if len(name) > MAX_NAME_LENGTH:
        raise validation_error(
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
            raise validation_error(
                {"body": [f"The request body is not valid JSON: {exc}"]}
            ) from None
        if isinstance(parsed, Mapping):
            lowered = {str(k).lower(): v for k, v in parsed.items()}
            columns = request_columns(lowered.get("columns"))
            parsed = lowered.get("data")
        if not isinstance(parsed, list):
            raise validation_error({"data": ["The data field is required: an array of objects."]})
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
        raise validation_error({"data": [str(exc)]}) from None
    finally:
        staging.discard()
    dataset = store.get_dataset(name)
    assert dataset is not None
    return NexosisJSONResponse(_summary(dataset, request))
