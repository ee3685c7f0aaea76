"""``nexosis-pandas serve``: one ready line, a working server, a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
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


def _serve_fails(tmp_path: Any, *args: str) -> str:
    """Run ``serve`` expecting it to fail; return its stderr."""
    env = {k: v for k, v in os.environ.items() if k != "NEXOSIS_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "nexosis_pandas.cli", "serve", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    return done.stderr


def test_serve_on_a_busy_port_says_which_flag_to_change(tmp_path: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = _serve_fails(tmp_path, "--port", str(port))
    assert err == (
        f"nexosis-pandas serve: cannot listen on 127.0.0.1:{port} (is the port in use?); "
        "choose another with --port, or --port 0 for a free one\n"
    )


def test_serve_with_an_unusable_data_dir_says_so_in_one_line(tmp_path: Any) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    err = _serve_fails(tmp_path, "--port", "0", "--data-dir", str(blocker / "data"))
    assert err.startswith(f"nexosis-pandas serve: cannot create or write --data-dir {blocker}")
    assert err.endswith("pass --data-dir a directory you can write to\n")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from nexosis_pandas import __version__
    from nexosis_pandas.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"nexosis-pandas {__version__}\n"


def test_a_second_server_on_the_same_data_dir_refuses_until_the_first_is_killed(
    tmp_path: Any,
) -> None:
    data_dir = tmp_path / "data"
    first = _serve(tmp_path, "--data-dir", str(data_dir))
    try:
        assert first.stdout is not None
        assert READY.match(first.stdout.readline().rstrip("\n"))
        err = _serve_fails(tmp_path, "--port", "0", "--data-dir", str(data_dir))
        assert err.startswith(
            f"nexosis-pandas serve: Another reference server (process {first.pid}) is running on "
            f"the data directory {data_dir}"
        )
        assert err.endswith("pass --data-dir another directory, or stop the other server\n")
        assert err.count("\n") == 1
        first.kill()  # SIGKILL: no clean-up runs, yet the lock goes with the process
        first.communicate(timeout=30)
        second = _serve(tmp_path, "--data-dir", str(data_dir))
        try:
            assert second.stdout is not None
            assert READY.match(second.stdout.readline().rstrip("\n"))
        finally:
            second.kill()
            second.communicate(timeout=30)
    finally:
        first.kill() if first.poll() is None else None
