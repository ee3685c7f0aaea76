"""The one loading path: imports and ``PUT /data/{name}`` both end here.

:func:`load_rows` streams records from a reader, checks each value against its column's data
type (declared, or inferred as the rows go by), stages the rows, and moves them into the dataset
in one transaction, together with the import's ``completed`` status: all rows or none.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from nexosis_pandas._wire import DataType, Role
from nexosis_pandas.server.columns import (
    ColumnSpec,
    MetadataError,
    TypeInference,
    all_fit,
    checker,
    complete_metadata,
    merge_metadata,
    normalize_date,
    render_value,
    validate_metadata,
)
from nexosis_pandas.server.parsing import ColumnsAfterData, FileFormatError, records
from nexosis_pandas.server.store import StagingTable, Store

__all__ = ["BATCH_ROWS", "ImportCancelled", "LoadResult", "load_rows"]

BATCH_ROWS = 20_000
"""Rows staged per write; between batches the worker lets go of the database and the GIL."""


class ImportCancelled(Exception):  # noqa: N818 - a signal, not an error
    """The worker is stopping; the import stays ``started`` and is resumed on the next start."""


@dataclass(frozen=True)
class LoadResult:
    """What a load did: rows appended and replaced, and the columns' final metadata."""

    appended: int
    replaced: int
    columns: dict[str, ColumnSpec]


def _key_part(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == DataType.DATE.value:
        return normalize_date(value) or value
    rendered = render_value(value, data_type)
    if isinstance(rendered, float) and rendered.is_integer():
        rendered = int(rendered)  # 2, "2" and "2.0" are one key
    return rendered if isinstance(rendered, str) else json.dumps(rendered)


def _describe_type(data_type: str) -> str:
    return {
        DataType.NUMERIC.value: "a number",
        DataType.NUMERIC_MEASURE.value: "a number",
        DataType.LOGICAL.value: "a logical value (True/False, 1/0, On/Off, Yes/No)",
        DataType.DATE.value: "an ISO-8601 date",
    }.get(data_type, "a single value")


def load_rows(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    open_stream: Callable[[], io.TextIOWrapper],
    kind: str,
    staging: StagingTable,
    import_id: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> LoadResult:
    """Read every record, check it, and load all of them into the dataset, or none.

    Parameters
    ----------
    store
        Where the dataset lives.
    dataset_name
        The dataset to create or upsert into.
    columns
        The request's column metadata (validated); it overrides the file's and the dataset's.
    open_stream
        Opens the file as text from its beginning (called again if a JSON file's ``columns``
        come after its ``data``); the stream is detached, not closed, when done.
    kind
        ``"csv"`` or ``"json"``.
    staging
        Where the rows wait until the final move.
    import_id
        The import to mark ``completed`` in the same transaction as the move.
    cancelled
        Checked between batches; when true, :class:`ImportCancelled` is raised.

    Raises
    ------
    FileFormatError
        The file is malformed, or a value does not fit its column's data type.
    MetadataError
        The file's own column metadata is invalid.
    """
    file_columns: Any = None
    for _attempt in range(2):
        try:
            text = open_stream()
            try:
                return _load_once(
                    store,
                    dataset_name=dataset_name,
                    columns=columns,
                    text=text,
                    kind=kind,
                    file_columns=file_columns,
                    staging=staging,
                    import_id=import_id,
                    cancelled=cancelled,
                )
            finally:
                # The caller owns the byte stream: let go of it without closing it.
                text.detach()
        except ColumnsAfterData as late:
            file_columns = late.columns
            staging.clear()
    raise AssertionError("unreachable")  # pragma: no cover


def _load_once(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    text: IO[str],
    kind: str,
    file_columns: Any,
    staging: StagingTable,
    import_id: str | None,
    cancelled: Callable[[], bool],
) -> LoadResult:
    existing = store.get_dataset(dataset_name)
    reader = records(text, kind, ignore_file_columns=file_columns is not None)
    rows = iter(reader)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    plan: _Plan | None = None
    lines: list[int] = []
    batch: list[dict[str, Any]] = []

    def flush(plan: _Plan) -> None:
        plan.check_batch(lines, batch)
        key = plan.key
        staging.add([(key(row), dumps(row)) for row in batch])
        lines.clear()
        batch.clear()

    for line, row in rows:
        if plan is None:
            declared = _declared(
                existing.columns if existing else {}, reader, file_columns, columns
            )
            plan = _Plan(declared, typed=kind == "json")
        lines.append(line)
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            flush(plan)
            if cancelled():
                raise ImportCancelled
    if plan is None:
        declared = _declared(existing.columns if existing else {}, reader, file_columns, columns)
        plan = _Plan(declared, typed=kind == "json")
    if batch:
        flush(plan)
    # a JSON file without records names no column: the declared ones are the columns
    final = plan.final_metadata(reader.header or list(plan.declared))
    staging.close()

    def messages(appended: int, replaced: int) -> list[tuple[str, str]]:
        return [
            (
                "informational",
                f"Imported {staging.count} rows into dataset {dataset_name!r}: {appended} "
                f"appended, {replaced} replaced",
            )
        ]

    appended, replaced = store.merge_staged(
        dataset_name=dataset_name,
        columns=final,
        staging=staging,
        import_id=import_id,
        messages=messages,
    )
    return LoadResult(appended=appended, replaced=replaced, columns=final)


def _declared(
    existing: Mapping[str, ColumnSpec],
    reader: Any,
    file_columns: Any,
    request: Mapping[str, ColumnSpec],
) -> dict[str, ColumnSpec]:
    found = file_columns if file_columns is not None else reader.file_columns
    try:
        in_file = validate_metadata(found)
    except MetadataError as exc:
        raise FileFormatError(f"The file's column metadata is invalid: {exc}") from None
    return merge_metadata(merge_metadata(existing, in_file), request)


class _Plan:
    """Per-column checks for one load: declared types are enforced, the others inferred."""

    def __init__(self, declared: Mapping[str, ColumnSpec], *, typed: bool = False) -> None:
        self.typed = typed  # JSON: values carry their types, which inference keeps
        self.declared = {name: dict(spec) for name, spec in declared.items()}
        for spec in self.declared.values():
            if spec.get("role") == Role.TIMESTAMP.value and not spec.get("dataType"):
                spec["dataType"] = DataType.DATE.value
        self.checks: dict[str, tuple[str, Callable[[Any], bool]]] = {
            name: (str(spec["dataType"]), checker(str(spec["dataType"])))
            for name, spec in self.declared.items()
            if spec.get("dataType")
        }
        self.inferred: dict[str, TypeInference] = {}
        keys = [n for n, s in self.declared.items() if s.get("role") == Role.KEY.value]
        keys += [n for n, s in self.declared.items() if s.get("role") == Role.TIMESTAMP.value]
        self.key_columns = keys

    def check_batch(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        """Check a batch column by column (each check runs over a whole list, mostly in C)."""
        names: dict[str, None] = {}
        for row in rows:
            if len(row) != len(names) or row.keys() - names.keys():
                names.update(dict.fromkeys(row))
        for name in names:
            values = [row.get(name) for row in rows]
            present = [v for v in values if v is not None]
            found = self.checks.get(name)
            if found is None:
                inference = self.inferred.get(name)
                if inference is None:
                    inference = self.inferred[name] = TypeInference(typed=self.typed)
                if not inference.settled:
                    inference.update(present)
            elif not all_fit(present, found[0]):
                bad = next(i for i, v in enumerate(values) if v is not None and not found[1](v))
                raise FileFormatError(
                    f"Malformed row at line {lines[bad]}: the value {values[bad]!r} in column "
                    f"{name!r} does not fit its data type {found[0]} "
                    f"(expected {_describe_type(found[0])})"
                )

    def key(self, row: Mapping[str, Any]) -> str | None:
        if not self.key_columns:
            return None
        parts = [_key_part(row.get(n), self._type(n)) for n in self.key_columns]
        if len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]
        return json.dumps(parts)

    def _type(self, name: str) -> str:
        found = self.checks.get(name)
        return found[0] if found else DataType.STRING.value

    def final_metadata(self, header: list[str]) -> dict[str, ColumnSpec]:
        names = list(dict.fromkeys([*header, *self.inferred]))
        final: dict[str, ColumnSpec] = {}
        for name in names:
            spec = dict(self.declared.get(name) or {})
            if not spec.get("dataType"):
                inference = self.inferred.get(name)
                spec["dataType"] = inference.result() if inference else DataType.STRING.value
            final[name] = complete_metadata(spec)
        return final
