"""Regenerate the screenshots the docs show, from a real JupyterLab in headless Chromium.

    python docs/make_screenshots.py

Runs the browser tests of the notebook experience (``tests/browser/test_browser_notebook.py``
and ``tests/browser/test_browser_background.py``), which save their screenshots while they
check the page, and copies them into ``docs/images/``:

- ``progress-importing.png``: the progress display mid-import (upload done, import requested);
- ``progress-completed.png``: the display when the import completed;
- ``progress-failed.png``: the display of an import the server failed, with its message;
- ``progress-summary.png``: the static summary, as an exported notebook (nbconvert) shows it;
- ``background-two-cells.png``: a background import's cell and the next cell, which ran while
  the import went on.

Needs what the browser tests need: Debian's ``chromium`` (``apt-get install -y chromium``) and
the ``test`` extras. The images are only replaced when every test passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
NAMES = (
    "progress-importing.png",
    "progress-completed.png",
    "progress-failed.png",
    "progress-summary.png",
    "background-two-cells.png",
)


def main() -> int:
    """Run the tests into a temp dir; copy the screenshots into ``docs/images``."""
    with tempfile.TemporaryDirectory(prefix="nexosis-screenshots-") as tmp:
        # CI=true: fail, rather than skip, when Chromium is missing.
        env = {**os.environ, "NEXOSIS_SCREENSHOT_DIR": tmp, "CI": "true"}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "browser" / "test_browser_notebook.py"),
            str(ROOT / "tests" / "browser" / "test_browser_background.py"),
        ]
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
            print("the browser tests failed; docs/images left as it was", file=sys.stderr)
            return 1
        IMAGES.mkdir(parents=True, exist_ok=True)
        for name in NAMES:
            target = IMAGES / name
            shutil.copyfile(Path(tmp) / name, target)
            print(f"{target.relative_to(ROOT)}  {target.stat().st_size / 1000:.1f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
