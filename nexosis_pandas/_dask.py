"""Dask DataFrames to S3 and to a dataset: the partitions are encoded and uploaded by the workers.

Importing this module registers ``ddf.nexosis``; :mod:`nexosis_pandas` imports it as soon as
``dask.dataframe`` is imported (see :func:`nexosis_pandas._lazy.after_import`), so the package
itself never imports dask.

How a frame becomes one object
------------------------------
1. **Survey** (one task per partition, on the workers): the partition is checked as a pandas
   frame would be (column names, metadata, roles), its float and datetime columns are scanned
   (:class:`~nexosis_pandas._encode.formatters.ColumnScan`) and, for content-addressed keys,
   it is digested. Only
   these few facts come back to the client; an error names the partition.
2. **Upload** (one task per partition): the client has created a multipart upload. Each worker
   encodes its partition with the pandas encoder, laid out by the merged scans (so the parts
   together are the bytes the computed frame would give), the header in partition 0 only, each
   partition one gzip member (members concatenate into one valid gzip file). Partition ``i``
   owns the part numbers ``i*k+1 ... (i+1)*k`` (``k = 10000 // npartitions``) and uploads its
   parts itself; it keeps back only its first :data:`MIN_PART` bytes (S3 needs every part but
   the last to hold at least 5 MiB, and the previous partition's end may be smaller than that).
3. **Runs** (one task per run): the kept-back bytes of neighbouring partitions are joined, in
   order, into parts of at least :data:`MIN_PART` bytes, each uploaded by one worker.
4. The client completes the upload: one object, one import. On any error or interrupt the
   client cancels the tasks and aborts the upload, so no object is written.

Each partition is computed twice (survey, then upload): persist the frame first when its
source is expensive to read. A worker holds its partition, the encoder's bounded buffers and at
most ``MIN_PART`` bytes plus a part per partition it uploaded until the runs are sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures as _futures
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Unpack

import dask
import dask.dataframe as dd
import pandas as pd
from dask.dataframe.extensions import register_dataframe_accessor
from dask.delayed import delayed

from nexosis_pandas import _api as api
from nexosis_pandas import columns as _columns
from nexosis_pandas import config
from nexosis_pandas._digest import digest_url, frame_digest
from nexosis_pandas._encode.encoder import (
    ColumnScan,
    Compression,
    Encoding,
    Format,
    file_format,
    gzip_chunks,
    scan_columns,
)
from nexosis_pandas._frame import frame_to_import, validate_column_names
from nexosis_pandas._job import ImportJob
from nexosis_pandas._options import ImportOptions, metadata_to_send, required_text
from nexosis_pandas._storage.pipeline import Background, filesystem
from nexosis_pandas._storage.upload import (
    PART_SIZE,
    S3Object,
    _endpoint,
    _is_storage_error,
    _region,
    _upload_error,
    split_url,
)
from nexosis_pandas._version import __version__
from nexosis_pandas._wire import ColumnMetadata, DataType
from nexosis_pandas.exceptions import ColumnError, UploadError, user_error
from nexosis_pandas.progress import ProgressArg, resolve_progress

__all__ = [
    "DaskAccessor",
    "import_dask_dataframe",
    "infer_dask_column_metadata",
    "upload_dask_dataframe",
]

MIN_PART = 5 * 2**20
"""S3's smallest part but the last: what a partition keeps back for its neighbour's end."""

MAX_PARTS = 10_000
"""S3's most parts in one upload."""


# -- what runs on the workers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Everything a worker needs to encode and upload a partition (pickled into each task)."""

    npartitions: int
    index: bool | None
    format: Format = "csv"
    compression: Compression = "gzip"
    scans: dict[str, ColumnScan] = field(default_factory=dict)
    storage_options: dict[str, Any] = field(default_factory=dict)
    bucket: str = ""
    key: str = ""
    upload_id: str = ""
    part_size: int = PART_SIZE

    @property
    def numbers_per_partition(self) -> int:
        return MAX_PARTS // self.npartitions

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(**self.storage_options)

    def upload_part(self, fs: Any, number: int, body: bytes) -> tuple[int, str]:
        answer = fs.call_s3(
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        return number, str(answer["ETag"])


def _as_written(part: pd.DataFrame, index: bool | None) -> tuple[pd.DataFrame, bool]:
    """The partition as its file holds it, and whether the encoder writes its index.

    ``index=None`` follows the import's rule (:func:`nexosis_pandas._frame.frame_to_import`): a
    partition's integer labels number rows and are left out, any other index is sent.
    """
    if index is None:
        return frame_to_import(part), False
    return part, index


def _in_partition(number: int, npartitions: int, exc: ColumnError) -> ColumnError:
    error = ColumnError(f"Partition {number} of {npartitions}: {exc}", column=exc.column)
    return error


@dataclass(frozen=True)
class _Survey:
    """What the client learns about one partition before anything is uploaded."""

    rows: int
    scans: dict[str, ColumnScan]
    metadata: ColumnMetadata | None
    digest: str | None


def _survey(
    part: pd.DataFrame,
    number: int,
    plan: _Plan,
    roles: tuple[str | None, str | None, str | Sequence[str] | None] | None,
    digest: bool,
) -> _Survey:
    frame, index = _as_written(part, plan.index)
    try:
        scans = scan_columns(frame, index=index)
        metadata = None
        if roles is not None:
            target, timestamp, key = roles
            metadata = _columns.infer_column_metadata(
                frame, target=target, timestamp=timestamp, key=key
            )
    except ColumnError as exc:
        raise _in_partition(number, plan.npartitions, exc) from None
    return _Survey(
        rows=len(frame),
        scans=scans,
        metadata=metadata,
        digest=frame_digest(frame) if digest else None,
    )


@dataclass(frozen=True)
class _Piece:
    """A partition after its upload: the parts it sent, and the bytes it kept back."""

    number: int
    rows: int
    bytes_uncompressed: int
    bytes_written: int
    parts: list[tuple[int, str]]
    kept: bytes

    def summary(self) -> _Piece:
        """The same without the kept-back bytes: what travels to the client."""
        return replace(self, kept=b"")


def _piece_summary(piece: _Piece) -> tuple[_Piece, int]:
    return piece.summary(), len(piece.kept)


def _upload_partition(part: pd.DataFrame, number: int, plan: _Plan) -> _Piece:
    frame, index = _as_written(part, plan.index)
    try:
        encoding = Encoding(
            frame, format=plan.format, index=index, header=number == 0, scans=plan.scans
        )
    except ColumnError as exc:
        raise _in_partition(number, plan.npartitions, exc) from None
    fs = plan.filesystem()
    first = number * plan.numbers_per_partition + 1  # the kept-back bytes' number, in a run
    last = first + plan.numbers_per_partition - 1
    pipeline = Background(encoding.chunks())
    if plan.compression == "gzip":
        pipeline = Background(gzip_chunks(pipeline), on_close=pipeline.close)
    kept, buffer = bytearray(), bytearray()
    parts: list[tuple[int, str]] = []
    written = 0

    def send(body: bytes) -> None:
        part_number = first + 1 + len(parts)
        if part_number > last:
            raise ValueError(
                f"Partition {number} of {plan.npartitions} needs more than "
                f"{plan.numbers_per_partition - 1} parts of {plan.part_size} bytes; "
                "repartition the frame into smaller partitions (ddf.repartition(...))."
            )
        parts.append(plan.upload_part(fs, part_number, body))

    try:
        for _, block in pipeline:
            written += len(block)
            room = MIN_PART - len(kept)
            if room > 0:
                kept += block[:room]
                block = block[room:]
            buffer += block
            # a part leaves only with MIN_PART bytes behind it, so the last part is big enough
            while len(buffer) >= plan.part_size + MIN_PART:
                send(bytes(buffer[: plan.part_size]))
                del buffer[: plan.part_size]
        if buffer and (parts or len(buffer) >= MIN_PART):
            send(bytes(buffer))
        else:
            kept += buffer
    except BaseException:
        pipeline.close()
        raise
    return _Piece(
        number=number,
        rows=encoding.rows,
        bytes_uncompressed=encoding.bytes_uncompressed,
        bytes_written=written,
        parts=parts,
        kept=bytes(kept),
    )


def _upload_run(plan: _Plan, *pieces: _Piece) -> tuple[int, str]:
    """Upload the kept-back bytes of consecutive partitions as one part."""
    number = pieces[0].number * plan.numbers_per_partition + 1
    return plan.upload_part(plan.filesystem(), number, b"".join(p.kept for p in pieces))


def _runs(summaries: Sequence[tuple[_Piece, int]]) -> list[list[int]]:
    """Group the partitions' kept-back bytes, in order, into parts of at least ``MIN_PART``.

    A partition that uploaded parts kept back ``MIN_PART`` bytes, so a run that reaches one
    ends there, before its parts; only the last run may be smaller.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    size = 0
    for piece, kept in summaries:
        if kept:
            current.append(piece.number)
            size += kept
        if current and size >= MIN_PART:
            runs.append(current)
            current, size = [], 0
    if current:
        runs.append(current)
    return runs


# -- running the tasks: on a distributed cluster, or on local threads ---------------------------


class _Runner:
    """Tasks on the partitions and on earlier results, wherever the user's Dask runs them."""

    def __init__(self) -> None:
        self.client: Any = None
        try:
            from distributed import get_client

            self.client = get_client()
        except (ImportError, ValueError):
            self._pool = _futures.ThreadPoolExecutor(dask.system.CPU_COUNT or 2)
        self._all: list[Any] = []

    @property
    def dashboard(self) -> str | None:
        return getattr(self.client, "dashboard_link", None) if self.client is not None else None

    def per_partition(self, ddf: Any, fn: Callable[..., Any], *args: Any) -> list[Any]:
        parts = ddf.to_delayed()
        tasks = [delayed(fn, pure=False)(p, i, *args) for i, p in enumerate(parts)]
        if self.client is not None:
            handles = list(self.client.compute(tasks))
        else:
            handles = [self._pool.submit(t.compute, scheduler="sync") for t in tasks]
        self._all += handles
        return handles

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.client is not None:
            handle = self.client.submit(fn, *args, pure=False)
        else:
            handle = self._pool.submit(lambda: fn(*(_value(a) for a in args)))
        self._all.append(handle)
        return handle

    def as_completed(self, handles: list[Any]) -> Iterator[Any]:
        if self.client is not None:
            from distributed import as_completed

            yield from as_completed(handles)
        else:
            yield from _futures.as_completed(handles)

    def cancel(self) -> None:
        if self.client is not None:
            self.client.cancel(self._all)
        else:
            for handle in self._all:
                handle.cancel()
        self._all = []

    def close(self) -> None:
        if self.client is None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _value(arg: Any) -> Any:
    return arg.result() if isinstance(arg, _futures.Future) else arg


# -- the client's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Surveyed:
    rows: int
    scans: dict[str, ColumnScan]
    metadata: list[ColumnMetadata | None]
    digest: str


def _survey_all(
    runner: _Runner,
    ddf: Any,
    plan: _Plan,
    roles: tuple[str | None, str | None, str | Sequence[str] | None] | None,
    digest: bool,
) -> _Surveyed:
    handles = runner.per_partition(ddf, _survey, plan, roles, digest)
    surveys: list[_Survey] = [h.result() for h in handles]
    scans: dict[str, ColumnScan] = {}
    for survey in surveys:
        for name, scan in survey.scans.items():
            scans[name] = scans[name].merge(scan) if name in scans else scan
    combined = hashlib.sha256(f"nexosis-pandas {__version__} dask\n".encode())
    for survey in surveys:
        combined.update(f"{survey.digest}\n".encode())
    return _Surveyed(
        rows=sum(s.rows for s in surveys),
        scans=scans,
        metadata=[s.metadata if s.rows else None for s in surveys],
        digest=combined.hexdigest(),
    )


def _check_dask(ddf: Any) -> None:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"Expected a Dask DataFrame, got {type(ddf).__name__}")
    if ddf.npartitions > MAX_PARTS // 2:
        raise ValueError(
            f"The frame has {ddf.npartitions} partitions; one upload holds at most "
            f"{MAX_PARTS // 2} (S3 allows {MAX_PARTS} parts). Repartition it, e.g. "
            "ddf = ddf.repartition(partition_size='100MB')."
        )


def upload_dask_dataframe(
    ddf: Any,
    s3_url: str,
    *,
    format: Format | None = None,
    compression: Compression | Literal["infer"] = "infer",
    index: bool | None = None,
    storage_options: Mapping[str, Any] | None = None,
    fs: Any = None,
    progress: ProgressArg = None,
    _surveyed: _Surveyed | None = None,
    _runner: _Runner | None = None,
) -> S3Object:
    """:func:`nexosis_pandas.upload_dataframe` for a Dask DataFrame (see the module docstring).

    ``index=None`` writes the index when it is named or its labels are not integers (a
    partition's integer labels only number its rows). Only CSV is written.
    """
    started = time.perf_counter()
    _check_dask(ddf)
    format, compression = file_format(s3_url, format, compression)
    if format != "csv":
        raise ValueError(
            f"A Dask DataFrame is uploaded as CSV (one file from all partitions), not {format!r}: "
            "end the key in .csv.gz or .csv."
        )
    scheme, bucket, key = split_url(s3_url)
    if scheme != "s3":
        raise ValueError(
            f"A Dask DataFrame is uploaded to S3 (s3://bucket/key.csv.gz), not to {s3_url!r}."
        )
    url = f"s3://{bucket}/{key}"
    reporter = resolve_progress(progress)
    if fs is not None:  # the workers build their own from its options
        options = dict(fs.storage_options)
    else:
        options = config.storage_options(storage_options)
    validate_column_names(_as_written(ddf._meta, index)[0], index=False)
    plan = _Plan(ddf.npartitions, index, format, compression, storage_options=options)
    runner = _runner or _Runner()
    s3 = fs if fs is not None else plan.filesystem()
    upload_id: str | None = None
    try:
        surveyed = _surveyed or _survey_all(runner, ddf, plan, None, False)
        reporter.upload_start(url, surveyed.rows)
        reporter.upload_partitions(0, ddf.npartitions, runner.dashboard)
        try:
            upload_id = str(
                s3.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
            )
            plan = replace(plan, scans=surveyed.scans, bucket=bucket, key=key, upload_id=upload_id)
            pieces = runner.per_partition(ddf, _upload_partition, plan)
            done: dict[int, tuple[_Piece, int]] = {}
            rows = sent = 0
            # the client sees each partition's counts as it completes, never its bytes
            for handle in runner.as_completed([runner.submit(_piece_summary, p) for p in pieces]):
                piece, kept = handle.result()
                done[piece.number] = (piece, kept)
                rows += piece.rows
                sent += piece.bytes_written - kept
                reporter.upload_partitions(len(done), ddf.npartitions, runner.dashboard)
                reporter.upload_update(min(rows, max(surveyed.rows - 1, 0)), sent)
            ordered = [done[i] for i in range(ddf.npartitions)]
            runs = {
                runner.submit(_upload_run, plan, *(pieces[i] for i in run)): run
                for run in _runs(ordered)
            }
            parts = [p for piece, _ in ordered for p in piece.parts]
            for handle in runner.as_completed(list(runs)):
                parts.append(handle.result())
                sent += sum(ordered[i][1] for i in runs[handle])
                reporter.upload_update(min(rows, max(surveyed.rows - 1, 0)), sent)
            parts.sort()
            answer = s3.call_s3(
                "complete_multipart_upload",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
            )
        except BaseException:
            runner.cancel()
            if upload_id is not None:
                _abort(s3, bucket, key, upload_id)
            raise
        finally:
            runner.close()
        etag = answer.get("ETag")
        result = S3Object(
            url=url,
            bucket=bucket,
            key=key,
            region=_region(s3),
            format=format,
            compression=compression,
            rows=surveyed.rows,
            columns=tuple(validate_column_names(_as_written(ddf._meta, index)[0], index=False)),
            bytes_uncompressed=sum(piece.bytes_uncompressed for piece, _ in ordered),
            bytes_written=sum(piece.bytes_written for piece, _ in ordered),
            etag=str(etag).strip('"') if etag else None,
            sha256="",
            seconds=time.perf_counter() - started,
        )
    except (KeyboardInterrupt, ColumnError, UploadError) as exc:
        reporter.upload_end(None, exc)
        raise
    except Exception as exc:
        error: BaseException = exc
        if _is_storage_error(exc):
            error = _upload_error(exc, url, bucket, key, _endpoint(s3))
        reporter.upload_end(None, error)
        if error is exc:
            raise
        raise error from exc
    reporter.upload_update(result.rows, result.bytes_written)
    reporter.upload_end(result, None)
    return result


def _abort(fs: Any, bucket: str, key: str, upload_id: str) -> None:
    with contextlib.suppress(Exception):  # best effort; S3 expires incomplete uploads by rule
        fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)


def _combine_metadata(meta: ColumnMetadata, parts: list[ColumnMetadata | None]) -> ColumnMetadata:
    """The roles from the frame's meta; each column's data type from the partitions' values.

    Partitions that disagree (an ``object`` column of numbers in one, text in another) make the
    column ``string``, as pandas' own inference does for mixed values.
    """
    combined = {name: dict(fields) for name, fields in meta.items()}
    for name, fields in combined.items():
        kinds = {
            p[name]["dataType"] for p in parts if p is not None and "dataType" in p.get(name, {})
        }
        if len(kinds) == 1:
            fields["dataType"] = kinds.pop()
        elif kinds:
            fields["dataType"] = DataType.STRING.value
    return combined


def _infer(
    ddf: Any,
    runner: _Runner,
    target: str | None,
    timestamp: str | None,
    key: str | Sequence[str] | None,
    *,
    digest: bool = False,
    options: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, ColumnMetadata, _Surveyed]:
    """The frame's meta as sent, its column metadata (checked on the workers), the survey."""
    _check_dask(ddf)
    meta = _as_written(ddf._meta, None)[0]
    try:  # names and roles, from the dtypes alone; values are the workers' to check
        meta_metadata = _columns.infer_column_metadata(
            meta, target=target, timestamp=timestamp, key=key
        )
    except ColumnError as exc:
        if exc.column not in meta.columns or meta[exc.column].dtype != object:
            raise
        meta_metadata = _columns.infer_column_metadata(meta)
    plan = _Plan(ddf.npartitions, None, storage_options=options or {})
    surveyed = _survey_all(runner, ddf, plan, (target, timestamp, key), digest)
    return meta, _combine_metadata(meta_metadata, surveyed.metadata), surveyed


def infer_dask_column_metadata(
    ddf: Any,
    *,
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
) -> ColumnMetadata:
    """:func:`nexosis_pandas.infer_column_metadata` for a Dask DataFrame, checked on the workers.

    The data types come from the partitions' values (a column whose partitions disagree is
    ``string``); a key is checked for missing values and duplicates within each partition.
    """
    runner = _Runner()
    try:
        return _infer(ddf, runner, target, timestamp, key)[1]
    finally:
        runner.close()


def import_dask_dataframe(
    ddf: Any,
    dataset_name: str,
    s3_url: str | None = None,
    *,
    columns: Literal["infer"] | Mapping[str, Mapping[str, Any]] | None = "infer",
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
    wait: bool = True,
    timeout: float | None = None,
    progress: ProgressArg = "auto",
    client: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    fs: Any = None,
) -> ImportJob:
    """:func:`nexosis_pandas.import_dataframe` for a Dask DataFrame (see the module docstring)."""
    required_text("dataset_name", dataset_name)
    nexosis = api.default_client(client)
    reporter = resolve_progress(progress)
    reporter.begin(dataset_name)
    options = config.storage_options(storage_options)
    runner = _Runner()
    try:
        meta, metadata, surveyed = _infer(
            ddf, runner, target, timestamp, key, digest=s3_url is None, options=options
        )
    except BaseException:
        runner.cancel()
        runner.close()
        raise
    sent = metadata_to_send(meta, metadata, columns, target=target, timestamp=timestamp, key=key)
    url = digest_url(surveyed.digest, dataset_name) if s3_url is None else s3_url
    fs = filesystem(url, options, fs)
    obj = None
    if s3_url is None:
        obj = api.existing_object(meta, url, fs, reporter, rows=surveyed.rows)
    if obj is not None:
        runner.close()
    else:
        obj = upload_dask_dataframe(
            ddf, url, index=None, fs=fs, progress=reporter, _surveyed=surveyed, _runner=runner
        )
    return api.import_upload(
        nexosis,
        dataset_name,
        obj,
        reporter,
        columns=sent,
        content_type="csv",
        wait=wait,
        timeout=timeout,
    )


# -- ddf.nexosis ---------------------------------------------------------------------------------


@register_dataframe_accessor("nexosis")
class DaskAccessor:
    """Send a Dask DataFrame to Nexosis: ``ddf.nexosis.to_dataset("sales")``.

    The workers encode and upload the partitions; the client sends only the requests. See
    :func:`nexosis_pandas.import_dataframe` for the parameters.

    Examples
    --------
    >>> job = ddf.nexosis.to_dataset("sales", target="units", timestamp="day")  # doctest: +SKIP
    """

    @user_error
    def __init__(self, dask_obj: Any) -> None:
        validate_column_names(dask_obj._meta, index=False)
        self._obj = dask_obj

    @user_error
    def to_dataset(
        self, dataset_name: str, s3_url: str | None = None, **options: Unpack[ImportOptions]
    ) -> ImportJob:
        """Upload the frame from the workers, import it into ``dataset_name`` and wait.

        See :func:`nexosis_pandas.import_dataframe`.

        Examples
        --------
        >>> job = ddf.nexosis.to_dataset("sales", key="order_id")  # doctest: +SKIP
        """
        return import_dask_dataframe(self._obj, dataset_name, s3_url, **options)

    @user_error
    def column_metadata(
        self,
        *,
        target: str | None = None,
        timestamp: str | None = None,
        key: str | Sequence[str] | None = None,
    ) -> ColumnMetadata:
        """The column metadata an import would send; see :func:`infer_dask_column_metadata`.

        Examples
        --------
        >>> ddf.nexosis.column_metadata(target="units")  # doctest: +SKIP
        {'units': {'dataType': 'numeric', 'role': 'target'}}
        """
        return infer_dask_column_metadata(self._obj, target=target, timestamp=timestamp, key=key)

    @user_error
    def to_s3(self, s3_url: str, **options: Any) -> S3Object:
        """Write the frame to one S3 object from the workers; see :func:`upload_dask_dataframe`.

        Examples
        --------
        >>> obj = ddf.nexosis.to_s3("s3://my-bucket/sales.csv.gz")  # doctest: +SKIP
        """
        return upload_dask_dataframe(self._obj, s3_url, **options)
