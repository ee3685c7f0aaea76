"""What every progress display shares: the reporter protocol, the outcome, the journey.

Library code always holds a :class:`ProgressReporter` (never ``None``) and calls its methods;
the default does nothing. The displays (:mod:`~nexosis_pandas.progress.text`,
:mod:`~nexosis_pandas.progress.widget`) draw from one :class:`Journey`, so they always agree on
percentages, stages and times, and each journey ends in one :class:`Outcome`.

A reporter is handed the :class:`~nexosis_pandas.ImportJob` it reports on, typed as
:class:`DisplayedJob`, the few fields a display reads of a job: this package imports nothing of
the job's module, which sits above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol, Union

from nexosis_pandas._html import format_count, format_seconds
from nexosis_pandas._objects import S3Object
from nexosis_pandas._wire import Import, ImportStatus, StatusChange

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DisplayedJob",
    "Journey",
    "Outcome",
    "ProgressArg",
    "ProgressReporter",
    "ProgressWarning",
    "resume_hint",
]


class DisplayedJob(Protocol):
    """What a progress display reads of the import job it reports on.

    :class:`nexosis_pandas.ImportJob` is one; the reporter's methods are handed the job itself.
    A display only reads these fields and never changes the job: what it keeps about a job (the
    cell whose summary showed it, say) it keeps on its own side.
    """

    @property
    def import_id(self) -> str:
        """The import's id; ``""`` while a background upload still runs."""
        ...

    @property
    def dataset_name(self) -> str:
        """The dataset the import loads into."""
        ...

    @property
    def status(self) -> ImportStatus:
        """The status at the last report."""
        ...

    @property
    def status_history(self) -> tuple[StatusChange, ...]:
        """Every status change, oldest first."""
        ...

    @property
    def record(self) -> Import:
        """The wire record of the last report, which carries the server's read progress."""
        ...

    @property
    def error(self) -> str:
        """The server's error messages joined, or ``""``."""
        ...

    @property
    def duration(self) -> pd.Timedelta | None:
        """The server's time from request to end, or ``None`` while the import runs."""
        ...

    @property
    def upload(self) -> S3Object | None:
        """The object this process uploaded for the import, if it did."""
        ...


class ProgressReporter:
    """Receives the stages of an upload and an import; every method does nothing by default.

    Subclass it and override what you need. Calls arrive in this order: ``begin``, ``upload_start``,
    ``upload_update`` (repeatedly), ``upload_end``; then ``import_update`` (for each report of the
    import's state, the first right after it was requested), and ``import_end`` once, or
    ``interrupted`` when the user stops the wait, or ``detached`` when the caller does not wait
    (``wait=False``). With ``background=True``, ``background`` comes right after ``begin``, in
    the caller's thread, and the rest from a background thread. A reporter used only for an
    upload, or only for a wait, sees only that part.
    """

    def begin(self, dataset_name: str) -> None:
        """The journey into the dataset ``dataset_name`` begins, before anything is sent."""

    def upload_start(self, url: str, total_rows: int | None) -> None:
        """The upload of ``total_rows`` rows to ``url`` begins.

        ``None`` when the count is not known yet: a Dask DataFrame uploaded in one pass, whose
        partitions tell their rows as they end.
        """

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        """S3 has taken ``bytes_sent`` bytes of the object, holding the first ``rows_done`` rows."""

    def upload_partitions(self, done: int, total: int, dashboard: str | None = None) -> None:
        """The workers of a Dask cluster have uploaded ``done`` of the ``total`` partitions.

        Only for a Dask DataFrame: called with ``done=0`` right after ``upload_start``, then as
        each partition ends, before the ``upload_update`` that counts its rows. ``dashboard`` is
        the link to the Dask dashboard when a distributed client runs the work.
        """

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        """The upload ended: ``obj`` describes the object written, or ``error`` says why not."""

    def import_update(self, job: DisplayedJob) -> None:
        """The server reported the import's current state (``job.status``)."""

    def import_end(self, job: DisplayedJob | None, error: BaseException | None = None) -> None:
        """Waiting ended: the import completed, or ``error`` (failure, timeout) says otherwise.

        ``job`` is ``None`` when the import could not even be requested.
        """

    def interrupted(self, job: DisplayedJob) -> None:
        """The user interrupted the wait; the import goes on on the server."""

    def detached(self, job: DisplayedJob) -> None:
        """The import was requested and the caller does not wait for it (``wait=False``)."""

    def background(self, job: DisplayedJob) -> None:
        """From now on ``job`` is uploaded and followed in a background thread.

        Called in the caller's thread, before the thread starts and before any other call but
        ``begin``; every later call comes from the background thread. A display that writes
        into a notebook cell keeps it here, so that its output lands in the cell that started
        the import rather than in the cell running when it arrives.
        """


ProgressArg = Union[ProgressReporter, bool, Literal["auto", "widget", "text"], None]  # noqa: UP007
"""``"auto"``, ``"widget"``, ``"text"``, ``True`` (same as ``"auto"``), ``False``/``None``
(nothing), or a :class:`ProgressReporter`."""


class ProgressWarning(UserWarning):
    """The progress widget cannot be shown; progress falls back to text lines."""


class Outcome(StrEnum):
    """How a journey ended; the value is the word the displays show.

    Examples
    --------
    >>> Outcome.TIMED_OUT.tone, Outcome.TIMED_OUT.label, Outcome.FAILED.is_failure
    ('warning', 'Timed out', True)
    """

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ERROR = "error"
    UPLOAD_FAILED = "upload failed"
    TIMED_OUT = "timed out"
    INTERRUPTED = "interrupted"
    REQUESTED = "requested"

    @property
    def is_failure(self) -> bool:
        """Whether the import or the upload failed (rather than stopped or was left running)."""
        return self in (Outcome.FAILED, Outcome.CANCELLED, Outcome.ERROR, Outcome.UPLOAD_FAILED)

    @property
    def tone(self) -> Literal["success", "danger", "warning", "info"]:
        """Green for done, red for failed, amber for stopped, blue for still running."""
        if self is Outcome.COMPLETED:
            return "success"
        if self.is_failure:
            return "danger"
        if self is Outcome.REQUESTED:
            return "info"
        return "warning"

    @property
    def label(self) -> str:
        """The outcome as a heading (``"Stopped"`` for an interruption)."""
        special = {Outcome.INTERRUPTED: "Stopped", Outcome.REQUESTED: "Import requested"}
        return special.get(self, self.value.capitalize())


# -- the journey both displays follow ---------------------------------------------------------

_STAGES = ("upload", "requested", "started", "completed")


def resume_hint(import_id: str) -> str:
    """The line that resumes waiting for an import."""
    return f'nexosis_pandas.get_import("{import_id}").wait()'


def _wait_hint(import_id: str) -> str:
    """How to wait for an import that was requested without waiting."""
    return (
        "The import continues on the server; wait for it with job.wait(), or later with "
        + resume_hint(import_id)
    )


def _object_facts(obj: S3Object | None) -> tuple[str | None, int | None, int | None]:
    """The URL, row count and byte size of an uploaded object."""
    if obj is None:
        return None, None, None
    return obj.url, obj.rows, obj.bytes_written


@dataclass
class Journey:
    """What has happened so far: the state a display is drawn from."""

    clock: Callable[[], float]
    began: float | None = None
    url: str | None = None
    dataset_name: str | None = None
    total_rows: int | None = None
    rows_done: int = 0
    bytes_sent: int = 0
    upload_began: float | None = None
    upload_seconds: float | None = None
    partitions: int | None = None
    partitions_done: int = 0
    dashboard: str | None = None
    uploaded: bool = False
    reused: bool = False
    import_began: float | None = None
    job: DisplayedJob | None = None
    seen: list[ImportStatus] = field(default_factory=list)
    outcome: Outcome | None = None
    error: BaseException | None = None

    def now(self) -> float:
        t = self.clock()
        if self.began is None:
            self.began = t
        return t

    @property
    def elapsed(self) -> float:
        return 0.0 if self.began is None else max(self.clock() - self.began, 0.0)

    @property
    def import_elapsed(self) -> float | None:
        return None if self.import_began is None else max(self.clock() - self.import_began, 0.0)

    @property
    def upload_percent(self) -> float:
        if self.uploaded:
            return 100.0
        if not self.total_rows:  # a Dask frame of unknown length: by its partitions
            return 100.0 * self.partitions_done / self.partitions if self.partitions else 0.0
        return min(100.0 * self.rows_done / self.total_rows, 100.0)

    @property
    def rows(self) -> int | None:
        if self.total_rows is not None:
            return self.total_rows
        if self.job is not None and self.job.upload is not None:
            return _object_facts(self.job.upload)[1]
        return None

    @property
    def dataset(self) -> str | None:
        return self.job.dataset_name if self.job is not None else self.dataset_name

    # events ----------------------------------------------------------------------------

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self.upload_began = self.now()
        self.url = url
        self.total_rows = None if total_rows is None else int(total_rows)
        self.rows_done = self.bytes_sent = 0

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self.now()
        self.rows_done, self.bytes_sent = int(rows_done), int(bytes_sent)

    def upload_partitions(self, done: int, total: int, dashboard: str | None) -> None:
        self.now()
        self.partitions_done, self.partitions = int(done), int(total)
        self.dashboard = dashboard or self.dashboard

    def upload_end(self, obj: S3Object | None, error: BaseException | None) -> None:
        t = self.now()
        if self.upload_began is None:
            self.reused = error is None
        else:
            self.upload_seconds = t - self.upload_began
        url, rows, size = _object_facts(obj)
        self.url = url or self.url
        if rows is not None:
            self.total_rows = rows
        if size is not None:
            self.bytes_sent = size
        if error is None:
            self.uploaded = True
            self.rows_done = self.total_rows or self.rows_done
        elif isinstance(error, KeyboardInterrupt):
            self.outcome, self.error = Outcome.INTERRUPTED, error
        else:
            self.outcome, self.error = Outcome.UPLOAD_FAILED, error

    def import_update(self, job: DisplayedJob) -> bool:
        """Record a report; return whether the status changed."""
        t = self.now()
        if self.import_began is None:
            self.import_began = t
        self.job = job
        if self.seen and self.seen[-1] == job.status:
            return False
        self.seen.append(job.status)
        return True

    def import_end(self, job: DisplayedJob | None, error: BaseException | None) -> None:
        from nexosis_pandas.exceptions import ImportFailedError, ImportTimeoutError

        if job is not None:
            self.import_update(job)
        self.error = error
        if error is None:
            self.outcome = Outcome.COMPLETED
        elif isinstance(error, ImportTimeoutError):
            self.outcome = Outcome.TIMED_OUT
        elif isinstance(error, ImportFailedError) and job is not None:
            cancelled = job.status is ImportStatus.CANCELLED
            self.outcome = Outcome.CANCELLED if cancelled else Outcome.FAILED
        elif isinstance(error, KeyboardInterrupt):  # stopped before the request was sent
            self.outcome = Outcome.INTERRUPTED
        else:
            self.outcome = Outcome.ERROR

    def interrupted(self, job: DisplayedJob) -> None:
        self.import_update(job)
        self.outcome = Outcome.INTERRUPTED

    def detached(self, job: DisplayedJob) -> None:
        self.import_update(job)
        self.outcome = Outcome.REQUESTED

    # words -----------------------------------------------------------------------------

    def stage_marks(self) -> list[tuple[str, str]]:
        """Each stage with a mark: ``done``, ``current``, ``failed`` or ``pending``."""
        history = self.job.status_history if self.job is not None else ()
        reached = {s.value for s in self.seen} | {h.status.value for h in history}
        reached &= set(_STAGES)
        if self.uploaded or self.job is not None:
            reached.add("upload")
        furthest = max((_STAGES.index(s) for s in reached), default=None)
        if furthest is None and self.url:
            furthest = 0
        failed = self.outcome is not None and self.outcome.is_failure
        marks: list[tuple[str, str]] = []
        for i, stage in enumerate(_STAGES):
            if furthest is None or i > furthest:
                mark = "pending"
            elif i < furthest or stage == "completed":
                mark = "done"
            elif failed:
                mark = "failed"
            elif stage == "upload" and self.uploaded:
                mark = "done"
            else:
                mark = "current"
            marks.append((stage, mark))
        return marks

    def message(self) -> str:
        """The server's error messages, or the error's text, for a failed journey."""
        if self.job is not None and self.job.error:
            return self.job.error
        if self.error is not None:
            return str(self.error)
        return ""

    def summary_text(self) -> str:
        """One line that sums the journey up."""
        parts = []
        if self.dataset is not None:
            parts.append(f"dataset {self.dataset!r}")
        elif self.url:
            parts.append(self.url)
        status = self.outcome or (self.job.status.value if self.job else "uploading")
        parts.append(status)
        if self.rows is not None:
            parts.append(f"{format_count(self.rows)} rows")
        parts.append(format_seconds(self.elapsed))
        text = " · ".join(parts)
        if self.outcome is not None and self.outcome.is_failure:
            text += f": {self.message() or 'no reason given'}"
        elif self.outcome in (Outcome.INTERRUPTED, Outcome.TIMED_OUT) and self.job is not None:
            text += ". The import continues on the server; resume with " + resume_hint(
                self.job.import_id
            )
        elif self.outcome is Outcome.INTERRUPTED:
            text += ": the upload was stopped; nothing was written"
        elif self.outcome is Outcome.REQUESTED and self.job is not None:
            text += f". {_wait_hint(self.job.import_id)}"
        return text
