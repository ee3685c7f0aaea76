"""A background import in JupyterLab: its bar moves in its own cell while the next cell runs.

One notebook runs once: a cell starts a background import of a frame large enough to take a
few seconds and returns at once; the next cell sleeps; a third waits for the job. While the
sleeping cell runs, the test samples the first cell's bar from the page: it must move there,
and nothing of the import may be written into the sleeping cell's output.

The screenshot ``background-two-cells.png`` (the two cells, in ``screenshot_dir``) is the one
the docs' progress page shows.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .lab_harness import KERNEL_TIMEOUT_MS, JupyterLab, expect_progress_bar

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NOTEBOOK = "nexosis-background.ipynb"
N_ROWS = 1_500_000
SLEEP_SECONDS = 10

SETUP, BACKGROUND, SLEEPING, RESULT, STOP = range(5)
CELLS = [
    "import time\n"
    "import numpy as np\n"
    "import pandas as pd\n"
    "import nexosis_pandas as nxp\n"
    "sb = nxp.sandbox()\n"
    f"df = pd.DataFrame({{'id': np.arange({N_ROWS}), 'value': np.arange({N_ROWS}) * 0.5}})",
    "job = df.nexosis.to_dataset('background', background=True)",
    f"time.sleep({SLEEP_SECONDS})\nprint('slept')",
    "print(job.result(timeout=120).status.value)",
    "sb.stop()",
]

_STATE = """(index) => {
    const cells = document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
    const prompt = (i) => cells[i]?.querySelector('.jp-InputPrompt')?.textContent || '';
    const bar = cells[index]?.querySelector('.widget-hprogress .progress-bar');
    return {sleeping: prompt(index + 1).includes('*'), width: bar ? bar.style.width : null,
            label: cells[index]?.querySelector('.widget-hprogress .widget-label')?.textContent};
}"""


def test_the_bar_moves_in_its_own_cell_while_the_next_one_runs(
    browser: Browser, jupyter_lab: JupyterLab, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    lab = jupyter_lab
    lab.write_notebook(NOTEBOOK, CELLS)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        lab.open_notebook(page, NOTEBOOK)
        lab.run_all_cells(page)

        # Sample the first cell's bar for as long as the sleeping cell runs.
        seen: list[tuple[str | None, str | None]] = []
        deadline = time.monotonic() + KERNEL_TIMEOUT_MS / 1000
        started = False
        while time.monotonic() < deadline:
            state = page.evaluate(_STATE, BACKGROUND)
            if state["sleeping"]:
                started = True
                seen.append((state["width"], state["label"]))
            elif started:
                break
            time.sleep(0.1)  # sampling the page, not waiting for it
        with lab.explained(page, f"the bar did not move while the next cell ran: {seen}"):
            assert started, "the sleeping cell was never seen running"
            widths = {width for width, _ in seen if width}
            assert len(widths) >= 2
            labels = {label for _, label in seen if label}
            assert any(label.startswith(("Upload", "Import")) for label in labels)

        lab.wait_for_cells_done(page)
        with lab.explained(page, "the background import did not end completed in its cell"):
            bar = lab.output(page, BACKGROUND).locator(".widget-hprogress .progress-bar")
            expect_progress_bar(bar, width="100%", style="success")
            expect(lab.output(page, BACKGROUND)).to_contain_text("completed")
        with lab.explained(page, "the sleeping cell shows something of the import"):
            sleeping = lab.output(page, SLEEPING)
            expect(sleeping).to_have_text(re.compile(r"^\s*slept\s*$"))
            expect(sleeping.locator(".widget-vbox")).to_have_count(0)
            expect(lab.output(page, RESULT)).to_have_text(re.compile(r"^\s*completed\s*$"))
        first, second = lab.cell(page, BACKGROUND), lab.cell(page, SLEEPING)
        box_a, box_b = first.bounding_box(), second.bounding_box()
        assert box_a is not None and box_b is not None
        page.screenshot(
            path=str(screenshot_dir / "background-two-cells.png"),
            clip={
                "x": box_a["x"],
                "y": box_a["y"],
                "width": max(box_a["width"], box_b["width"]),
                "height": box_b["y"] + box_b["height"] - box_a["y"],
            },
        )
    finally:
        context.close()
