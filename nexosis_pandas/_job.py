"""``ImportJob``: an import as the server last reported it, and the handle to follow it.

The job imports nothing above it. It takes its client as a parameter, in the manner of
BigQuery's jobs, and names it only by :class:`JobClient`, the one method it calls. The wait loop
(:mod:`nexosis_pandas._polling`) and the thread that follows a job in the background
(:mod:`nexosis_pandas._follow`) sit below it and take any job that has the fields they read,
so that :meth:`ImportJob.wait` and :meth:`ImportJob.result` call down to them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from nexosis_pandas._follow import Follow, silent_follow
from nexosis_pandas._polling import wait_for_import
from nexosis_pandas._wire import ColumnMetadata, Import, ImportStatus, Link, Message, StatusChange
from nexosis_pandas.exceptions import ImportTimeoutError
from nexosis_pandas.progress.widget import summary_cell

if TYPE_CHECKING:
    from nexosis_pandas._objects import S3Object
    from nexosis_pandas.progress import ProgressArg

__all__ = ["ImportJob", "JobClient"]

_SEVERITY_TONES = {"error": "danger", "warning": "warning"}
_FOLLOWING = threading.Lock()  # two threads asking one job for its future start one follow


class JobClient(Protocol):
    """What a job asks of the client that fetched it: the import's current state.

    :class:`nexosis_pandas.Client` is one. The job names this protocol rather than the client
    class, which imports the job to hand jobs back.
    """

    def get_import(self, import_id: str) -> ImportJob:
        """Fetch the import's current state."""
        ...


class ImportJob:
    """An import as the server last reported it.

    Returned by :meth:`Client.import_from_s3`, :meth:`Client.get_import` and
    :func:`nexosis_pandas.import_dataframe`. Its fields are a snapshot; :meth:`refresh` asks the
    server again and :meth:`wait` polls until the import ends. A job can be picked up later from
    its id: ``nexosis_pandas.get_import(import_id).wait()``.

    Parameters
    ----------
    record
        The parsed import.
    client
        The client that fetched it, used by :meth:`refresh` and :meth:`wait`.
    upload
        The S3 object this import reads, when this process uploaded it.
    """

    def __init__(
        self, record: Import, client: JobClient, *, upload: S3Object | None = None
    ) -> None:
        self._record = record
        self._client = client
        self.upload = upload
        self._requested = True
        self._follow: Follow[ImportJob] | None = None  # the thread that uploads and waits, if any

    @classmethod
    def _pending(cls, dataset_name: str, kind: str, client: JobClient) -> ImportJob:
        """A job for an import not requested yet: a background upload runs first."""
        job = cls(Import("", kind, ImportStatus.REQUESTED, dataset_name), client)
        job._requested = False
        return job

    def _adopt(self, requested: ImportJob) -> ImportJob:
        """Take the record of the import just requested for this pending job; return self."""
        self._record, self._client, self.upload = (
            requested._record,
            requested._client,
            requested.upload,
        )
        self._requested = True
        return self

    @property
    def requested(self) -> bool:
        """Whether the server has the import; ``False`` while a background upload still runs."""
        return self._requested

    @property
    def record(self) -> Import:
        """The parsed wire record of the last report."""
        return self._record

    @property
    def client(self) -> JobClient:
        """The :class:`~nexosis_pandas.Client` this job talks through."""
        return self._client

    @property
    def import_id(self) -> str:
        """The import's id (a GUID)."""
        return self._record.import_id

    @property
    def type(self) -> str:
        """``"s3"``, ``"url"`` or ``"azure"``."""
        return self._record.type

    @property
    def status(self) -> ImportStatus:
        """The status at the last report."""
        return self._record.status

    @property
    def dataset_name(self) -> str:
        """The dataset the import loads into."""
        return self._record.dataset_name

    @property
    def parameters(self) -> dict[str, str]:
        """Where the import reads from, as the server echoes it: for S3 ``bucket``, ``path``
        and ``region``; for a URL ``url`` (scheme and host only); for Azure ``container``,
        ``blob`` and ``connectionString`` (always ``"redacted"``)."""
        return dict(self._record.parameters)

    @property
    def source(self) -> str:
        """Where the import reads from, in one line.

        Examples
        --------
        >>> from nexosis_pandas._wire import Import, ImportStatus
        >>> def job(kind, **parameters):
        ...     return ImportJob(Import("id", kind, ImportStatus.COMPLETED, "d", parameters), None)
        >>> job("s3", bucket="b", path="in/a.csv", region="us-east-1").source
        's3://b/in/a.csv'
        >>> job("azure", connectionString="redacted", container="c", blob="x/a.csv").source
        'az://c/x/a.csv'
        >>> job("url", url="https://example.com/").source
        'https://example.com/'
        """
        if self.upload is not None:
            return self.upload.url
        params = self.parameters
        if params.get("bucket") and params.get("path"):
            return f"s3://{params['bucket']}/{params['path']}"
        if params.get("container") and params.get("blob"):
            return f"az://{params['container']}/{params['blob']}"
        if params.get("url"):
            return params["url"]
        return ", ".join(f"{k}={v}" for k, v in params.items())

    @property
    def requested_date(self) -> pd.Timestamp | None:
        """When the import was requested (UTC)."""
        return self._record.requested_date

    @property
    def status_history(self) -> tuple[StatusChange, ...]:
        """Every status change, oldest first."""
        return self._record.status_history

    @property
    def messages(self) -> tuple[Message, ...]:
        """The server's messages about the import."""
        return self._record.messages

    @property
    def columns(self) -> ColumnMetadata:
        """The column metadata the import applies."""
        return dict(self._record.columns)

    @property
    def links(self) -> tuple[Link, ...]:
        """Hypermedia links (``self``, ``data``)."""
        return self._record.links

    @property
    def error(self) -> str:
        """The server's error messages joined, or ``""``."""
        return "; ".join(m.message for m in self.messages if m.severity == "error")

    def _status_time(self, *statuses: ImportStatus) -> pd.Timestamp | None:
        for change in reversed(self.status_history):
            if change.status in statuses:
                return change.date
        return None

    @property
    def started(self) -> pd.Timestamp | None:
        """When a worker started the import, if it has."""
        return self._status_time(ImportStatus.STARTED)

    @property
    def finished(self) -> pd.Timestamp | None:
        """When the import ended, if it has."""
        if not self.status.is_terminal:
            return None
        return self._status_time(self.status)

    @property
    def duration(self) -> pd.Timedelta | None:
        """Time from request to end, or ``None`` while the import runs."""
        finished = self.finished
        if finished is None or self.requested_date is None:
            return None
        return finished - self.requested_date

    def done(self) -> bool:
        """Whether the job has ended; no request is made.

        For a job followed in the background: whether that thread has ended (the import
        completed or failed, the wait timed out, or was cancelled); :meth:`result` then
        returns at once. Otherwise: whether the import had ended at the last report.
        """
        if self._follow is not None:
            return self._follow.future.done()
        return self.status.is_terminal

    def refresh(self) -> ImportJob:
        """Ask the server for the import's current state; update and return this job.

        A job not :attr:`requested` yet has nothing to ask about and is returned as it is.
        """
        if self._requested:
            self._record = self._client.get_import(self.import_id).record
        return self

    # the job as a future ---------------------------------------------------------------

    def _following(self) -> Follow[ImportJob]:
        """The thread following this job; one without a display is started if there is none."""
        with _FOLLOWING:
            if self._follow is None:
                self._follow = silent_follow(self)
            return self._follow

    def result(self, timeout: float | None = None) -> ImportJob:
        """Wait for the job to end; return it once the import has completed.

        A job not followed in the background is followed from here, without a display.

        Parameters
        ----------
        timeout
            Seconds to wait at most; ``None`` waits as long as it takes.

        Raises
        ------
        TimeoutError
            ``timeout`` passed first; the job goes on and ``result()`` can be called again.
        ImportFailedError, ImportTimeoutError, UploadError, ...
            What the foreground call would have raised: the import failed, the ``timeout=``
            given when it started passed, the upload failed.
        concurrent.futures.CancelledError
            :meth:`cancel_wait` stopped following the job.

        Examples
        --------
        >>> job = df.nexosis.to_dataset("sales", background=True)  # doctest: +SKIP
        >>> job.result(timeout=600).status  # doctest: +SKIP
        <ImportStatus.COMPLETED: 'completed'>
        """
        return self._following().future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the job to end; return the error :meth:`result` would raise, or ``None``.

        Raises ``TimeoutError`` when ``timeout`` passes first and ``CancelledError`` after
        :meth:`cancel_wait`, as :meth:`result` does.

        Examples
        --------
        >>> job.exception(timeout=600) is None  # doctest: +SKIP
        True
        """
        return self._following().future.exception(timeout)

    def add_done_callback(self, fn: Callable[[ImportJob], object]) -> None:
        """Call ``fn(job)`` once, when the job ends; at once if it has ended already.

        It is called in the background thread (or in this one, when the job has ended);
        what it raises is logged and ignored, as :mod:`concurrent.futures` does.

        Examples
        --------
        >>> job.add_done_callback(lambda j: print(j.exception() or "done"))  # doctest: +SKIP
        """
        self._following().future.add_done_callback(lambda _: fn(self))

    def cancel_wait(self) -> bool:
        """Stop following the job in the background; the import goes on on the server.

        The display says the wait stopped and how to resume; :meth:`result` raises
        ``CancelledError``. While the upload still runs, it ends first (an object is never
        left partial) and no import is requested.

        Returns
        -------
        bool
            ``False`` when there was nothing to stop: the job had ended, or nothing followed it.

        Examples
        --------
        >>> job.cancel_wait()  # doctest: +SKIP
        True
        """
        return self._follow.cancel() if self._follow is not None else False

    def __await__(self) -> Generator[Any, None, ImportJob]:
        """``await job`` in asyncio code (the kernel's own loop too): :meth:`result`, not
        blocking the loop."""
        import asyncio

        return asyncio.wrap_future(self._following().future).__await__()

    def wait(
        self,
        timeout: float | None = None,
        *,
        poll_interval: float | None = None,
        progress: ProgressArg = "auto",
    ) -> ImportJob:
        """Poll the import until it ends; return this job once it has completed.

        Parameters
        ----------
        timeout
            Seconds to wait at most; ``None`` waits as long as it takes.
        poll_interval
            Fixed seconds between polls; by default polling starts at 0.25 s and backs off
            to 2 s.
        progress
            ``"auto"`` (a widget in Jupyter, text lines elsewhere), ``False`` for nothing, or a
            reporter object.

        Raises
        ------
        ImportFailedError
            The import ended ``failed`` or ``cancelled``.
        ImportTimeoutError
            ``timeout`` passed first; the import goes on and ``wait()`` can be called again.

        Notes
        -----
        For a job still followed in the background, ``wait()`` waits for that thread (whose
        display shows the progress) as :meth:`result` does, ``poll_interval`` and
        ``progress`` left aside.

        Examples
        --------
        >>> job = nexosis_pandas.get_import("015d1d17-...")  # doctest: +SKIP
        >>> job.wait(timeout=60).status  # doctest: +SKIP
        <ImportStatus.COMPLETED: 'completed'>
        """
        if self._follow is not None and not self._follow.future.done():
            return self._wait_for_thread(timeout)
        return wait_for_import(
            self, timeout=timeout, poll_interval=poll_interval, progress=progress
        )

    def _wait_for_thread(self, timeout: float | None) -> ImportJob:
        try:
            return self.result(timeout)
        except TimeoutError as error:
            if isinstance(error, ImportTimeoutError):
                raise
            raise ImportTimeoutError(self, float(timeout or 0)) from None

    def to_dict(self) -> dict[str, Any]:
        """The import as the API's JSON object."""
        return self._record.to_wire()

    def __repr__(self) -> str:
        if not self._requested:
            return f"<ImportJob dataset={self.dataset_name!r} uploading>"
        return (
            f"<ImportJob {self.import_id} dataset={self.dataset_name!r} "
            f"status={self.status.value!r}>"
        )

    def _repr_html_(self) -> str:
        """The import as a notebook shows it: a coloured status, the object, the timeline.

        In the cell whose progress summary already showed this import, one line that points
        to it: the same facts are not shown twice.
        """
        from nexosis_pandas._html import (
            TONES,
            badge,
            cell_number,
            escape,
            format_bytes,
            format_count,
            format_seconds,
            status_colour,
            table,
        )

        status = self.status.value if self._requested else "uploading"
        shown_in = summary_cell(self)
        if shown_in is not None and shown_in == cell_number():
            return (
                f"<small>ImportJob <code>{escape(self.import_id)}</code> {badge(status)}: "
                "summarised above; show <code>job</code> in another cell for its timeline and "
                "messages</small>"
            )
        duration = self.duration
        fields: list[tuple[str, str]] = [
            ("Dataset", f"<code>{escape(self.dataset_name)}</code>"),
            ("Status", badge(status)),
            ("Import id", f"<code>{escape(self.import_id)}</code>"),
        ]
        if self.requested_date is not None:
            fields.append(("Requested", escape(self.requested_date.isoformat(sep=" "))))
        fields.append(
            (
                # The server's time from request to end: "Import" in the progress summary
                # and the history's duration too.
                "Import",
                format_seconds(duration.total_seconds()) if duration is not None else "running",
            )
        )
        if self.source:
            fields.append(("Source", f"<code>{escape(self.source)}</code>"))
        if self.upload is not None:
            fields.append(("Rows", format_count(self.upload.rows)))
            fields.append(("Bytes", format_bytes(self.upload.bytes_written)))
        if self.messages:
            items = "".join(
                f'<li><span style="color:{TONES[_SEVERITY_TONES.get(m.severity, "muted")]}">'
                f"{escape(m.severity)}</span> {escape(m.message)}</li>"
                for m in self.messages
            )
            fields.append(("Messages", f'<ul style="margin:0;padding-left:1.2em">{items}</ul>'))
        if self.status_history:
            start = self.requested_date or self.status_history[0].date
            steps = " &rarr; ".join(
                f'<span style="color:{status_colour(h.status.value)}">{escape(h.status.value)}'
                f"</span> <small>+{format_seconds((h.date - start).total_seconds())}</small>"
                for h in self.status_history
            )
            fields.append(("Timeline", steps))
        return table("ImportJob", fields, colour=status_colour(status))
