"""The datasets resource: ``GET /data``, ``GET|PUT|DELETE /data/{dataSetName}``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from nexosis_pandas._wire import (
    ARROW_STREAM,
    DATA_TYPE,
    DATASET_ITEM,
    DATASET_NAME,
    END_DATE,
    PARTIAL_NAME,
    START_DATE,
    Link,
    dataset_object,
    lower_keys,
)
from nexosis_pandas.server.columns import ColumnSpec, arrow_instants, render_value, shown_columns
from nexosis_pandas.server.http.deps import PagingDep, StoreDep, api_base
from nexosis_pandas.server.http.envelope import (
    NexosisJSONResponse,
    invalid_date_range,
    not_found,
    validation_error,
)
from nexosis_pandas.server.http.imports import MAX_NAME_LENGTH, date_range, request_columns
from nexosis_pandas.server.loading import load_rows
from nexosis_pandas.server.parsing import FileFormatError
from nexosis_pandas.server.store import DatasetRecord, Store

__all__ = ["router"]

router = APIRouter(tags=["datasets"])

DatasetPath = Annotated[str, Path(alias=DATASET_NAME, description="The dataset's name")]
DATASET_ROUTE = f"/data/{{{DATASET_NAME}:path}}"


def _summary(dataset: DatasetRecord, request: Request) -> dict[str, Any]:
    return dataset_object(
        dataset_name=dataset.name,
        row_count=dataset.row_count,
        columns=shown_columns(dataset.columns),
        links=[Link("data", f"{api_base(request)}/data/{dataset.name}")],
    )


def _render_rows(
    rows: list[dict[str, Any]], columns: Mapping[str, ColumnSpec]
) -> list[dict[str, Any]]:
    types = [(name, str(spec.get(DATA_TYPE) or "string")) for name, spec in columns.items()]
    return [{name: render_value(row.get(name), kind) for name, kind in types} for row in rows]


def _csv_field(value: Any) -> str:
    """A rendered value as a CSV field: every text quoted, so ``""`` is no missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _csv_text(rows: list[dict[str, Any]], names: list[str]) -> str:
    """The rows as CSV, as this package writes a file: a text quoted, a missing value empty.

    In a file of one column a missing value is ``""`` as well, since readers skip a blank line.
    """
    lines = [",".join(map(_csv_field, names))]
    lines.extend(",".join(_csv_field(row[n]) for n in names) or '""' for row in rows)
    return "".join(line + "\r\n" for line in lines)


@router.get("/data", summary="List datasets")
def list_datasets(
    request: Request,
    store: StoreDep,
    paging: PagingDep,
    partial_name: Annotated[str | None, Query(alias=PARTIAL_NAME)] = None,
) -> Response:
    items, total = store.list_datasets(
        partial_name=partial_name, offset=paging.offset, limit=paging.page_size
    )
    return paging.response(request, [_summary(d, request) for d in items], total)


@router.get(
    DATASET_ROUTE,
    summary="A page of a dataset's rows (JSON; CSV with Accept: text/csv; Arrow on request)",
    description=(
        "A page of rows as JSON, or as CSV with `Accept: text/csv`. "
        f"`{START_DATE}` and `{END_DATE}` keep the rows whose timestamp column falls in the "
        "range (inclusive). With `Accept: "
        f"{ARROW_STREAM}` the answer is every row from the page on, as an Arrow IPC stream "
        "of text columns whose schema metadata `nexosis.columns` holds the column metadata "
        "(an extension of this server; the hosted API did not offer it)."
    ),
    responses={200: {"content": {"text/csv": {}, ARROW_STREAM: {}}}},
)
def get_dataset(
    name: DatasetPath,
    request: Request,
    store: StoreDep,
    paging: PagingDep,
    start_date: Annotated[str | None, Query(alias=START_DATE)] = None,
    end_date: Annotated[str | None, Query(alias=END_DATE)] = None,
) -> Response:
    dataset = store.get_dataset(name)
    if dataset is None:
        raise not_found(DATASET_ITEM, name)
    columns = shown_columns(dataset.columns)
    window = _date_window(columns, start_date, end_date)
    accept = request.headers.get("accept", "").lower()
    if ARROW_STREAM in accept:
        batches = store.dataset_batches(dataset, 0 if window else paging.offset)
        if window:
            batches = _skip(_within(batches, *window), paging.offset)
        return StreamingResponse(_arrow_stream(batches, columns), media_type=ARROW_STREAM)
    if window:
        table, total = _filtered_page(store.dataset_batches(dataset), window, paging)
    else:
        table = store.dataset_table(dataset.id, offset=paging.offset, limit=paging.page_size)
        total = dataset.row_count
    rows = _render_rows(table.to_pylist(), columns)
    if "text/csv" in accept:
        return Response(
            _csv_text(rows, list(columns)).encode("utf-8"), media_type="text/csv; charset=utf-8"
        )
    return paging.response(request, rows, total, dataset_name=dataset.name, columns=columns)


def _date_window(
    columns: Mapping[str, ColumnSpec], start: str | None, end: str | None
) -> tuple[str, int | None, int | None] | None:
    """The timestamp column and the range in microseconds, or ``None`` without filters."""
    if start is None and end is None:
        return None
    low, high = date_range(START_DATE, start, END_DATE, end)
    stamp = [n for n, spec in columns.items() if spec.get("role") == "timestamp"]
    if not stamp:
        raise invalid_date_range(
            START_DATE if start is not None else END_DATE,
            "The dataset has no timestamp column to filter on; give a column the role "
            f"timestamp, or leave out {START_DATE} and {END_DATE}.",
        )

    def micros(text: str | None) -> int | None:
        return None if text is None else arrow_instants(pa.array([text])).to_pylist()[0]

    return stamp[0], micros(low), micros(high)


def _within(
    batches: Iterator[pa.RecordBatch], column: str, low: int | None, high: int | None
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        instants = arrow_instants(batch.column(column))
        keep = pc.is_valid(instants)
        if low is not None:
            keep = pc.and_(keep, pc.greater_equal(instants, low))
        if high is not None:
            keep = pc.and_(keep, pc.less_equal(instants, high))
        yield batch.filter(pc.fill_null(keep, False))


def _skip(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if rows >= batch.num_rows:
            rows -= batch.num_rows
            continue
        yield batch.slice(rows)
        rows = 0


def _filtered_page(
    batches: Iterator[pa.RecordBatch], window: tuple[str, int | None, int | None], paging: Any
) -> tuple[pa.Table, int]:
    """The page of the rows in the window, and how many rows are in it in all."""
    kept: list[pa.RecordBatch] = []
    total, wanted = 0, paging.page_size
    for batch in _within(batches, *window):
        start = max(paging.offset - total, 0)
        if wanted and start < batch.num_rows:
            piece = batch.slice(start, wanted)
            kept.append(piece)
            wanted -= piece.num_rows
        total += batch.num_rows
    if not kept:
        return pa.Table.from_batches([], schema=pa.schema([])), total
    return pa.Table.from_batches(kept), total


def _arrow_stream(
    batches: Iterator[pa.RecordBatch], columns: Mapping[str, ColumnSpec]
) -> Iterator[bytes]:
    """The rows as an Arrow IPC stream, a record batch per chunk."""
    schema = pa.schema([pa.field(n, pa.string()) for n in columns]).with_metadata(
        {"nexosis.columns": json.dumps(dict(columns))}
    )
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
            yield sink.getvalue()
            sink.seek(0)
            sink.truncate()
    yield sink.getvalue()


@router.delete(DATASET_ROUTE, status_code=204, summary="Delete a dataset")
def delete_dataset(name: DatasetPath, store: StoreDep) -> Response:
    if not store.delete_dataset(name):
        raise not_found(DATASET_ITEM, name)
    return Response(status_code=204)


@router.put(
    DATASET_ROUTE,
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
            {DATASET_NAME: [f"The {DATASET_NAME} must be at most {MAX_NAME_LENGTH} characters."]}
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
            lowered = lower_keys(parsed)
            columns = request_columns(lowered.get("columns"))
            parsed = lowered.get("data")
        if not isinstance(parsed, list):
            raise validation_error({"data": ["The data field is required: an array of objects."]})
        payload = json.dumps(parsed).encode("utf-8")

    try:
        load_rows(
            store,
            dataset_name=name,
            columns=columns,
            open_binary=lambda: io.BytesIO(payload),
            kind="csv" if is_csv else "json",
        )
    except FileFormatError as exc:
        raise validation_error({"data": [str(exc)]}) from None
    dataset = store.get_dataset(name)
    assert dataset is not None
    return NexosisJSONResponse(_summary(dataset, request))
