"""``nexosis-pandas serve``: one ready line, a working server, a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import pytest
import requests

READY = re.compile(
    r"^Nexosis reference server listening on (http://127\.0\.0\.1:\d+/v1)( \(api key: (\S+)\))?$"
)


def _serve(tmp_path: Any, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEXOSIS_API_KEY"}
    return subprocess.Popen(
        [sys.executable, "-m", "nexosis_pandas.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_generates_a_key_and_stops_on_signal(tmp_path: Any, sig: signal.Signals) -> None:
    process = _serve(tmp_path, "--data-dir", str(tmp_path / "data"))
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        match = READY.match(line)
        assert match and match.group(3), line
        url, key = match.group(1), match.group(3)
        assert requests.get(f"{url}/imports", headers={"api-key": key}, timeout=10).ok
        assert requests.get(f"{url}/imports", timeout=10).status_code == 401
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert out == ""  # exactly one line
    finally:
        process.kill() if process.poll() is None else None
    assert (tmp_path / "data" / "nexosis.sqlite3").exists()


def test_serve_with_given_keys_does_not_show_them(tmp_path: Any) -> None:
    process = _serve(tmp_path, "--api-key", "first", "--api-key", "second")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        match = READY.match(line)
        assert match and match.group(2) is None, line
        for key in ("first", "second"):
            assert requests.get(
                f"{match.group(1)}/imports", headers={"api-key": key}, timeout=10
            ).ok
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        assert process.returncode == 0
    finally:
        process.kill() if process.poll() is None else None


def test_no_subcommand_prints_help() -> None:
    from nexosis_pandas.cli import main

    assert main([]) == 2
