"""The harness itself: a plain ipywidgets progress bar renders as a widget in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .lab_harness import JupyterLab, expect_progress_bar

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_intprogress_renders_as_a_widget(
    jupyter_lab: JupyterLab, page: Page, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    jupyter_lab.write_notebook(
        "harness.ipynb",
        [
            "import ipywidgets as w\nbar = w.IntProgress(value=0, max=4, bar_style='info')\nbar",
            "bar.value = 4\nbar.bar_style = 'success'",
        ],
    )
    jupyter_lab.open_notebook(page, "harness.ipynb")
    jupyter_lab.run_all_cells(page)
    jupyter_lab.wait_for_cells_done(page)

    output = jupyter_lab.output(page, 0)
    progress = output.locator(".widget-hprogress")
    expect(progress).to_have_count(1)
    bar = progress.locator(".progress-bar")
    expect_progress_bar(bar, width="100%", style="success")
    # The widget front end drew it: no text fallback such as "IntProgress(value=0, ...)".
    expect(output).not_to_contain_text("IntProgress(")
    output.screenshot(path=str(screenshot_dir / "harness-intprogress.png"))
    assert (screenshot_dir / "harness-intprogress.png").stat().st_size > 0
