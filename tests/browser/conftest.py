"""JupyterLab in headless Chromium: a server, a browser and helpers to run notebooks in it.

One JupyterLab serves the whole session from a temporary directory that also holds its HOME and
every Jupyter folder, so no user setting leaks in. Chromium is Debian's (``/usr/bin/chromium``),
driven by Playwright; no browser download is needed. Without Chromium the tests skip and say how
to install it, except under ``CI=true``, where they fail instead.

Everything the page loads is kept on this machine: requests to any host but the server's are
aborted, so a notebook exported with nbconvert (which points at CDNs) opens without waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .lab_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAB_SETTINGS,
    JupyterLab,
    free_port,
    stop_server,
    unavailable,
    wait_until_up,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Route


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """The Chromium binary; skips (fails under CI) when it or Playwright is missing."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found")
    for module in ("playwright", "jupyterlab", "nbconvert"):
        try:
            __import__(module)
        except ImportError:
            unavailable(f"the Python package {module!r} is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def jupyter_lab(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    """A JupyterLab on 127.0.0.1 for the session, its HOME and Jupyter folders in a temp dir."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root, home = base / "root", base / "home"
    settings_dir = base / "user-settings"
    for folder in (root, home, settings_dir):
        folder.mkdir()
    for key, values in LAB_SETTINGS.items():
        path = settings_dir / f"{key}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "MPLCONFIGDIR": str(base / "matplotlib"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
        # The kernels' nxp.sandbox() keeps its state here; stopped when the session ends.
        "NEXOSIS_SANDBOX_DIR": str(base / "sandbox"),
    }
    for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH"):
        env.pop(var, None)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    log_path = base / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, log_path)
    try:
        wait_until_up(lab, proc)
        yield lab
    finally:
        stop_server(proc)
        from nexosis_pandas.sandbox import stop_sandbox

        stop_sandbox(base / "sandbox")  # the background sandbox outlives the kernels


@pytest.fixture(scope="package")
def playwright_instance(chromium_path: Path) -> Iterator[Playwright]:
    """Playwright's sync API for the browser tests.

    Scoped to this package: while it runs, its event loop is the main thread's running loop,
    and the tests after these (``asyncio.run`` in the background-job tests) need it stopped.
    """
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright, chromium_path: Path) -> Iterator[Browser]:
    """Headless Chromium (Debian's), with a fresh profile deleted on close."""
    chromium = playwright_instance.chromium.launch(
        executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield chromium
    finally:
        chromium.close()


_LOCAL_URL = re.compile(r"^(file:|data:|blob:|about:|https?://(127\.0\.0\.1|localhost)[:/])")


def _local_only(route: Route) -> None:
    if _LOCAL_URL.match(route.request.url):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, screenshot_dir: Path) -> Iterator[Page]:
    """A fresh page (its own context) that reaches only this machine.

    When the test fails, a screenshot of the whole page is saved in ``screenshot_dir`` as
    ``FAILED-<test>.png``.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", _local_only)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):  # the test's own failure is what matters
                tab.screenshot(path=str(screenshot_dir / f"FAILED-{name}.png"), full_page=True)
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save screenshots: ``NEXOSIS_SCREENSHOT_DIR`` if set, else a temp dir."""
    given = os.environ.get("NEXOSIS_SCREENSHOT_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each test's call report on the item, so ``page`` can tell a failure apart."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
