from __future__ import annotations

import io
import sys
import warnings
from types import SimpleNamespace
from typing import Any

import pytest

import nexosis_pandas.progress.auto as progress_auto
from nexosis_pandas._job import ImportJob
from nexosis_pandas._polling import wait_for_import
from nexosis_pandas.exceptions import ImportFailedError, ImportTimeoutError, UploadError
from nexosis_pandas.progress import (
    ProgressReporter,
    ProgressWarning,
    TextReporter,
    WidgetReporter,
    resolve_progress,
)
from nexosis_pandas.progress.widget import summary_cell
from tests.unit.fake_jobs import FakeTime, job_with, record

URL = "s3://test-bucket/nexosis/sales-0123456789abcdef.csv.gz"


def uploaded(rows: int = 1000, size: int = 20_000) -> Any:
    return SimpleNamespace(url=URL, rows=rows, bytes_written=size)


def job_in(status: str, **kwargs: Any) -> ImportJob:
    return job_with(first=record(status, **kwargs))


class Shown:
    """Collects what a widget reporter would display."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, obj: Any, **kwargs: Any) -> None:
        self.items.append((obj, kwargs))

    @property
    def bundles(self) -> list[dict[str, str]]:
        return [obj for obj, kw in self.items if kw.get("raw")]


def widget(t: FakeTime) -> tuple[WidgetReporter, Shown]:
    shown = Shown()
    return WidgetReporter(display=shown, clock=t.clock), shown


# -- the widget, driven headlessly ------------------------------------------------------------


def test_widget_follows_the_whole_journey_to_success() -> None:
    t = FakeTime()
    r, shown = widget(t)
    assert shown.items == []  # nothing is drawn before the first event

    r.upload_start(URL, 1000)
    assert [obj for obj, _ in shown.items] == [r.container]  # one display, shown once
    assert r.bar.value == 0 and r.bar.bar_style == "info"
    assert r.bar.description == "Uploading"
    assert URL in r.title.value

    t.advance(0.5)
    r.upload_update(500, 12_345)
    assert r.bar.value == 50.0
    assert r.percent.value == "50%"
    assert "500 / 1,000 rows" in r.detail.value and "12.3 kB sent" in r.detail.value
    assert "&#9673; upload" in r.stages.value  # upload is the current stage

    t.advance(0.5)
    r.upload_update(1000, 20_000)
    r.upload_end(uploaded())
    assert r.bar.value == 100.0

    r.import_update(job_in("requested"))
    assert r.bar.description == "Import requested"
    assert r.bar.value == pytest.approx(100 / 3)
    assert "dataset <code>sales</code>" in r.title.value
    assert "&#10004; upload" in r.stages.value and "&#9673; requested" in r.stages.value

    t.advance(1.0)
    r.import_update(job_in("started"))
    assert r.bar.value == pytest.approx(200 / 3)
    assert "&#9673; started" in r.stages.value
    assert "2.0 s" in r.stages.value  # elapsed since the journey began

    t.advance(1.0)
    done = job_in("completed")
    r.import_update(done)
    r.import_end(done)
    assert r.bar.bar_style == "success"
    assert r.bar.description == "Completed"
    assert r.bar.value == 100.0
    assert "&#10004; completed" in r.stages.value
    assert r.container.layout.display != "none"  # never hidden

    assert len(shown.items) == 2  # the widget, then the static summary
    summary = shown.bundles[0]
    assert "sales" in summary["text/html"] and "completed" in summary["text/html"]
    assert "1,000" in summary["text/html"] and "3.0 s" in summary["text/html"]
    assert "<script" not in summary["text/html"]
    assert summary["text/plain"] == "dataset 'sales' · completed · 1,000 rows · 3.0 s"


def test_widget_shows_the_servers_message_in_red_on_failure() -> None:
    t = FakeTime()
    r, shown = widget(t)
    failed = job_in("failed", messages=[("error", "Couldn't determine the type of <content>")])
    r.import_update(job_in("requested"))
    r.import_end(failed, ImportFailedError(failed))
    assert r.bar.bar_style == "danger"
    assert r.bar.description == "Failed"
    assert r.bar.value == 100.0  # red is visible even when the failure came early
    assert "determine the type of &lt;content&gt;" in r.detail.value
    assert "&#10008; started" in r.stages.value
    html = shown.bundles[0]["text/html"]
    assert "failed" in html and "&lt;content&gt;" in html
    assert "Couldn't determine" in shown.bundles[0]["text/plain"]


def test_widget_says_how_to_resume_after_an_interrupt() -> None:
    t = FakeTime()
    r, shown = widget(t)
    job = job_in("started")
    r.import_update(job)
    r.interrupted(job)
    assert r.bar.bar_style == "warning"
    assert r.bar.description == "Wait stopped"  # the wait was stopped, not the import
    resume = f"nexosis_pandas.get_import(&quot;{job.import_id}&quot;).wait()"
    assert "continues on the server" in r.detail.value and resume in r.detail.value
    summary = shown.bundles[0]["text/html"]
    assert resume in summary
    assert ">started</span>" in summary and ">interrupted</span>" not in summary


def test_widget_ends_in_blue_with_how_to_wait_when_not_waiting() -> None:
    t = FakeTime()
    r, shown = widget(t)
    r.upload_start(URL, 1000)
    r.upload_end(uploaded())
    job = job_in("requested")
    r.import_update(job)
    r.detached(job)
    assert r.bar.bar_style == "info"
    assert r.bar.description == "Import requested"
    assert r.bar.value == pytest.approx(100 / 3)
    assert "&#10004; upload" in r.stages.value and "&#9673; requested" in r.stages.value
    later = f"nexosis_pandas.get_import(&quot;{job.import_id}&quot;).wait()"
    assert (
        "continues on the server" in r.detail.value and "<code>job.wait()</code>" in r.detail.value
    )
    assert later in r.detail.value
    assert shown.items[0][0] is r.container and len(shown.items) == 2
    summary = shown.bundles[0]
    assert "<b>nexosis import</b>" in summary["text/html"] and later in summary["text/html"]
    assert "#1565c0" in summary["text/html"] and "#c62828" not in summary["text/html"]
    assert summary["text/plain"] == (
        "dataset 'sales' · requested · 1,000 rows · 0.0 s. The import continues on the server; "
        f'wait for it with job.wait(), or later with nexosis_pandas.get_import("{job.import_id}")'
        ".wait()"
    )


def test_text_reporter_says_how_to_wait_when_not_waiting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = FakeTime()
    r = TextReporter(clock=t.clock)
    job = job_in("requested")
    r.detached(job)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"nexosis: import {job.import_id} into dataset 'sales' requested"
    assert lines[-1].startswith("nexosis: dataset 'sales' · requested · ")
    assert lines[-1].endswith(f'or later with nexosis_pandas.get_import("{job.import_id}").wait()')


def test_widget_on_timeout_is_amber_and_resumable() -> None:
    t = FakeTime()
    r, _ = widget(t)
    job = job_in("started")
    r.import_update(job)
    r.import_end(job, ImportTimeoutError(job, 5))
    assert r.bar.bar_style == "warning"
    assert r.bar.description == "Timed out"
    assert "get_import" in r.detail.value


def test_widget_on_upload_failure() -> None:
    t = FakeTime()
    r, shown = widget(t)
    r.upload_start(URL, 10)
    r.upload_end(None, UploadError("Access Denied writing the object", bucket="b", key="k"))
    assert r.bar.bar_style == "danger"
    assert r.bar.description == "Upload failed"
    assert "Access Denied" in r.detail.value
    assert "&#10008; upload" in r.stages.value
    assert len(shown.bundles) == 1


def test_widget_when_the_import_request_is_refused_after_the_upload() -> None:
    t = FakeTime()
    r, shown = widget(t)
    r.upload_start(URL, 10)
    r.upload_end(None)
    r.import_end(None, ConnectionError("the API could not be reached"))
    assert r.bar.bar_style == "danger"
    assert "could not be reached" in r.detail.value
    assert len(shown.bundles) == 1


def test_an_interrupted_upload(capsys: pytest.CaptureFixture[str]) -> None:
    t = FakeTime()
    r, shown = widget(t)
    r.upload_start(URL, 10)
    r.upload_end(None, KeyboardInterrupt())
    assert r.bar.bar_style == "warning"
    assert r.bar.description == "Stopped"
    assert "nothing was written" in r.detail.value
    assert len(shown.bundles) == 1

    text = TextReporter(clock=t.clock)
    text.upload_start(URL, 10)
    text.upload_end(None, KeyboardInterrupt())
    assert "upload stopped after 0.0 s; nothing was written" in capsys.readouterr().err


def test_the_summary_names_the_dataset_before_any_import() -> None:
    r, _ = widget(FakeTime())
    r.begin("sales")
    r.upload_start(URL, 10)
    r.upload_end(None, KeyboardInterrupt())
    assert "<code>sales</code>" in r.summary_html()


def test_widget_notes_a_reused_object() -> None:
    t = FakeTime()
    r, _ = widget(t)
    r.upload_end(uploaded())
    assert "already holds this data" in r.detail.value
    assert r.bar.value == 100.0


def test_widget_driven_by_the_wait_loop() -> None:
    t = FakeTime()
    r, shown = widget(t)
    job = job_with(record("started"), record("completed"))
    wait_for_import(job, progress=r, clock=t.clock, sleep=t.sleep)
    assert r.bar.bar_style == "success"
    assert len(shown.bundles) == 1


# -- text --------------------------------------------------------------------------------------


def test_text_reporter_lines(capsys: pytest.CaptureFixture[str]) -> None:
    t = FakeTime()
    r = TextReporter(clock=t.clock)
    r.upload_start(URL, 1000)
    t.advance(0.4)
    r.upload_update(300, 5_000)  # too soon after the last line: skipped
    t.advance(0.8)
    r.upload_update(600, 10_000)
    r.upload_end(uploaded())
    r.import_update(job_in("requested"))
    r.import_update(job_in("requested"))  # no change: no line
    t.advance(0.5)
    r.import_update(job_in("started"))
    t.advance(1.0)
    r.import_end(job_in("completed"))

    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"nexosis: uploading 1,000 rows to {URL}",
        "nexosis: upload 60% (600/1,000 rows, 10.0 kB sent, 1.2 s)",
        f"nexosis: uploaded {URL} (20.0 kB, 1.2 s)",
        "nexosis: import 015d1d17-5d53-4cbe-8c4e-4a6e8a3e7f40 into dataset 'sales' requested",
        "nexosis: import started (1.0 s)",  # times from the server's status history
        "nexosis: import completed (2.0 s)",
        "nexosis: dataset 'sales' · completed · 1,000 rows · 2.7 s",
    ]


def test_text_reporter_failure_and_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    t = FakeTime()
    failed = job_in("failed", messages=[("error", "bucket not found")])
    TextReporter(clock=t.clock).import_end(failed, ImportFailedError(failed))
    out = capsys.readouterr().err
    assert "into dataset 'sales' requested\nnexosis: import started (1.0 s)\n" in out
    assert "nexosis: import failed (2.0 s)\n" in out
    assert "dataset 'sales' · failed · 0.0 s: bucket not found" in out

    job = job_in("started")
    r = TextReporter(clock=t.clock)
    r.import_update(job)
    t.advance(3)
    r.interrupted(job)
    out = capsys.readouterr().err
    assert "stopped waiting after 3.0 s" in out
    assert f'nexosis_pandas.get_import("{job.import_id}").wait()' in out


def test_text_reporter_writes_to_a_given_file() -> None:
    buffer = io.StringIO()
    TextReporter(buffer).upload_start(URL, 3)
    assert buffer.getvalue() == f"nexosis: uploading 3 rows to {URL}\n"


# -- choosing a reporter -----------------------------------------------------------------------


def test_resolve_simple_arguments() -> None:
    custom = ProgressReporter()
    assert resolve_progress(custom) is custom
    assert type(resolve_progress(False)) is ProgressReporter
    assert type(resolve_progress(None)) is ProgressReporter
    assert isinstance(resolve_progress("text"), TextReporter)
    with pytest.raises(ValueError, match="progress must be"):
        resolve_progress("fancy")  # type: ignore[arg-type]


def test_auto_outside_a_kernel_is_text() -> None:
    assert isinstance(resolve_progress("auto"), TextReporter)
    assert isinstance(resolve_progress(True), TextReporter)


class _Kernel:
    def __init__(self) -> None:
        self.kernel = object()
        self.config: dict[str, Any] = {"IPKernelApp": {}}


@pytest.fixture
def in_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ipython = SimpleNamespace(get_ipython=lambda: _Kernel())
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    monkeypatch.setattr(progress_auto, "_warned", False)


@pytest.mark.usefixtures("in_kernel")
def test_auto_in_a_kernel_is_the_widget() -> None:
    assert isinstance(resolve_progress("auto"), WidgetReporter)


@pytest.mark.usefixtures("in_kernel")
def test_without_ipywidgets_falls_back_to_text_with_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.warns(ProgressWarning, match="ipywidgets is not installed"):
        assert isinstance(resolve_progress("auto"), TextReporter)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(resolve_progress("widget"), TextReporter)  # no second warning


@pytest.mark.usefixtures("in_kernel")
def test_a_widget_that_cannot_be_built_falls_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no comm")

    # ipywidgets is there, but its widgets cannot be made (no comm to a front end)
    monkeypatch.setitem(sys.modules, "ipywidgets", SimpleNamespace(HTML=broken))
    with pytest.warns(ProgressWarning, match="no comm"):
        assert isinstance(resolve_progress("auto"), TextReporter)


def test_text_reporter_without_history_uses_its_own_clock(
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = FakeTime()
    r = TextReporter(clock=t.clock)
    r.import_update(job_in("requested", history=[]))
    t.advance(0.7)
    r.import_update(job_in("started", history=[]))
    assert capsys.readouterr().err.splitlines()[-1] == "nexosis: import started (0.7 s)"


def test_the_job_in_the_cell_that_summarised_it_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shell = SimpleNamespace(execution_count=7)  # the notebook's cell number, as IPython has it
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    t = FakeTime()
    r, shown = widget(t)
    job = job_in("completed")
    r.import_end(job)
    assert len(shown.bundles) == 1  # the summary
    short = job._repr_html_()
    assert "summarised above" in short and "Timeline" not in short
    shell.execution_count = 8  # `job` shown again in a later cell: the whole table
    assert "Timeline" in job._repr_html_()


def test_a_widget_summarises_a_job_of_its_callers_own_without_marking_it() -> None:
    # A reporter driven by hand gets whatever object fits DisplayedJob; one without weak
    # references (SimpleNamespace) is summarised and simply not recorded for summary_cell.
    real = job_in("completed")
    fields = ("import_id", "dataset_name", "status", "status_history", "record", "error")
    job = SimpleNamespace(**{f: getattr(real, f) for f in fields}, duration=None, upload=None)
    r, shown = widget(FakeTime())
    r.import_end(job)
    assert len(shown.bundles) == 1 and "completed" in shown.bundles[0]["text/plain"]
    assert summary_cell(job) is None


def test_the_bar_moves_while_the_server_reads_the_file() -> None:
    from dataclasses import replace

    from nexosis_pandas._wire import Import, ReadProgress

    t = FakeTime()
    r, _ = widget(t)
    started = job_in("started")
    r.import_update(started)
    before = r.bar.value
    halfway = replace(started.record, progress=ReadProgress(500, 2_000, 4_000))
    r.import_update(job_with(first=halfway))
    assert r.bar.value == pytest.approx(before + 100 / 6)  # half of the last third
    assert r.percent.value == "50% read"
    assert "the server has read 500 rows (2.0 kB of 4.0 kB)" in r.detail.value
    assert r.bar.description == "Import started"
    # The wire fields come and go as the reference server sends them; the original API's
    # imports (without them) parse as before.
    wire = halfway.to_wire()
    assert (wire["rowsRead"], wire["bytesRead"], wire["bytesTotal"]) == (500, 2_000, 4_000)
    assert Import.from_wire(wire) == halfway
    assert Import.from_wire(started.record.to_wire()).progress is None
