"""The classroom in JupyterLab: a kernel restart loses nothing, a mistake shows one clear
message, the job is shown once, and the package's colours read on Light and Dark themes.

One notebook (``CELLS``) runs, its kernel is restarted through Jupyter's REST API (as the
Restart button does), and it runs again: the sandbox, its history and the first run's import
are still there. Screenshots go to ``screenshot_dir``: ``classroom-restart.png``,
``classroom-traceback.png``, ``classroom-job-once.png``, ``classroom-history.png`` and
``classroom-dark.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from .lab_harness import JupyterLab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NOTEBOOK = "classroom.ipynb"
SETUP, IMPORT, AFTER, HISTORY, MISTAKE = range(5)  # the mistake last: it ends a run
CELLS = [
    # SETUP
    "import os\n"
    "import pandas as pd\n"
    "import nexosis_pandas as nxp\n"
    "sb = nxp.sandbox()\n"
    "df = pd.DataFrame({'date': pd.date_range('2024-01-01', periods=200, freq='D'),\n"
    "                   'units': range(200)})\n"
    "print('SANDBOX', sb.api_url)",
    # IMPORT: the cell a student writes, ending in the job.
    "job = df.nexosis.to_dataset('sales', target='units', timestamp='date')\n"
    "if not os.path.exists('first-import'):\n"
    "    open('first-import', 'w').write(job.import_id)\n"
    "job",
    # AFTER: what survives a restart (the first run's import, resumed by its id).
    "first = open('first-import').read()\n"
    "resumed = nxp.get_import(first).wait(progress=False)\n"
    "print('RESUMED', resumed.status.value, first in set(nxp.import_history().import_id))",
    # HISTORY
    "nxp.import_history('sales')",
    # MISTAKE: a misspelt column.
    "df.nexosis.to_dataset('sales', target='unit')",
]

CONTRAST_JS = """(root) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    const rgba = (css) => {
        ctx.clearRect(0, 0, 1, 1);
        ctx.fillStyle = '#000'; ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
        return Array.from(ctx.getImageData(0, 0, 1, 1).data);
    };
    const lum = ([r, g, b]) => [r, g, b].map((v) => {
        v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = (el) => {
        for (; el; el = el.parentElement) {
            const c = rgba(getComputedStyle(el).backgroundColor);
            if (c[3] > 0) return c;
        }
        return [255, 255, 255, 255];
    };
    return [...root.querySelectorAll('[style*="color"]')]
        .filter((el) => el.textContent.trim())
        .map((el) => {
            const fg = rgba(getComputedStyle(el).color), bg = background(el);
            const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
            return {text: el.textContent.trim().slice(0, 30), ratio: (a + 0.05) / (b + 0.05)};
        });
}"""


@dataclass
class Classroom:
    lab: JupyterLab
    page: Page
    first_run: str
    second_run: str
    shots: Path


def _restart_kernel(lab: JupyterLab) -> None:
    headers = {"Authorization": f"token {lab.token}"}
    sessions = requests.get(f"{lab.url}/api/sessions", headers=headers, timeout=10).json()
    (session,) = [s for s in sessions if s["path"].endswith(NOTEBOOK)]
    kernel = session["kernel"]["id"]
    reply = requests.post(f"{lab.url}/api/kernels/{kernel}/restart", headers=headers, timeout=60)
    reply.raise_for_status()


@pytest.fixture(scope="module")
def classroom(
    browser: Browser, jupyter_lab: JupyterLab, screenshot_dir: Path
) -> Iterator[Classroom]:
    lab = jupyter_lab
    lab.write_notebook(NOTEBOOK, CELLS)
    (lab.root_dir / "first-import").unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        lab.open_notebook(page, NOTEBOOK)
        lab.run_all_cells(page)  # ends at MISTAKE, which raises
        page.wait_for_function(
            "() => document.querySelectorAll("
            "'.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]').length",
            timeout=120_000,
        )
        first = lab.outputs_text(page)
        _restart_kernel(lab)
        page.wait_for_timeout(1000)  # the page hears of the restart
        lab.open_notebook(page, NOTEBOOK)  # waits for the idle kernel
        lab.run_all_cells(page)
        with lab.explained(page, "the notebook did not run again after the restart"):
            page.locator(".jp-OutputArea", has_text="RESUMED").first.wait_for(timeout=120_000)
            page.wait_for_function(
                "() => { const cells = document.querySelectorAll("
                "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');"
                " return cells.length >= 5 && cells[4].innerText.includes('ColumnError'); }",
                timeout=120_000,
            )
        second = lab.outputs_text(page)
        yield Classroom(lab, page, first, second, screenshot_dir)
    finally:
        context.close()


def test_a_kernel_restart_keeps_the_sandbox_its_history_and_the_resume(
    classroom: Classroom,
) -> None:
    first_url = [ln for ln in classroom.first_run.splitlines() if "SANDBOX" in ln]
    second_url = [ln for ln in classroom.second_run.splitlines() if "SANDBOX" in ln]
    assert first_url and first_url == second_url  # the same sandbox, found again
    assert "RESUMED completed True" in classroom.second_run
    classroom.lab.cell(classroom.page, AFTER).screenshot(
        path=str(classroom.shots / "classroom-restart.png")
    )


def test_a_mistake_shows_the_users_line_and_the_message(classroom: Classroom) -> None:
    error = classroom.lab.output(classroom.page, MISTAKE)
    text = error.inner_text()
    assert "Did you mean 'units'?" in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) <= 12, text  # was ~65 lines through accessor.py, api.py, columns.py
    for internal in ("columns.py", "api.py", "accessor.py"):
        assert internal not in text
    classroom.lab.cell(classroom.page, MISTAKE).screenshot(
        path=str(classroom.shots / "classroom-traceback.png")
    )


def test_the_job_is_shown_once(classroom: Classroom) -> None:
    output = classroom.lab.output(classroom.page, IMPORT)
    text = output.inner_text()
    assert text.count("S3 object") == 1  # the summary's table; the job does not repeat it
    assert "summarised above" in text
    assert output.locator(".widget-hprogress").count() == 1
    classroom.lab.cell(classroom.page, IMPORT).screenshot(
        path=str(classroom.shots / "classroom-job-once.png")
    )


def test_the_history_reads_at_a_glance(classroom: Classroom) -> None:
    output = classroom.lab.output(classroom.page, HISTORY)
    classroom.lab.cell(classroom.page, HISTORY).screenshot(
        path=str(classroom.shots / "classroom-history.png")
    )
    text = output.inner_text()
    assert "s3://nexosis-sandbox/nexosis/sales-" in text and "Import (s)" in text
    row = output.locator("tbody tr").first.bounding_box()
    assert row is not None and row["height"] < 40, row  # one line per import (was four)
    assert "…" in text  # short ids


@pytest.mark.parametrize(
    "theme", ["JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast"]
)
def test_the_packages_colours_reach_4_5_to_1(classroom: Classroom, theme: str) -> None:
    page = classroom.page
    page.evaluate(
        "async (theme) => { await window.jupyterapp.commands.execute("
        "'apputils:change-theme', {theme}); }",
        theme,
    )
    page.wait_for_function(
        "(theme) => document.body.dataset.jpThemeName === theme", arg=theme, timeout=30_000
    )
    page.wait_for_timeout(500)
    ratios: list[dict[str, object]] = []
    for index in (IMPORT, HISTORY):
        ratios += page.evaluate(CONTRAST_JS, classroom.lab.output(page, index).element_handle())
    assert len(ratios) >= 5  # the stage marks, the badge, the history's statuses
    low = [r for r in ratios if float(str(r["ratio"])) < 4.5]
    assert not low, f"{theme}: {low}"
    if theme == "JupyterLab Dark":
        classroom.lab.cell(page, IMPORT).screenshot(
            path=str(classroom.shots / "classroom-dark.png")
        )
