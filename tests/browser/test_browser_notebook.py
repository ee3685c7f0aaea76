"""The notebook experience in JupyterLab: progress, failures and reprs as a user sees them.

One notebook (``CELLS``) is run once for the module in a real JupyterLab page: it starts the
sandbox, imports a frame with ``df.nexosis.to_dataset`` (the default progress display), shows
the job, makes an import fail, shows the history, and imports once more with the same widget
held (the kernel waits for a file the test writes) once the upload ended and at the first import
report, so the test can look at moments that otherwise pass in milliseconds. The tests then
check what the page shows, and the same notebook exported to HTML with nbconvert.

Screenshots go to ``screenshot_dir``: the display mid-import, completed and failed
(``progress-importing.png``, ``progress-completed.png``, ``progress-failed.png``), and the
static summary in the exported HTML (``progress-summary.png``). ``docs/make_screenshots.py``
runs this module to refresh the docs' copies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .lab_harness import KERNEL_TIMEOUT_MS, JupyterLab, expect_progress_bar, export_html

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

NOTEBOOK = "nexosis-progress.ipynb"
N_ROWS = 1000
DONE, PENDING, FAILED = "\u2714", "\u25cb", "\u2718"
"""The marks the display puts before a stage: done, not reached yet, failed."""

# Cell indexes, named for the assertions below.
SETUP, IMPORT, JOB, FAILING, MESSAGE, HISTORY, PAUSED, STOP = range(8)
CELLS = [
    # SETUP: the sandbox (local S3 + reference server) becomes the default.
    "import os, time\n"
    "import numpy as np\n"
    "import pandas as pd\n"
    "import nexosis_pandas as nxp\n"
    "from nexosis_pandas.progress import WidgetReporter\n"
    "sb = nxp.sandbox()\n"
    f"df = pd.DataFrame({{'date': pd.date_range('2024-01-01', periods={N_ROWS}, freq='D'),\n"
    f"                   'units': np.arange({N_ROWS}) % 7}})\n"
    "sb",
    # IMPORT: what a user types; progress is the default ("auto").
    "job = df.nexosis.to_dataset('sales', target='units', timestamp='date')",
    # JOB: the rich ImportJob repr.
    "job",
    # FAILING: an import of a key that is not there fails on the server.
    "bad = sb.client.import_from_s3('broken', sb.bucket, 'nexosis/no-such-object.csv.gz')\n"
    "try:\n"
    "    bad.wait()\n"
    "except nxp.ImportFailedError as exc:\n"
    "    failure = exc",
    # MESSAGE: the server's message as plain text, to compare with what the display shows.
    "print('SERVER MESSAGE:', bad.error)",
    # HISTORY: every import as a DataFrame.
    "nxp.import_history()",
    # PAUSED: the same widget, held where the test looks: once the upload ended, and at the
    # first import report. Each hold ends when the test writes the file it waits for.
    "class Held(WidgetReporter):\n"
    "    def hold(self, name):\n"
    "        deadline = time.monotonic() + 60\n"
    "        while not os.path.exists(name) and time.monotonic() < deadline:\n"
    "            time.sleep(0.05)\n"
    "    def upload_end(self, obj, error=None):\n"
    "        super().upload_end(obj, error)\n"
    "        self.hold('release-upload')\n"
    "    def import_update(self, job):\n"
    "        super().import_update(job)\n"
    "        self.hold('release-import')\n"
    "\n"
    "demo = df.nexosis.to_dataset('sales_demo', target='units', timestamp='date',\n"
    "                             progress=Held())",
    # STOP
    "sb.stop()",
]


@dataclass(frozen=True)
class Seen:
    """The progress display as it was at one moment."""

    description: str
    percent: str
    stages: str
    bar_style: str
    bar_class: str


@dataclass
class RunNotebook:
    """The page after the notebook ran, and what the held display showed on the way."""

    lab: JupyterLab
    page: Page
    notebook: Path
    screenshots: Path
    uploaded: Seen
    importing: Seen

    def output(self, index: int) -> Locator:
        return self.lab.output(self.page, index)


def _widget(lab: JupyterLab, page: Page, index: int) -> Locator:
    """The progress display (the outer ``VBox``) in a cell's output."""
    return lab.output(page, index).locator(".widget-vbox").first


def _bar(lab: JupyterLab, page: Page, index: int) -> Locator:
    return lab.output(page, index).locator(".widget-hprogress .progress-bar")


def _label(widget: Locator) -> Locator:
    return widget.locator(".widget-hprogress .widget-label")


def _stages(widget: Locator) -> Locator:
    return widget.locator(".widget-html").nth(2)  # title, percentage, stages, detail


def _seen(widget: Locator) -> Seen:
    bar = widget.locator(".widget-hprogress .progress-bar")
    return Seen(
        description=_label(widget).inner_text().strip(),
        percent=widget.locator(".widget-html").nth(1).inner_text().strip(),
        stages=_stages(widget).inner_text(),
        bar_style=bar.get_attribute("style") or "",
        bar_class=bar.get_attribute("class") or "",
    )


@pytest.fixture(scope="module")
def run(browser: Browser, jupyter_lab: JupyterLab, screenshot_dir: Path) -> Iterator[RunNotebook]:
    """Run ``CELLS`` in JupyterLab once; screenshot the display mid-import and at the end."""
    from playwright.sync_api import expect

    lab = jupyter_lab
    notebook = lab.write_notebook(NOTEBOOK, CELLS)
    for name in ("release-upload", "release-import"):
        (lab.root_dir / name).unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        lab.open_notebook(page, NOTEBOOK)
        lab.run_all_cells(page)

        held = _widget(lab, page, PAUSED)
        with lab.explained(page, "the held display never showed the finished upload"):
            expect(_label(held)).to_have_text("Uploaded", timeout=KERNEL_TIMEOUT_MS)
        uploaded = _seen(held)
        (lab.root_dir / "release-upload").write_text("go")

        with lab.explained(page, "the held display never showed the requested import"):
            expect(_label(held)).to_have_text("Import requested")
        importing = _seen(held)
        held.screenshot(path=str(screenshot_dir / "progress-importing.png"))
        (lab.root_dir / "release-import").write_text("go")

        lab.wait_for_cells_done(page)
        _widget(lab, page, IMPORT).screenshot(path=str(screenshot_dir / "progress-completed.png"))
        _widget(lab, page, FAILING).screenshot(path=str(screenshot_dir / "progress-failed.png"))
        lab.save_notebook(page)
    except Exception:
        page.screenshot(path=str(screenshot_dir / "FAILED-notebook-run.png"), full_page=True)
        context.close()
        raise
    try:
        yield RunNotebook(lab, page, notebook, screenshot_dir, uploaded, importing)
    finally:
        context.close()


def test_progress_is_drawn_as_widgets_not_text(run: RunNotebook) -> None:
    from playwright.sync_api import expect

    output = run.output(IMPORT)
    expect(output.locator(".widget-vbox .widget-hprogress")).to_have_count(1)
    # Neither a widget's text fallback ("VBox(children=...)", "FloatProgress(...)"), nor the
    # text reporter's lines or its fallback warning, nor a front-end error.
    for fallback in (
        "VBox(",
        "FloatProgress(",
        "nexosis import progress (a widget",
        "nexosis: ",
        "ProgressWarning",
        "Error displaying widget",
    ):
        expect(output).not_to_contain_text(fallback)


def test_sandbox_prints_nothing_into_the_notebook(run: RunNotebook) -> None:
    """The servers behind the sandbox run in the kernel; their logs must not reach the cells."""
    from playwright.sync_api import expect

    for index in (SETUP, IMPORT, FAILING, PAUSED):
        stderr = run.output(index).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        expect(stderr, f"cell {index} printed to stderr").to_have_count(0)


def test_upload_reaches_100_percent(run: RunNotebook) -> None:
    seen = run.uploaded
    assert seen.description == "Uploaded"
    assert seen.percent == "100%"
    assert re.search(r"(^|;)\s*width: 100%;", seen.bar_style), seen.bar_style
    assert "progress-bar-info" in seen.bar_class.split()
    assert f"{DONE} upload" in seen.stages
    assert f"{PENDING} requested" in seen.stages


def test_import_stages_advance_to_completed(run: RunNotebook) -> None:
    from playwright.sync_api import expect

    seen = run.importing  # mid-import: blue, upload done, the import requested
    assert seen.description == "Import requested"
    assert "progress-bar-info" in seen.bar_class.split()
    assert f"{DONE} upload" in seen.stages
    assert f"{PENDING} completed" in seen.stages
    assert (run.screenshots / "progress-importing.png").stat().st_size > 1000

    stages = _stages(_widget(run.lab, run.page, IMPORT))
    for stage in ("upload", "requested", "started", "completed"):
        expect(stages).to_contain_text(f"{DONE} {stage}")
    expect(stages).not_to_contain_text(PENDING)  # no stage left behind


def test_final_style_is_success(run: RunNotebook) -> None:
    from playwright.sync_api import expect

    widget = _widget(run.lab, run.page, IMPORT)
    expect_progress_bar(_bar(run.lab, run.page, IMPORT), width="100%", style="success")
    expect(_label(widget)).to_have_text("Completed")
    expect(widget).to_contain_text(f"{N_ROWS:,} rows")
    assert (run.screenshots / "progress-completed.png").stat().st_size > 1000


def test_failed_import_shows_danger_and_the_servers_message(run: RunNotebook) -> None:
    from playwright.sync_api import expect

    printed = run.output(MESSAGE).inner_text()
    match = re.search(r"SERVER MESSAGE: (.+)", printed)
    assert match, printed
    message = match.group(1).strip()
    assert message, "the failed import carries no message from the server"

    expect_progress_bar(_bar(run.lab, run.page, FAILING), width="100%", style="danger")
    widget = _widget(run.lab, run.page, FAILING)
    expect(_label(widget)).to_have_text("Failed")
    expect(widget).to_contain_text(message)
    expect(widget).to_contain_text(FAILED)
    assert (run.screenshots / "progress-failed.png").stat().st_size > 1000


def test_job_and_history_render_as_html_tables(run: RunNotebook) -> None:
    from playwright.sync_api import expect

    job = run.output(JOB)
    expect(job.locator(".jp-RenderedHTMLCommon table")).not_to_have_count(0)
    expect(job).to_contain_text("sales")
    expect(job).to_contain_text("completed")
    expect(job).not_to_contain_text("<ImportJob")

    history = run.output(HISTORY).locator(".jp-RenderedHTMLCommon table")
    expect(history).not_to_have_count(0)
    for text in ("sales", "broken", "completed", "failed", "dataset", "status", "Import (s)"):
        expect(history.first).to_contain_text(text)


def test_exported_html_shows_static_summaries_without_widgets(
    run: RunNotebook, page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    html = export_html(run.notebook, tmp_path / "exported.html")
    page.goto(html.as_uri())

    summaries = page.locator("xpath=//div[b[normalize-space()='nexosis import']][table]")
    completed = summaries.filter(has_text="sales").filter(has_text="completed").first
    expect(completed).to_be_visible()
    for label in ("Dataset", "Status", "Rows", "Upload", "Import", "Total"):
        expect(completed).to_contain_text(label)
    expect(completed).to_contain_text(f"{N_ROWS:,}")
    expect(completed).to_contain_text(re.compile(r"Total\s*\d+(\.\d+)? s"))

    failed = summaries.filter(has_text="broken").filter(has_text="failed").first
    expect(failed).to_be_visible()
    completed.screenshot(path=str(run.screenshots / "progress-summary.png"))

    # Widgets do not run in the exported file, and their text fallback is not shown either.
    expect(page.locator(".widget-hprogress")).to_have_count(0)
    for fallback in ("VBox(", "FloatProgress(", "HBox("):
        expect(page.locator("body")).not_to_contain_text(fallback)
