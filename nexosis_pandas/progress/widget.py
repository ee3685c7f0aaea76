"""Progress as one ipywidgets display, and a static HTML summary when the journey ends.

ipywidgets is imported only when a :class:`WidgetReporter` is made, so the package works
without it until a widget is drawn.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from nexosis_pandas.progress.base import (
    DisplayedJob,
    Journey,
    Outcome,
    ProgressReporter,
    resume_hint,
)
from nexosis_pandas.progress.cell import CellOutput

if TYPE_CHECKING:
    from nexosis_pandas._objects import S3Object

__all__ = ["WidgetReporter", "summary_cell"]

# The display's own record of which cell's summary showed which job: the job's notebook view
# asks it (summary_cell) rather than the display writing onto the job. Weak keys, so that a
# job no one holds any more is forgotten with it.
_SUMMARISED_IN: weakref.WeakKeyDictionary[DisplayedJob, int | None] = weakref.WeakKeyDictionary()
_SUMMARISED_LOCK = threading.Lock()  # a background thread records, the kernel's thread reads


def summary_cell(job: DisplayedJob) -> int | None:
    """The number of the notebook cell whose progress summary showed ``job``, if one did.

    :meth:`ImportJob._repr_html_ <nexosis_pandas.ImportJob._repr_html_>` shows one short line in
    that cell rather than the same facts a second time.
    """
    with _SUMMARISED_LOCK:
        try:
            return _SUMMARISED_IN.get(job)
        except TypeError:  # no weak references to it: never recorded
            return None


def _shown_status(j: Journey) -> str:
    """The status a summary shows: what was stopped is the wait, not a running import."""
    if j.outcome in (Outcome.INTERRUPTED, Outcome.TIMED_OUT) and j.job is not None:
        return j.job.status.value
    return str(j.outcome or (j.job.status.value if j.job else "uploading"))


_MARKS = {
    "done": ("&#10004;", TONES["success"]),
    "current": ("&#9673;", TONES["info"]),
    "failed": ("&#10008;", TONES["danger"]),
    "pending": ("&#9675;", TONES["muted"]),
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
        self._cell: CellOutput | None = None  # the starting cell, for a background import
        self._journey = Journey(clock)
        self._shown = False
        self._summarised = False
        self.title = w.HTML(value="<b>nexosis</b>")
        self.bar = w.FloatProgress(
            value=0.0,
            min=0.0,
            max=100.0,
            description="Waiting",
            bar_style="info",
            # A fixed width: the bar's left edge stays put while the label changes.
            style={"description_width": "9em"},
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
        if self._cell is not None:
            self._cell.display(obj, raw=bool(kwargs.get("raw", False)))
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
            self.bar.bar_style = j.outcome.tone
            self.bar.description = j.outcome.label
            if j.outcome is Outcome.INTERRUPTED and j.job is not None:
                self.bar.description = "Wait stopped"  # the import itself goes on
            if j.outcome is Outcome.REQUESTED:
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
            read = j.job.record.progress
            fraction = read.fraction if read is not None else None
            if status == "started" and fraction is not None:
                # The server's reading of the file moves the last third of the bar.
                self.bar.value = _STAGE_FILL["requested"] * (2 + fraction)
                self.percent.value = f"{fraction:.0%} read"

    def _draw_stages(self) -> None:
        j = self._journey
        cells = []
        for stage, mark in j.stage_marks():
            symbol, colour = _MARKS[mark]
            weight = "bold" if mark in ("current", "failed") else "normal"
            cells.append(
                f'<span style="color:{colour};font-weight:{weight}">{symbol} {stage}</span>'
            )
        elapsed = f'<span style="color:{TONES["muted"]}">{format_seconds(j.elapsed)}</span>'
        self.stages.value = " &rarr; ".join(cells) + f" &nbsp; {elapsed}"

    def _draw_detail(self) -> None:
        j = self._journey
        if j.outcome is not None and j.outcome.is_failure:
            self.detail.value = (
                f'<span style="color:{TONES["danger"]}">'
                f"{escape(j.message() or 'no reason given')}</span>"
            )
        elif j.outcome in (Outcome.INTERRUPTED, Outcome.TIMED_OUT) and j.job is not None:
            self.detail.value = (
                "Stopped waiting; the import continues on the server. Resume with "
                f"<code>{escape(resume_hint(j.job.import_id))}</code>"
            )
        elif j.outcome is Outcome.INTERRUPTED and j.uploaded:
            self.detail.value = (
                "Stopped before the import was requested: the object is uploaded, nothing was "
                "imported."
            )
        elif j.outcome is Outcome.INTERRUPTED:
            self.detail.value = "The upload was stopped; nothing was written."
        elif j.outcome is Outcome.REQUESTED and j.job is not None:
            self.detail.value = (
                f"Import <code>{escape(j.job.import_id)}</code> requested; it continues on the "
                "server. Wait for it with <code>job.wait()</code>, or later with "
                f"<code>{escape(resume_hint(j.job.import_id))}</code>"
            )
        elif j.job is not None:
            rows = f" &middot; {format_count(j.rows)} rows" if j.rows is not None else ""
            read = j.job.record.progress
            if read is not None and j.job.status.value == "started":
                size = f" of {format_bytes(read.bytes_total)}" if read.bytes_total else ""
                rows += (
                    f" &middot; the server has read {format_count(read.rows_read)} rows "
                    f"({format_bytes(read.bytes_read)}{size})"
                )
            self.detail.value = f"import <code>{escape(j.job.import_id)}</code>{rows}"
        elif j.reused:
            self.detail.value = f"<code>{escape(j.url or '')}</code> already holds this data"
        else:
            total = format_count(j.total_rows) if j.total_rows is not None else "?"
            parts = (
                f"{j.partitions_done} / {j.partitions} partitions &middot; " if j.partitions else ""
            )
            board = (
                f" &middot; <a href='{escape(j.dashboard)}' target='_blank'>Dask dashboard</a>"
                if j.dashboard
                else ""
            )
            self.detail.value = (
                f"{parts}{format_count(j.rows_done)} / {total} rows &middot; "
                f"{format_bytes(j.bytes_sent)} sent{board}"
            )

    def _summarise(self) -> None:
        if self._summarised:
            return
        self._summarised = True
        if self._journey.job is not None:
            cell = self._cell.number if self._cell is not None else cell_number()
            # A job that cannot be weakly referenced (a reporter driven by hand, with an object
            # of its own) has no notebook view that asks; it is left out.
            with _SUMMARISED_LOCK, contextlib.suppress(TypeError):
                _SUMMARISED_IN[self._journey.job] = cell
        self._show(
            {"text/html": self.summary_html(), "text/plain": self._journey.summary_text()},
            raw=True,
        )

    def summary_html(self) -> str:
        """The static summary shown when the journey ends (plain HTML, inline styles).

        Durations use the labels of :meth:`ImportJob._repr_html_` and the history: *Upload*
        is this session's upload, *Import* the server's time from request to end (the
        history's ``duration``), *Total* the wall time of the whole call.
        """
        j = self._journey
        status = _shown_status(j)
        rows = [("Dataset", f"<code>{escape(j.dataset)}</code>" if j.dataset else "&ndash;")]
        rows.append(("Status", badge(status)))
        rows.append(("Rows", format_count(j.rows) if j.rows is not None else "&ndash;"))
        if j.upload_seconds is not None:
            rows.append(("Upload", format_seconds(j.upload_seconds)))
        elif j.reused:
            rows.append(("Upload", "none: the object already held this data"))
        server = j.job.duration if j.job is not None else None
        if server is not None:
            rows.append(("Import", format_seconds(server.total_seconds())))
        elif j.import_elapsed is not None:
            rows.append(("Import", f"running ({format_seconds(j.import_elapsed)} so far)"))
        rows.append(("Total", format_seconds(j.elapsed)))
        if j.url:
            rows.append(("S3 object", f"<code>{escape(j.url)}</code>"))
        if j.job is not None:
            rows.append(("Import id", f"<code>{escape(j.job.import_id)}</code>"))
        message = self.detail.value if j.outcome is not Outcome.COMPLETED else ""
        if message:
            rows.append(("Note", message))
        return table("nexosis import", rows, colour=status_colour(status))

    # events ----------------------------------------------------------------------------

    def begin(self, dataset_name: str) -> None:
        self._journey.dataset_name = dataset_name

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self._journey.upload_start(url, total_rows)
        self._draw()

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self._journey.upload_update(rows_done, bytes_sent)
        self._draw()

    def upload_partitions(self, done: int, total: int, dashboard: str | None = None) -> None:
        self._journey.upload_partitions(done, total, dashboard)
        self._draw()

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        self._journey.upload_end(obj, error)
        self._draw()
        if error is not None:
            self._summarise()

    def import_update(self, job: DisplayedJob) -> None:
        self._journey.import_update(job)
        self._draw()

    def import_end(self, job: DisplayedJob | None, error: BaseException | None = None) -> None:
        self._journey.import_end(job, error)
        self._draw()
        self._summarise()

    def interrupted(self, job: DisplayedJob) -> None:
        self._journey.interrupted(job)
        self._draw()
        self._summarise()

    def detached(self, job: DisplayedJob) -> None:
        self._journey.detached(job)
        self._draw()
        self._summarise()

    def background(self, job: DisplayedJob) -> None:
        # Called in the starting cell: keep it, so the thread's displays land there.
        self._cell = CellOutput.here()
