"""The browser tests' harness: JupyterLab started in a temp dir, and helpers to use it in a page.

The fixtures in ``conftest.py`` build on these; test modules import the helpers from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path(os.environ.get("NEXOSIS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "Debian: `apt-get update && apt-get install -y chromium`; "
    "and the Python side: pip install -e '.[test]' (jupyterlab, playwright, nbconvert). "
    "`playwright install` is not needed: the tests drive the system's Chromium "
    "(another binary can be given in NEXOSIS_CHROMIUM)."
)
SERVER_START_TIMEOUT = 60.0
"""Seconds JupyterLab gets to answer after it is started."""
KERNEL_TIMEOUT_MS = 60_000
"""How long a notebook's kernel gets to start, and its cells to run."""

# JupyterLab settings that keep the page quiet and every cell in the DOM.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # No "Would you like to receive official Jupyter news?" pop-up, no update check.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Cells off screen stay rendered, so locators and screenshots find them.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> None:
    """Skip the browser tests locally; fail them under CI, where they must run."""
    message = f"browser tests cannot run: {reason}. To install what they need: {INSTALL_HINT}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true: not skipping)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class JupyterLab:
    """A running JupyterLab: where it is, where its notebooks live, and how to use it in a page.

    Parameters
    ----------
    url
        ``http://127.0.0.1:<port>``.
    token
        The token the server accepts.
    root_dir
        The folder the server serves; notebooks written here open at ``/lab/tree/<name>``.
    log_path
        The server's combined output (shown when something fails).
    """

    def __init__(self, url: str, token: str, root_dir: Path, log_path: Path) -> None:
        self.url = url
        self.token = token
        self.root_dir = root_dir
        self.log_path = log_path

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a notebook of code cells (in order) into the server's root; return its path."""
        import nbformat

        nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]  # type: ignore[no-untyped-call]
        path = self.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]
        return path

    def open_notebook(self, page: Page, name: str) -> None:
        """Open a notebook in the page and wait until its kernel is idle."""
        page.goto(f"{self.url}/lab/tree/{name}?token={self.token}")
        page.wait_for_function(
            """(name) => {
                const app = window.jupyterapp;
                const panel = app && app.shell.currentWidget;
                if (!panel || !panel.context || !panel.context.path.endsWith(name)) return false;
                const kernel = panel.sessionContext.session?.kernel;
                return !!kernel && kernel.status === 'idle' && panel.content.widgets.length > 0;
            }""",
            arg=name,
            timeout=KERNEL_TIMEOUT_MS,
        )

    def run_all_cells(self, page: Page) -> None:
        """Start running every cell; return at once (the command's promise is not awaited)."""
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def wait_for_cells_done(self, page: Page, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        """Wait until every code cell shows an execution count and the kernel is idle.

        A cell that raises stops the run, so notebooks catch what they mean to show; a cell
        left unrun makes this time out with the page's last outputs in the error.
        """
        try:
            page.wait_for_function(
                """() => {
                    const panel = window.jupyterapp.shell.currentWidget;
                    const cells = panel.content.widgets.filter((c) => c.model.type === 'code');
                    const kernel = panel.sessionContext.session?.kernel;
                    return !!kernel && kernel.status === 'idle' && cells.every(
                        (c) => c.model.executionCount !== null && c.promptNode
                            && /\\[\\d+\\]/.test(c.promptNode.textContent));
                }""",
                timeout=timeout_ms,
            )
        except Exception as exc:
            raise AssertionError(
                f"the notebook's cells did not all run within {timeout_ms / 1000:.0f} s; "
                f"outputs so far:\n{self.outputs_text(page)}"
            ) from exc

    def save_notebook(self, page: Page) -> None:
        """Save the open notebook (outputs included) to disk, and wait for it."""
        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute('docmanager:save'); }"
        )

    def cell(self, page: Page, index: int) -> Locator:
        """The ``index``-th cell (0-based) of the open notebook."""
        return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(
            index
        )

    def output(self, page: Page, index: int) -> Locator:
        """The output area of the ``index``-th cell."""
        return self.cell(page, index).locator(".jp-OutputArea")

    @contextlib.contextmanager
    def explained(self, page: Page, what: str) -> Iterator[None]:
        """Re-raise a failed wait or assertion with what the notebook showed at the time."""
        try:
            yield
        except Exception as exc:
            raise AssertionError(
                f"{what}: {exc}\n-- the notebook's outputs --\n{self.outputs_text(page)}"
            ) from exc

    def outputs_text(self, page: Page) -> str:
        """Every cell's output text of the open notebook, numbered (for error messages)."""
        texts: list[str] = page.evaluate(
            """() => [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')].map(
                (c) => (c.querySelector('.jp-OutputArea')?.innerText || '').slice(0, 2000))"""
        )
        return "\n".join(f"[cell {i}] {t}" for i, t in enumerate(texts) if t.strip())


def wait_until_up(lab: JupyterLab, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {proc.returncode} before answering:\n{lab.log_tail()}"
            )
        try:
            reply = requests.get(
                f"{lab.url}/api/status", headers={"Authorization": f"token {lab.token}"}, timeout=2
            )
            if reply.status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # polling the server's port, not waiting on the page
    raise RuntimeError(
        f"JupyterLab did not answer within {SERVER_START_TIMEOUT:.0f} s:\n{lab.log_tail()}"
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it shuts its kernels down); kill it if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def expect_progress_bar(bar: Locator, *, width: str, style: str | None = None) -> None:
    """Assert (waiting up to the default timeout) an ipywidgets ``.progress-bar``'s fill and style.

    ipywidgets 8 draws the fill as the bar's inline ``width`` (``"100%"``) and ``bar_style`` as a
    ``progress-bar-<style>`` class.
    """
    from playwright.sync_api import expect

    expect(bar).to_have_attribute("style", re.compile(rf"(^|;)\s*width: {re.escape(width)};"))
    if style is not None:
        expect(bar).to_have_class(re.compile(rf"(^|\s)progress-bar-{re.escape(style)}(\s|$)"))


def export_html(notebook: Path, dest: Path) -> Path:
    """Export a notebook, outputs as saved, to HTML with nbconvert's default (lab) template."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))  # type: ignore[no-untyped-call]
    dest.write_text(body, encoding="utf-8")
    return dest
