"""How an import runs: a pool of threads that read files from S3, check them, and load them.

:func:`load_rows` is the one loading path (imports and ``PUT /data/{name}`` both use it): it
streams records from a reader, checks each value against its column's data type (declared, or
inferred as the rows go by), stages the rows, and moves them into the dataset in one
transaction. :class:`ImportWorker` runs imports on its threads: ``requested`` → ``started`` →
``completed`` | ``failed``; imports it did not finish before it stopped are resumed by the next
worker on the same store.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from nexosis_pandas.models import DataType, ImportStatus, Role
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
from nexosis_pandas.server.parsing import (
    ColumnsAfterData,
    FileFormatError,
    content_kind,
    open_text,
    records,
)
from nexosis_pandas.server.store import StagingTable, Store

__all__ = [
    "BATCH_ROWS",
    "Credentials",
    "ImportCancelled",
    "ImportWorker",
    "LoadResult",
    "S3Settings",
    "load_rows",
]

logger = logging.getLogger("nexosis_pandas.server")

BATCH_ROWS = 20_000
"""Rows staged per write; between batches the worker lets go of the database and the GIL."""

BLOCK_SIZE = 8 << 20
"""Bytes read from S3 at a time."""


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
            plan = _Plan(declared)
        lines.append(line)
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            flush(plan)
            if cancelled():
                raise ImportCancelled
    if plan is None:
        plan = _Plan(_declared(existing.columns if existing else {}, reader, file_columns, columns))
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

    def __init__(self, declared: Mapping[str, ColumnSpec]) -> None:
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
                    inference = self.inferred[name] = TypeInference()
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


# -- S3 ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class S3Settings:
    """How the worker reaches S3: endpoint, default region and extra s3fs options."""

    endpoint_url: str | None = None
    region: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Credentials:
    """An import's own S3 credentials: held in memory for that import only, never shown."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)


def _filesystem(settings: S3Settings, region: str, credentials: Credentials | None) -> Any:
    import s3fs

    options: dict[str, Any] = dict(settings.storage_options)
    if settings.endpoint_url:
        options["endpoint_url"] = settings.endpoint_url
    client_kwargs = dict(options.get("client_kwargs") or {})
    client_kwargs["region_name"] = region
    options["client_kwargs"] = client_kwargs
    if credentials is not None:
        for name in ("profile", "token", "anon", "session"):
            options.pop(name, None)
        options["key"] = credentials.access_key_id
        options["secret"] = credentials.secret_access_key
    options["skip_instance_cache"] = True
    options["use_listings_cache"] = False
    return s3fs.S3FileSystem(**options)


class S3ReadError(Exception):
    """The object could not be read from S3; the message names the bucket or key and why."""


@contextmanager
def open_s3_object(fs: Any, bucket: str, path: str, region: str) -> Iterator[IO[bytes]]:
    """Open ``s3://bucket/path`` for reading, turning S3's errors into :class:`S3ReadError`."""
    where = f"s3://{bucket}/{path}"
    try:
        handle = fs.open(f"{bucket}/{path.lstrip('/')}", "rb", block_size=BLOCK_SIZE)
    except FileNotFoundError:
        raise S3ReadError(_not_found(fs, bucket, path, region)) from None
    except PermissionError as exc:
        raise S3ReadError(
            f"Access denied reading {where}: {_reason(exc)}. Check the bucket's permissions, or "
            "pass accessKeyId and secretAccessKey that may read it"
        ) from None
    except OSError as exc:
        raise S3ReadError(f"Could not read {where}: {_reason(exc)}") from None
    try:
        yield handle
    finally:
        handle.close()


def _is_network_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the connection to S3 failing (after s3fs's own retries)."""
    if isinstance(exc, OSError):
        return True
    return type(exc).__module__.startswith(("aiohttp", "botocore", "aiobotocore", "urllib3"))


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _not_found(fs: Any, bucket: str, path: str, region: str) -> str:
    try:
        bucket_exists = bool(fs.exists(bucket))
    except Exception:  # a HEAD on the bucket may itself be refused; then name the key
        bucket_exists = True
    if not bucket_exists:
        return f"The bucket {bucket!r} does not exist (region {region}); check the bucket name"
    return f"The object {path!r} does not exist in bucket {bucket!r}; check the path"


# -- the pool ------------------------------------------------------------------------------------
class ImportWorker:
    """Runs imports on a pool of threads.

    Parameters
    ----------
    store
        The store the imports and datasets live in.
    s3
        How to reach S3.
    workers
        How many imports run at once.
    """

    def __init__(self, store: Store, s3: S3Settings, *, workers: int = 4) -> None:
        self.store = store
        self.s3 = s3
        self.workers = max(1, int(workers))
        self._stopping = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._filesystems: dict[str, Any] = {}
        self._filesystems_lock = threading.Lock()
        # Ids queued or running: an import runs at most once at a time, because two runs would
        # share (and delete) one staging file.
        self._claimed: set[str] = set()
        self._claimed_lock = threading.Lock()

    def start(self) -> None:
        """Start the threads and resume the imports a previous run left unfinished."""
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="nexosis-import")
        for import_id in self.store.unfinished_imports():
            self.submit(import_id)

    def stop(self) -> None:
        """Stop: queued imports stay ``requested``, running ones ``started``; both resume later."""
        self._stopping.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        with self._claimed_lock:
            self._claimed.clear()  # cancelled queue entries never ran to release theirs

    def submit(self, import_id: str, credentials: Credentials | None = None) -> None:
        """Queue an import to run, unless it is already queued or running.

        An import runs at most once at a time: submitting an id that is queued or running does
        nothing (its ``credentials`` are not used). Submitting it after its run ended runs it
        again only if it is still unfinished.

        Raises
        ------
        RuntimeError
            The worker is not started, or is stopping.
        """
        if self._executor is None:
            raise RuntimeError("The import worker is not running")
        with self._claimed_lock:
            if import_id in self._claimed:
                logger.info("Import %s is already queued or running; not queued again", import_id)
                return
            self._claimed.add(import_id)
        try:
            self._executor.submit(self._run, import_id, credentials)
        except BaseException:
            self._release(import_id)
            raise

    def _release(self, import_id: str) -> None:
        with self._claimed_lock:
            self._claimed.discard(import_id)

    def _run(self, import_id: str, credentials: Credentials | None) -> None:
        try:
            self._run_import(import_id, credentials)
        except ImportCancelled:
            logger.info("Import %s interrupted by shutdown; it resumes on restart", import_id)
        except Exception:  # pragma: no cover - the store itself failed; log, keep the pool alive
            logger.exception("Import %s could not be run", import_id)
        finally:
            self._release(import_id)

    def _run_import(self, import_id: str, credentials: Credentials | None) -> None:
        store = self.store
        job = store.job_row(import_id)
        if job is None or job.status.is_terminal or self._stopping.is_set():
            return
        notes: list[tuple[str, str]] = []
        if job.status is ImportStatus.STARTED:
            notes.append(
                (
                    "informational",
                    "The server stopped while this import ran; it was started again from the "
                    "beginning of the file",
                )
            )
        store.set_status(import_id, ImportStatus.STARTED, messages=notes)
        parameters = job.parameters
        bucket, path = parameters.get("bucket", ""), parameters.get("path", "")
        region = parameters.get("region") or self.s3.region or "us-east-1"
        staging = StagingTable(store.staging_dir / f"{uuid.UUID(import_id)}.sqlite3")
        try:
            kind = content_kind(job.content_type, path)
            fs = self._filesystem(region, credentials)
            with open_s3_object(fs, bucket, path, region) as raw:

                def open_stream() -> io.TextIOWrapper:
                    raw.seek(0)
                    return open_text(raw)

                load_rows(
                    store,
                    dataset_name=job.dataset_name,
                    columns=job.columns,
                    open_stream=open_stream,
                    kind=kind,
                    staging=staging,
                    import_id=import_id,
                    cancelled=self._stopping.is_set,
                )
        except (FileFormatError, S3ReadError) as exc:
            self._fail(import_id, str(exc))
        except ImportCancelled:
            raise
        except Exception as exc:
            if _is_network_error(exc):
                self._fail(
                    import_id,
                    f"Reading s3://{bucket}/{path} broke off part-way ({type(exc).__name__}: "
                    f"{exc}); nothing was loaded into dataset {job.dataset_name!r}. Check that S3 "
                    "is reachable, then start the import again",
                )
                return
            logger.exception("Import %s failed unexpectedly", import_id)
            self._fail(import_id, f"The import failed unexpectedly: {type(exc).__name__}: {exc}")
        finally:
            staging.discard()

    def _filesystem(self, region: str, credentials: Credentials | None) -> Any:
        """The S3 filesystem for an import: shared per region, or its own with credentials.

        Making one costs ~0.2 s of CPU (a new botocore client), more than a small import.
        """
        if credentials is not None:
            return _filesystem(self.s3, region, credentials)
        with self._filesystems_lock:
            if region not in self._filesystems:
                self._filesystems[region] = _filesystem(self.s3, region, None)
            return self._filesystems[region]

    def _fail(self, import_id: str, message: str) -> None:
        self.store.set_status(import_id, ImportStatus.FAILED, messages=[("error", message)])
