"""Progress reporting: a reporter protocol with a do-nothing default.

Library code always holds a reporter (never ``None``) and calls its methods; what the user sees
is decided once, by :func:`resolve_progress`: a widget in Jupyter, text lines elsewhere, nothing
for ``progress=False``, or the user's own reporter object.

The two displays follow the same journey (upload, then the import's stages) through
:class:`_Journey`, so they always agree on percentages, stages and times:

* :class:`WidgetReporter` shows one ipywidgets display for the whole journey and, when the
  journey ends, a static HTML summary beside it that reads correctly where widgets do not
  render (an exported notebook, nbviewer, GitHub).
* :class:`TextReporter` prints one line per step, for terminals, scripts and logs.
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TextIO, Union

from nexosis_pandas._html import (
    badge,
    escape,
    format_bytes,
    format_count,
    format_seconds,
    status_colour,
)
from nexosis_pandas._wire import ImportStatus

if TYPE_CHECKING:
    from nexosis_pandas.job import ImportJob
    from nexosis_pandas.s3 import S3Object

__all__ = [
    "ProgressArg",
    "ProgressReporter",
    "ProgressWarning",
    "TextReporter",
    "WidgetReporter",
    "resolve_progress",
]


class ProgressReporter:
    """Receives the stages of an upload and an import; every method does nothing by default.

    Subclass it and override what you need. Calls arrive in this order: ``upload_start``,
    ``upload_update`` (repeatedly), ``upload_end``; then ``import_update`` (for each report of the
    import's state, the first right after it was requested), and ``import_end`` once, or
    ``interrupted`` when the user stops the wait, or ``detached`` when the caller does not wait
    (``wait=False``). A reporter used only for an upload, or only for a wait, sees only that part.
    """

    def upload_start(self, url: str, total_rows: int) -> None:
        """The upload of ``total_rows`` rows to ``url`` begins."""

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        """S3 has taken ``bytes_sent`` bytes of the object, holding the first ``rows_done`` rows."""

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        """The upload ended: ``obj`` describes the object written, or ``error`` says why not."""

    def import_update(self, job: ImportJob) -> None:
        """The server reported the import's current state (``job.status``)."""

    def import_end(self, job: ImportJob | None, error: BaseException | None = None) -> None:
        """Waiting ended: the import completed, or ``error`` (failure, timeout) says otherwise.

        ``job`` is ``None`` when the import could not even be requested.
        """

    def interrupted(self, job: ImportJob) -> None:
        """The user interrupted the wait; the import goes on on the server."""

    def detached(self, job: ImportJob) -> None:
        """The import was requested and the caller does not wait for it (``wait=False``)."""


ProgressArg = Union[ProgressReporter, bool, Literal["auto", "widget", "text"], None]  # noqa: UP007
"""``"auto"``, ``"widget"``, ``"text"``, ``True`` (same as ``"auto"``), ``False``/``None``
(nothing), or a :class:`ProgressReporter`."""


class ProgressWarning(UserWarning):
    """The progress widget cannot be shown; progress falls back to text lines."""


# -- the journey both displays follow ---------------------------------------------------------

_STAGES = ("upload", "requested", "started", "completed")
_FAILURES = ("failed", "cancelled", "error", "upload failed")


def _resume_hint(import_id: str) -> str:
    """The line that resumes waiting for an import."""
    return f'nexosis_pandas.get_import("{import_id}").wait()'


def _wait_hint(import_id: str) -> str:
    """How to wait for an import that was requested without waiting."""
    return (
        "The import continues on the server; wait for it with job.wait(), or later with "
        + _resume_hint(import_id)
    )


def _object_facts(obj: S3Object | None) -> tuple[str | None, int | None, int | None]:
    """The URL, row count and byte size of an uploaded object."""
    if obj is None:
        return None, None, None
    return obj.url, obj.rows, obj.bytes_written


@dataclass
class _Journey:
    """What has happened so far: the state a display is drawn from."""

    clock: Callable[[], float]
    began: float | None = None
    url: str | None = None
    total_rows: int | None = None
    rows_done: int = 0
    bytes_sent: int = 0
    upload_began: float | None = None
    upload_seconds: float | None = None
    uploaded: bool = False
    reused: bool = False
    import_began: float | None = None
    job: ImportJob | None = None
    seen: list[ImportStatus] = field(default_factory=list)
    outcome: str | None = None
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
        if not self.total_rows:
            return 0.0
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
        return self.job.dataset_name if self.job is not None else None

    # events ----------------------------------------------------------------------------

    def upload_start(self, url: str, total_rows: int) -> None:
        self.upload_began = self.now()
        self.url, self.total_rows = url, int(total_rows)
        self.rows_done = self.bytes_sent = 0

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self.now()
        self.rows_done, self.bytes_sent = int(rows_done), int(bytes_sent)

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
            self.outcome, self.error = "interrupted", error
        else:
            self.outcome, self.error = "upload failed", error

    def import_update(self, job: ImportJob) -> bool:
        """Record a report; return whether the status changed."""
        t = self.now()
        if self.import_began is None:
            self.import_began = t
        self.job = job
        if self.seen and self.seen[-1] == job.status:
            return False
        self.seen.append(job.status)
        return True

    def import_end(self, job: ImportJob | None, error: BaseException | None) -> None:
        from nexosis_pandas.exceptions import ImportFailedError, ImportTimeoutError

        if job is not None:
            self.import_update(job)
        self.error = error
        if error is None:
            self.outcome = "completed"
        elif isinstance(error, ImportTimeoutError):
            self.outcome = "timed out"
        elif isinstance(error, ImportFailedError) and job is not None:
            self.outcome = job.status.value
        else:
            self.outcome = "error"

    def interrupted(self, job: ImportJob) -> None:
        self.import_update(job)
        self.outcome = "interrupted"

    def detached(self, job: ImportJob) -> None:
        self.import_update(job)
        self.outcome = "requested"

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
        failed = self.outcome in _FAILURES
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
        if self.outcome in _FAILURES:
            text += f": {self.message() or 'no reason given'}"
        elif self.outcome in ("interrupted", "timed out") and self.job is not None:
            text += ". The import continues on the server; resume with " + _resume_hint(
                self.job.import_id
            )
        elif self.outcome == "interrupted":
            text += ": the upload was stopped; nothing was written"
        elif self.outcome == "requested" and self.job is not None:
            text += f". {_wait_hint(self.job.import_id)}"
        return text


# -- text --------------------------------------------------------------------------------------


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
        self._journey = _Journey(clock)
        self._last_line: float | None = None
        self._history_shown = 0
        self._last_status: ImportStatus | None = None

    def _write(self, text: str) -> None:
        stream = self._file if self._file is not None else sys.stderr
        print(f"nexosis: {text}", file=stream, flush=True)
        self._last_line = self._journey.clock()

    def upload_start(self, url: str, total_rows: int) -> None:
        self._journey.upload_start(url, total_rows)
        self._write(f"uploading {format_count(int(total_rows))} rows to {url}")

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        j = self._journey
        j.upload_update(rows_done, bytes_sent)
        if self._last_line is not None and j.clock() - self._last_line < self._min_interval:
            return
        total = format_count(j.total_rows) if j.total_rows is not None else "?"
        self._write(
            f"upload {j.upload_percent:.0f}% ({format_count(j.rows_done)}/{total} rows, "
            f"{format_bytes(j.bytes_sent)} sent, {format_seconds(j.elapsed)})"
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

    def import_update(self, job: ImportJob) -> None:
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

    def _status_line(self, job: ImportJob, status: ImportStatus, since: float) -> None:
        if self._last_status is None:
            self._write(f"import {job.import_id} into dataset {job.dataset_name!r} {status.value}")
        else:
            self._write(f"import {status.value} ({format_seconds(since)})")
        self._last_status = status

    def import_end(self, job: ImportJob | None, error: BaseException | None = None) -> None:
        if job is not None:
            self.import_update(job)
        self._journey.import_end(job, error)
        self._write(self._journey.summary_text())

    def interrupted(self, job: ImportJob) -> None:
        self._journey.interrupted(job)
        self._write(
            f"stopped waiting after {format_seconds(self._journey.elapsed)}. Import "
            f"{job.import_id} continues on the server; resume with {_resume_hint(job.import_id)}"
        )

    def detached(self, job: ImportJob) -> None:
        self.import_update(job)
        self._journey.detached(job)
        self._write(self._journey.summary_text())


# -- widget ------------------------------------------------------------------------------------

_MARKS = {
    "done": ("&#10004;", "#2e7d32"),
    "current": ("&#9673;", "#1565c0"),
    "failed": ("&#10008;", "#c62828"),
    "pending": ("&#9675;", "#9e9e9e"),
}
_BAR_STYLES = {
    "completed": "success",
    "failed": "danger",
    "cancelled": "danger",
    "error": "danger",
    "upload failed": "danger",
    "timed out": "warning",
    "interrupted": "warning",
    "requested": "info",
}
_DESCRIPTIONS = {
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "error": "Error",
    "upload failed": "Upload failed",
    "timed out": "Timed out",
    "interrupted": "Stopped",
    "requested": "Import requested",
}
_STAGE_FILL = {"requested": 100 / 3, "started": 200 / 3, "completed": 100.0}


@functools.cache
def _progress_box() -> type[Any]:
    import ipywidgets as w

    class ProgressBox(w.VBox):  # type: ignore[misc]
        """A VBox whose plain-text form (shown where widgets cannot be drawn) reads well."""

        def __repr__(self) -> str:
            return "nexosis import progress (a widget; a summary follows when it ends)"

    return ProgressBox


class WidgetReporter(ProgressReporter):
    """One ipywidgets display for the whole journey, and a static summary when it ends.

    The display is a title, a progress bar with a percentage, the stages (upload, requested,
    started, completed) with the elapsed time, and a line of detail. During the upload the
    bar is the share of rows sent (with the bytes sent beside it); during the import it moves
    a third per stage. The bar is blue (``info``) while running, green (``success``) when the
    import completed, red (``danger``) on failure with the server's message, and amber
    (``warning``) when the wait timed out or was interrupted, with how to resume; it stays blue,
    with how to wait, when the call returned without waiting (``wait=False``). The widget
    stays on screen when the journey ends; an HTML summary is displayed below it, because
    exported notebooks, nbviewer and GitHub show that where they cannot draw widgets.

    Parameters
    ----------
    display
        Shows an object in the output area; by default ``IPython.display.display``. Tests pass
        a function that collects what would be shown.
    clock
        A monotonic clock (tests pass a fake).

    Attributes
    ----------
    container, title, bar, percent, stages, detail
        The ipywidgets objects, for tests and for embedding the display elsewhere.

    Examples
    --------
    >>> reporter = WidgetReporter()  # doctest: +SKIP
    >>> job = df.nexosis.to_dataset("sales", progress=reporter)  # doctest: +SKIP
    >>> reporter.bar.bar_style  # doctest: +SKIP
    'success'
    """

    def __init__(
        self,
        *,
        display: Callable[..., object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import ipywidgets as w

        self._display = display
        self._journey = _Journey(clock)
        self._shown = False
        self._summarised = False
        self.title = w.HTML(value="<b>nexosis</b>")
        self.bar = w.FloatProgress(
            value=0.0,
            min=0.0,
            max=100.0,
            description="Waiting",
            bar_style="info",
            style={"description_width": "initial"},
            layout=w.Layout(width="60%"),
        )
        self.percent = w.HTML(value="")
        self.stages = w.HTML(value="")
        self.detail = w.HTML(value="")
        self.container = _progress_box()(
            [self.title, w.HBox([self.bar, self.percent]), self.stages, self.detail]
        )

    # showing ---------------------------------------------------------------------------

    def _show(self, obj: object, **kwargs: Any) -> None:
        if self._display is not None:
            self._display(obj, **kwargs)
            return
        from IPython.display import display

        display(obj, **kwargs)  # type: ignore[no-untyped-call]

    def _draw(self) -> None:
        j = self._journey
        if j.dataset is not None:
            self.title.value = f"<b>nexosis</b> &middot; dataset <code>{escape(j.dataset)}</code>"
        elif j.url:
            self.title.value = f"<b>nexosis</b> &middot; uploading to <code>{escape(j.url)}</code>"
        self._draw_bar()
        self._draw_stages()
        self._draw_detail()
        if not self._shown:
            self._shown = True
            self._show(self.container)

    def _draw_bar(self) -> None:
        j = self._journey
        if j.outcome is not None:
            self.bar.bar_style = _BAR_STYLES[j.outcome]
            self.bar.description = _DESCRIPTIONS[j.outcome]
            if j.outcome == "requested":
                self.bar.value = _STAGE_FILL["requested"]
            elif self.bar.bar_style != "warning":
                # A full bar makes the red or green visible even if the journey stopped at 0%.
                self.bar.value = 100.0
            self.percent.value = ""
            return
        self.bar.bar_style = "info"
        if j.job is None:
            self.bar.description = "Uploaded" if j.uploaded else "Uploading"
            self.bar.value = j.upload_percent
            self.percent.value = f"{j.upload_percent:.0f}%"
        else:
            status = j.job.status.value
            self.bar.description = f"Import {status}"
            self.bar.value = _STAGE_FILL.get(status, self.bar.value)
            self.percent.value = ""

    def _draw_stages(self) -> None:
        j = self._journey
        cells = []
        for stage, mark in j.stage_marks():
            symbol, colour = _MARKS[mark]
            weight = "bold" if mark in ("current", "failed") else "normal"
            cells.append(
                f'<span style="color:{colour};font-weight:{weight}">{symbol} {stage}</span>'
            )
        elapsed = f'<span style="color:#616161">{format_seconds(j.elapsed)}</span>'
        self.stages.value = " &rarr; ".join(cells) + f" &nbsp; {elapsed}"

    def _draw_detail(self) -> None:
        j = self._journey
        if j.outcome in _FAILURES:
            self.detail.value = (
                f'<span style="color:#c62828">{escape(j.message() or "no reason given")}</span>'
            )
        elif j.outcome in ("interrupted", "timed out") and j.job is not None:
            self.detail.value = (
                "Stopped waiting; the import continues on the server. Resume with "
                f"<code>{escape(_resume_hint(j.job.import_id))}</code>"
            )
        elif j.outcome == "interrupted":
            self.detail.value = "The upload was stopped; nothing was written."
        elif j.outcome == "requested" and j.job is not None:
            self.detail.value = (
                f"Import <code>{escape(j.job.import_id)}</code> requested; it continues on the "
                "server. Wait for it with <code>job.wait()</code>, or later with "
                f"<code>{escape(_resume_hint(j.job.import_id))}</code>"
            )
        elif j.job is not None:
            rows = f" &middot; {format_count(j.rows)} rows" if j.rows is not None else ""
            self.detail.value = f"import <code>{escape(j.job.import_id)}</code>{rows}"
        elif j.reused:
            self.detail.value = f"<code>{escape(j.url or '')}</code> already holds this data"
        else:
            total = format_count(j.total_rows) if j.total_rows is not None else "?"
            self.detail.value = (
                f"{format_count(j.rows_done)} / {total} rows &middot; "
                f"{format_bytes(j.bytes_sent)} sent"
            )

    def _summarise(self) -> None:
        if self._summarised:
            return
        self._summarised = True
        self._show(
            {"text/html": self.summary_html(), "text/plain": self._journey.summary_text()},
            raw=True,
        )

    def summary_html(self) -> str:
        """The static summary shown when the journey ends (plain HTML, inline styles)."""
        j = self._journey
        status = j.outcome or (j.job.status.value if j.job else "uploading")
        rows = [("Dataset", f"<code>{escape(j.dataset)}</code>" if j.dataset else "&ndash;")]
        rows.append(("Status", badge(status)))
        rows.append(("Rows", format_count(j.rows) if j.rows is not None else "&ndash;"))
        duration = format_seconds(j.elapsed)
        if j.upload_seconds is not None and j.import_began is not None:
            duration += (
                f" (upload {format_seconds(j.upload_seconds)}, "
                f"import {format_seconds(j.import_elapsed or 0.0)})"
            )
        rows.append(("Duration", duration))
        if j.url:
            rows.append(("S3 object", f"<code>{escape(j.url)}</code>"))
        if j.job is not None:
            rows.append(("Import", f"<code>{escape(j.job.import_id)}</code>"))
        message = self.detail.value if j.outcome != "completed" else ""
        if message:
            rows.append(("Note", message))
        body = "".join(
            f'<tr><th style="text-align:left;padding:0.1em 1em 0.1em 0">{label}</th>'
            f'<td style="text-align:left">{value}</td></tr>'
            for label, value in rows
        )
        return (
            f'<div style="border-left:4px solid {status_colour(status)};padding:0.3em 0.8em">'
            f"<b>nexosis import</b><table>{body}</table></div>"
        )

    # events ----------------------------------------------------------------------------

    def upload_start(self, url: str, total_rows: int) -> None:
        self._journey.upload_start(url, total_rows)
        self._draw()

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self._journey.upload_update(rows_done, bytes_sent)
        self._draw()

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        self._journey.upload_end(obj, error)
        self._draw()
        if error is not None:
            self._summarise()

    def import_update(self, job: ImportJob) -> None:
        self._journey.import_update(job)
        self._draw()

    def import_end(self, job: ImportJob | None, error: BaseException | None = None) -> None:
        self._journey.import_end(job, error)
        self._draw()
        self._summarise()

    def interrupted(self, job: ImportJob) -> None:
        self._journey.interrupted(job)
        self._draw()
        self._summarise()

    def detached(self, job: ImportJob) -> None:
        self._journey.detached(job)
        self._draw()
        self._summarise()


# -- choosing ----------------------------------------------------------------------------------

_warned = False


def _in_kernel() -> bool:
    """Whether this process is an IPython kernel (Jupyter, VS Code, Colab), as tqdm checks."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    if shell is None:
        return False
    return getattr(shell, "kernel", None) is not None or "IPKernelApp" in getattr(
        shell, "config", {}
    )


def _fall_back(reason: str) -> ProgressReporter:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"Cannot show the progress widget ({reason}); showing progress as text instead. "
            "pip install ipywidgets and use JupyterLab, Notebook 7 or VS Code for the widget, "
            'or pass progress="text" to silence this.',
            ProgressWarning,
            stacklevel=3,
        )
    return TextReporter()


def _widget_or_text() -> ProgressReporter:
    try:
        return WidgetReporter()
    except ImportError:
        return _fall_back("ipywidgets is not installed")
    except Exception as error:  # a kernel without a widget front end, a broken comm
        return _fall_back(f"{type(error).__name__}: {error}")


def resolve_progress(arg: ProgressArg) -> ProgressReporter:
    """The reporter for a ``progress=`` argument.

    Parameters
    ----------
    arg
        ``"auto"`` or ``True``: the widget in an IPython kernel (Jupyter, VS Code), text lines
        elsewhere. ``"widget"``: the widget. ``"text"``: text lines. ``False`` or ``None``:
        nothing. A :class:`ProgressReporter`: itself. When the widget cannot be drawn
        (ipywidgets missing, no front end) it falls back to text with one
        :class:`ProgressWarning`.

    Examples
    --------
    >>> type(resolve_progress(False)).__name__
    'ProgressReporter'
    >>> type(resolve_progress("text")).__name__
    'TextReporter'
    """
    if isinstance(arg, ProgressReporter):
        return arg
    if arg is None or arg is False:
        return ProgressReporter()
    if arg is True or arg == "auto":
        return _widget_or_text() if _in_kernel() else TextReporter()
    if arg == "widget":
        return _widget_or_text()
    if arg == "text":
        return TextReporter()
    raise ValueError(
        f'progress must be "auto", "widget", "text", True, False, None or a ProgressReporter, '
        f"not {arg!r}"
    )
