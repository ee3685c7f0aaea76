"""The client's side: the functions that send a Dask DataFrame, composing the workers' tasks.

:func:`write` runs the one upload pass (:func:`~nexosis_pandas._dask.worker.upload_partition`
on every partition) and completes the object (:mod:`~nexosis_pandas._dask.assemble`);
:func:`upload_dask_dataframe`, :func:`import_dask_dataframe` and
:func:`infer_dask_column_metadata` each open one :class:`~nexosis_pandas._dask.runner.Runner`
and compose the passes they need.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Unpack

import dask.dataframe as dd

from nexosis_pandas import columns as _columns
from nexosis_pandas._background import check_wait, in_background
from nexosis_pandas._dask.assemble import may_release, parts_and_runs
from nexosis_pandas._dask.keys import check_keys_across_partitions
from nexosis_pandas._dask.runner import Runner
from nexosis_pandas._dask.worker import (
    Facts,
    Piece,
    Plan,
    Roles,
    as_written,
    partition_facts,
    summary,
    upload_partition,
    upload_run,
)
from nexosis_pandas._digest import digest_url
from nexosis_pandas._encode.encoder import ColumnScan, file_format
from nexosis_pandas._follow import Follow
from nexosis_pandas._frame import validate_column_names
from nexosis_pandas._importing import (
    ImportOptions,
    UploadOptions,
    default_client,
    existing_object,
    import_upload,
)
from nexosis_pandas._job import ImportJob
from nexosis_pandas._options import (
    check_names,
    required_text,
)
from nexosis_pandas._storage.pipeline import filesystem
from nexosis_pandas._storage.upload import (
    MAX_PARTS,
    Multipart,
    S3Object,
    region,
    reporting,
    split_url,
)
from nexosis_pandas._version import __version__
from nexosis_pandas._wire import DATA_TYPE, ColumnMetadata, DataType
from nexosis_pandas.exceptions import ColumnError
from nexosis_pandas.progress import ProgressReporter, resolve_progress

__all__ = ["import_dask_dataframe", "infer_dask_column_metadata", "upload_dask_dataframe"]


def _check_dask(ddf: Any) -> None:
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"Expected a Dask DataFrame, got {type(ddf).__name__}")
    if ddf.npartitions > MAX_PARTS // 2:
        raise ValueError(
            f"The frame has {ddf.npartitions} partitions; one upload holds at most "
            f"{MAX_PARTS // 2} (S3 allows {MAX_PARTS} parts). Repartition it, e.g. "
            "ddf = ddf.repartition(partition_size='100MB')."
        )


def _s3_only(s3_url: str) -> str:
    scheme, bucket, key = split_url(s3_url)
    if scheme != "s3":
        raise ValueError(
            f"A Dask DataFrame is uploaded to S3 (s3://bucket/key.csv.gz), not to {s3_url!r}."
        )
    return f"s3://{bucket}/{key}"


def _merged(scans: Sequence[dict[str, ColumnScan]]) -> dict[str, ColumnScan]:
    merged: dict[str, ColumnScan] = {}
    for each in scans:
        for name, scan in each.items():
            merged[name] = merged[name].merge(scan) if name in merged else scan
    return merged


def write(
    runner: Runner,
    ddf: Any,
    url: str,
    plan: Plan,
    fs: Any,
    reporter: ProgressReporter,
    *,
    rows: int | None = None,
    check: Callable[[list[Facts]], None] | None = None,
) -> S3Object:
    """Upload every partition as parts of one multipart upload to ``url``, and complete it.

    One pass: each worker checks, scans, encodes and sends its partition. With ``plan.scans``
    unset, each partition is encoded by its own scans and the few whose scans differ from the
    merged ones are encoded again, so the object holds the bytes of the computed frame. Before
    completing, ``check`` sees every partition's facts and may raise. Any error or interrupt
    cancels the tasks and aborts the upload: no object appears.
    """
    started = time.perf_counter()
    reporter.upload_start(url, rows)
    reporter.upload_partitions(0, ddf.npartitions, runner.dashboard)
    multipart: Multipart | None = None
    with reporting(reporter, url, fs):
        try:
            multipart = Multipart.start(fs, url)
            plan = replace(plan, upload=multipart, threads=runner.threads_per_task())
            pieces, handles = _upload_pass(runner, ddf, plan, reporter)
            facts = [p.facts for p in pieces if p.facts is not None]
            if plan.scans is None:
                merged = _merged([p.scans for p in pieces])
                plan = replace(plan, scans=merged)
                again = [p.number for p in pieces if p.rows and p.scans != merged]
                _redo(runner, ddf, plan, again, pieces, handles)
            if check is not None:
                check(facts)
            parts, runs = parts_and_runs(pieces, plan.numbers_per_partition)
            needed = [m for run in runs for m in run.members if m not in handles]
            _redo(runner, ddf, plan, needed, pieces, handles)
            sending = [
                runner.submit(
                    upload_run,
                    multipart,
                    run.number,
                    list(run.skips),
                    *(handles[m] for m in run.members),
                )
                for run in runs
            ]
            parts += [handle.result() for handle in runner.as_completed(sending)]
            etag = multipart.complete(fs, parts)
        except BaseException:
            runner.cancel()
            if multipart is not None:
                multipart.abort(fs)
            raise
        _, bucket, key = split_url(url)
        frame = as_written(ddf._meta, plan.index)[0]
        result = S3Object(
            url=url,
            bucket=bucket,
            key=key,
            region=region(fs),
            format=plan.format,
            compression=plan.compression,
            rows=sum(p.rows for p in pieces),
            columns=tuple(validate_column_names(frame, index=False)),
            bytes_uncompressed=sum(p.bytes_uncompressed for p in pieces),
            bytes_written=sum(p.bytes_written for p in pieces),
            etag=etag,
            sha256="",
            seconds=time.perf_counter() - started,
        )
    reporter.upload_update(result.rows, result.bytes_written)
    reporter.upload_end(result, None)
    return result


def _upload_pass(
    runner: Runner, ddf: Any, plan: Plan, reporter: ProgressReporter
) -> tuple[list[Piece], dict[int, Any]]:
    """Every partition's piece (summaries, in order), and the handles of those whose kept bytes
    may still be needed (the others are released as soon as that is sure, bounding memory)."""
    handles = runner.per_partition(ddf, upload_partition, plan)
    summaries = {runner.submit(summary, h, first=True): i for i, h in handles.items()}
    done: dict[int, Piece] = {}
    rows = sent = 0
    for handle in runner.as_completed(list(summaries)):
        piece: Piece = handle.result()
        runner.release(handle)
        done[piece.number] = piece
        rows += piece.rows
        sent += piece.bytes_written
        reporter.upload_partitions(len(done), ddf.npartitions, runner.dashboard)
        reporter.upload_update(rows if len(done) < ddf.npartitions else max(rows - 1, 0), sent)
        for number in (piece.number, piece.number + 1):
            if number in handles and may_release(number, done):
                runner.release(handles.pop(number))
    return [done[i] for i in range(ddf.npartitions)], handles


def _redo(
    runner: Runner,
    ddf: Any,
    plan: Plan,
    numbers: list[int],
    pieces: list[Piece],
    handles: dict[int, Any],
) -> None:
    """Upload partitions ``numbers`` again by ``plan`` (same part numbers, replaced)."""
    if not numbers:
        return
    for number, handle in runner.per_partition(
        ddf, upload_partition, plan, numbers=sorted(set(numbers))
    ).items():
        old = handles.pop(number, None)
        if old is not None:
            runner.release(old)
        handles[number] = handle
        piece = runner.submit(summary, handle).result()
        pieces[number] = replace(piece, facts=pieces[number].facts)


def upload_dask_dataframe(ddf: Any, s3_url: str, **options: Unpack[UploadOptions]) -> S3Object:
    """:func:`nexosis_pandas.upload_dataframe` for a Dask DataFrame; see :mod:`.._dask`.

    The options are :func:`~nexosis_pandas.upload_dataframe`'s, with its defaults;
    ``index=None`` writes the index when it is named or its labels are not integers (a
    partition's integer labels only number its rows).
    """
    check_names(options, UploadOptions, "upload_dataframe")
    index = options.get("index")
    _check_dask(ddf)
    format, compression = file_format(
        s3_url, options.get("format"), options.get("compression", "infer")
    )
    url = _s3_only(s3_url)
    validate_column_names(as_written(ddf._meta, index)[0], index=False)
    fs = filesystem(url, options.get("storage_options"), options.get("fs"))
    with Runner() as runner:
        plan = Plan(ddf.npartitions, index, format, compression)
        return write(runner, ddf, url, plan, fs, resolve_progress(options.get("progress")))


def _combine_metadata(meta: ColumnMetadata, facts: Sequence[Facts]) -> ColumnMetadata:
    """The roles from the frame's meta; each column's data type from the partitions' values.

    Partitions that disagree (an ``object`` column of numbers in one, text in another) make the
    column ``string``, as pandas' own inference does for mixed values.
    """
    parts = [f.metadata for f in facts if f.rows and f.metadata is not None]
    combined = {name: dict(fields) for name, fields in meta.items()}
    for name, fields in combined.items():
        kinds = {p[name][DATA_TYPE] for p in parts if DATA_TYPE in p.get(name, {})}
        if len(kinds) == 1:
            fields[DATA_TYPE] = kinds.pop()
        elif kinds:
            fields[DATA_TYPE] = DataType.STRING.value
    return combined


class _Columns:
    """A Dask frame's column metadata: from its meta at once, from its values on the workers."""

    def __init__(self, ddf: Any, roles: Roles) -> None:
        _check_dask(ddf)
        self.ddf, self.roles = ddf, roles
        self.meta = as_written(ddf._meta, None)[0]
        target, timestamp, key = roles
        try:  # names and roles, from the dtypes alone; values are the workers' to check
            self.from_meta = _columns.infer_column_metadata(
                self.meta, target=target, timestamp=timestamp, key=key
            )
        except ColumnError as exc:
            if exc.column not in self.meta.columns or self.meta[exc.column].dtype != object:
                raise
            self.from_meta = _columns.infer_column_metadata(self.meta)

    def plan(self, **fields: Any) -> Plan:
        return Plan(self.ddf.npartitions, None, roles=self.roles, **fields)

    def checked(self, runner: Runner, plan: Plan, facts: Sequence[Facts]) -> ColumnMetadata:
        """The metadata from every partition's facts, once no key repeats across partitions."""
        check_keys_across_partitions(runner, self.ddf, plan, facts)
        return _combine_metadata(self.from_meta, facts)

    def survey(self, runner: Runner, plan: Plan) -> list[Facts]:
        """Every partition's facts, without uploading (a pass of its own)."""
        handles = runner.per_partition(self.ddf, partition_facts, plan)
        return [handles[i].result() for i in range(self.ddf.npartitions)]


def infer_dask_column_metadata(
    ddf: Any,
    *,
    target: str | None = None,
    timestamp: str | None = None,
    key: str | Sequence[str] | None = None,
) -> ColumnMetadata:
    """:func:`nexosis_pandas.infer_column_metadata` for a Dask DataFrame, checked on the workers.

    The data types come from the partitions' values (a column whose partitions disagree is
    ``string``); a key is checked for missing values and repeats, within and across partitions.
    """
    columns = _Columns(ddf, (target, timestamp, key))
    with Runner() as runner:
        plan = columns.plan()
        return columns.checked(runner, plan, columns.survey(runner, plan))


def _digest(facts: Sequence[Facts]) -> str:
    combined = hashlib.sha256(f"nexosis-pandas {__version__} dask\n".encode())
    for each in facts:
        combined.update(f"{each.digest}\n".encode())
    return combined.hexdigest()


def import_dask_dataframe(
    ddf: Any, dataset_name: str, s3_url: str | None = None, **options: Unpack[ImportOptions]
) -> ImportJob:
    """:func:`nexosis_pandas.import_dataframe` for a Dask DataFrame; see :mod:`.._dask`.

    The options are :func:`~nexosis_pandas.import_dataframe`'s, with its defaults. With
    ``s3_url``, one pass: the workers check, encode and upload their partitions, and the
    client completes the object once every check has passed. Without, the object is named by
    the frame's content, so a first pass digests and checks the partitions and a second
    uploads them, unless that object exists already.
    """
    check_names(options, ImportOptions, "import_dataframe")
    wait, background = options.get("wait", True), options.get("background", False)
    check_wait(wait, background)
    target, timestamp, key = options.get("target"), options.get("timestamp"), options.get("key")
    columns = options.get("columns", "infer")
    storage_options, fs = options.get("storage_options"), options.get("fs")
    required_text("dataset_name", dataset_name)
    known = _Columns(ddf, (target, timestamp, key))
    nexosis = default_client(options.get("client"))
    reporter = resolve_progress(options.get("progress", "auto"))
    reporter.begin(dataset_name)

    def run(follow: Follow[ImportJob] | None) -> ImportJob:
        sent: list[ColumnMetadata | None] = []

        def check(runner: Runner, plan: Plan, facts: Sequence[Facts]) -> None:
            metadata = known.checked(runner, plan, facts)
            sent.append(
                _columns.metadata_to_send(
                    known.meta, metadata, columns, target=target, timestamp=timestamp, key=key
                )
            )

        with Runner() as runner:
            obj: S3Object | None = None
            if s3_url is None:
                survey = known.plan(digest=True)
                facts = known.survey(runner, survey)
                check(runner, survey, facts)
                url = digest_url(_digest(facts), dataset_name)
                rows = sum(f.rows for f in facts)
                files = filesystem(url, storage_options, fs)
                obj = existing_object(known.meta, url, files, reporter, rows=rows)
                if obj is None:
                    fmt, compression = file_format(url)
                    plan = known.plan(format=fmt, compression=compression)
                    plan = replace(plan, scans=_merged([f.scans for f in facts]))
                    obj = write(runner, ddf, url, plan, files, reporter, rows=rows)
            else:
                fmt, compression = file_format(s3_url)
                url = _s3_only(s3_url)
                plan = known.plan(format=fmt, compression=compression)
                files = filesystem(url, storage_options, fs)
                obj = write(
                    runner,
                    ddf,
                    url,
                    plan,
                    files,
                    reporter,
                    check=lambda facts: check(runner, plan, facts),
                )
        return import_upload(
            nexosis,
            dataset_name,
            obj,
            reporter,
            columns=sent[-1],
            content_type=obj.format,
            wait=wait,
            timeout=options.get("timeout"),
            pending=follow,
        )

    if background:
        return in_background(dataset_name, "s3", nexosis, reporter, run)
    return run(None)
