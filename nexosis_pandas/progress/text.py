"""Progress as plain lines, for terminals, scripts and logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from nexosis_pandas._html import format_bytes, format_count, format_seconds
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.progress.base import DisplayedJob, Journey, ProgressReporter, resume_hint

if TYPE_CHECKING:
    from nexosis_pandas._objects import S3Object

__all__ = ["TextReporter"]


class TextReporter(ProgressReporter):
    """Progress as plain lines, for terminals, scripts and logs.

    A line when the upload starts, at most one a second while it runs, one when it ends; a line
    for each new import status; a last line that sums the journey up.

    Parameters
    ----------
    file
        Where lines go; by default ``sys.stderr`` at the time of writing.
    min_interval
        Seconds between two upload progress lines.
    clock
        A monotonic clock (tests pass a fake).

    Examples
    --------
    >>> job = df.nexosis.to_dataset("sales", progress=TextReporter())  # doctest: +SKIP
    nexosis: uploading 10,000 rows to s3://my-bucket/nexosis/sales-1f2e3d4c5b6a7988.csv.gz
    ...
    """

    def __init__(
        self,
        file: TextIO | None = None,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._file = file
        self._min_interval = min_interval
        self._journey = Journey(clock)
        self._last_line: float | None = None
        self._history_shown = 0
        self._last_status: ImportStatus | None = None

    def _write(self, text: str) -> None:
        stream = self._file if self._file is not None else sys.stderr
        print(f"nexosis: {text}", file=stream, flush=True)
        self._last_line = self._journey.clock()

    def begin(self, dataset_name: str) -> None:
        self._journey.dataset_name = dataset_name

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self._journey.upload_start(url, total_rows)
        rows = "" if total_rows is None else f"{format_count(int(total_rows))} rows "
        self._write(f"uploading {rows}to {url}")

    def upload_partitions(self, done: int, total: int, dashboard: str | None = None) -> None:
        self._journey.upload_partitions(done, total, dashboard)
        if done == 0:
            where = f"; Dask dashboard: {dashboard}" if dashboard else ""
            self._write(f"the Dask workers upload {format_count(total)} partitions{where}")

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        j = self._journey
        j.upload_update(rows_done, bytes_sent)
        if self._last_line is not None and j.clock() - self._last_line < self._min_interval:
            return
        total = format_count(j.total_rows) if j.total_rows is not None else "?"
        self._write(
            f"upload {j.upload_percent:.0f}% ({format_count(j.rows_done)}/{total} rows, "
            f"{format_bytes(j.bytes_sent)} sent, {format_seconds(j.elapsed)}"
            + (f", {j.partitions_done}/{j.partitions} partitions" if j.partitions else "")
            + ")"
        )

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        j = self._journey
        j.upload_end(obj, error)
        if isinstance(error, KeyboardInterrupt):
            self._write(f"upload stopped after {format_seconds(j.elapsed)}; nothing was written")
        elif error is not None:
            self._write(f"upload failed after {format_seconds(j.elapsed)}: {error}")
            self._write(j.summary_text())
        elif j.reused:
            self._write(f"{j.url} already holds this data; not uploading it again")
        else:
            self._write(
                f"uploaded {j.url} ({format_bytes(j.bytes_sent)}, "
                f"{format_seconds(j.upload_seconds or 0.0)})"
            )

    def import_update(self, job: DisplayedJob) -> None:
        self._journey.import_update(job)
        # The server's history names the stages that passed between two polls (a fast import
        # goes from requested to completed unseen), with the server's own times.
        history = job.status_history
        for change in history[self._history_shown :]:
            since = (change.date - history[0].date).total_seconds()
            self._status_line(job, change.status, since)
        self._history_shown = max(self._history_shown, len(history))
        if job.status is not self._last_status:
            self._status_line(job, job.status, self._journey.import_elapsed or 0.0)

    def _status_line(self, job: DisplayedJob, status: ImportStatus, since: float) -> None:
        if self._last_status is None:
            self._write(f"import {job.import_id} into dataset {job.dataset_name!r} {status.value}")
        else:
            self._write(f"import {status.value} ({format_seconds(since)})")
        self._last_status = status

    def import_end(self, job: DisplayedJob | None, error: BaseException | None = None) -> None:
        if job is not None:
            self.import_update(job)
        self._journey.import_end(job, error)
        self._write(self._journey.summary_text())

    def interrupted(self, job: DisplayedJob) -> None:
        self._journey.interrupted(job)
        self._write(
            f"stopped waiting after {format_seconds(self._journey.elapsed)}. Import "
            f"{job.import_id} continues on the server; resume with {resume_hint(job.import_id)}"
        )

    def detached(self, job: DisplayedJob) -> None:
        self.import_update(job)
        self._journey.detached(job)
        self._write(self._journey.summary_text())
