"""The sandbox and the demo: local S3 + reference server, made the defaults while they run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import cli, config
from nexosis_pandas._demo import run_demo, sample_sales
from nexosis_pandas.sandbox import stop_sandbox


def _in_a_new_kernel(code: str) -> str:
    """Run ``code`` in a fresh interpreter (as a restarted kernel would); return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", "import nexosis_pandas as nxp\n" + code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pid(home: Path) -> int:
    return int(json.loads((home / "state.json").read_text())["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        not Path(f"/proc/{pid}/status").exists()
        or "zombie" not in Path(f"/proc/{pid}/status").read_text()
    )


def test_the_sandbox_is_the_default_while_it_runs() -> None:
    before = config.get_defaults()
    with nxp.sandbox() as sb:
        assert config.get_defaults().client is sb.client
        assert sb.api_url.startswith("http://127.0.0.1:") and sb.api_url.endswith("/v1")
        assert sb.api_key not in repr(sb) and sb.api_key not in sb._repr_html_()
        frame = pd.DataFrame({"x": [1, 2, 3]})
        job = frame.nexosis.to_dataset("numbers", progress=False)
        assert job.upload is not None and job.upload.url.startswith(sb.s3_prefix)
        assert nxp.import_history()["dataset_name"].tolist() == ["numbers"]
    assert config.get_defaults().client is before.client is None
    assert repr(sb) == "<Sandbox stopped>"


def test_a_restarted_kernel_finds_the_sandbox_with_its_imports_and_objects(
    sandbox_dir: Path,
) -> None:
    sb = nxp.sandbox()
    job = pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
    assert job.upload is not None
    out = _in_a_new_kernel(
        "sb = nxp.sandbox()\n"
        f"print(sb.api_url == {sb.api_url!r})\n"
        "print(nxp.import_history()['dataset_name'].tolist())\n"
        f"print(nxp.get_import({job.import_id!r}).wait(progress=False).status.value)\n"
        "import s3fs\n"
        "print(s3fs.S3FileSystem(**sb.storage_options).cat("
        f"{job.upload.bucket + '/' + job.upload.key!r})[:2])\n"
    )
    assert out.splitlines() == ["True", "['numbers']", "completed", repr(b"\x1f\x8b")]
    assert nxp.sandbox() is sb and sb.running  # the cell run again, in this kernel
    sb.stop()
    assert not (sandbox_dir / "state.json").exists()


def test_a_killed_sandbox_is_found_and_restarted_with_everything_it_kept(
    sandbox_dir: Path,
) -> None:
    sb = nxp.sandbox()
    job = pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
    assert job.upload is not None
    key = f"{job.upload.bucket}/{job.upload.key}"
    assert (sandbox_dir / "s3" / key).exists()  # on disk before the upload was acknowledged
    old = _pid(sandbox_dir)
    os.kill(old, signal.SIGKILL)
    assert (sandbox_dir / "state.json").exists()  # left behind: stale
    deadline = time.monotonic() + 10
    while sb.running:  # the lock dies with the process
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again = nxp.sandbox()
    assert again is not sb and _pid(sandbox_dir) != old
    assert nxp.import_history()["import_id"].tolist() == [job.import_id]
    job2 = pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
    assert job2.upload is not None and job2.upload.url == job.upload.url  # found, not re-sent
    assert again.client.read_dataset("numbers")["x"].tolist() == [1, 2, 3] * 2  # and read
    again.stop()


def test_the_background_sandbox_hands_freed_memory_back_as_serve_does(sandbox_dir: Path) -> None:
    sb = nxp.sandbox()
    try:
        pid = _pid(sandbox_dir)
        log = (sandbox_dir / "sandbox.log").read_text()
        running = [line for line in log.splitlines() if f"(pid {pid}," in line]
        # Arrow's pool in the sandbox process (mimalloc unless the settings were applied)
        assert running and running[-1].endswith("Arrow memory pool jemalloc)"), log
    finally:
        sb.stop()


def test_a_call_after_stop_says_the_sandbox_was_stopped_and_how_to_start_it() -> None:
    sb = nxp.sandbox()
    sb.stop()
    with pytest.raises(nxp.ConfigurationError) as info:
        pd.DataFrame({"x": [1]}).nexosis.to_dataset("numbers")
    assert str(info.value).startswith("The sandbox was stopped. Start it again with ")
    assert "nexosis_pandas.sandbox()" in str(info.value)
    again = nxp.sandbox()  # and it comes back, still holding nothing lost
    assert nxp.import_history().empty
    again.stop()


def test_fresh_starts_from_nothing(sandbox_dir: Path) -> None:
    sb = nxp.sandbox()
    pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
    old = _pid(sandbox_dir)
    fresh = nxp.sandbox(fresh=True)
    assert fresh is not sb and not _alive(old)
    assert nxp.import_history().empty
    assert not list((sandbox_dir / "s3").rglob("*.csv.gz"))
    fresh.stop()


def test_the_command_line_stops_the_sandbox_and_deletes_what_it_kept(
    sandbox_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = nxp.sandbox()
    pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
    pid = _pid(sandbox_dir)
    assert cli.main(["sandbox", "status"]) == 0
    assert f"running at {sb.api_url} (pid {pid})" in capsys.readouterr().out
    assert cli.main(["sandbox", "stop", "--delete"]) == 0
    assert capsys.readouterr().out.strip() == f"sandbox in {sandbox_dir}: stopped, its data deleted"
    assert not _alive(pid)
    assert not (sandbox_dir / "server").exists() and not (sandbox_dir / "s3").exists()
    assert cli.main(["sandbox", "status"]) == 3
    again = nxp.sandbox()  # the cell run again: a fresh sandbox
    assert again is not sb and nxp.import_history().empty
    assert stop_sandbox(sandbox_dir)  # from outside, as the command line does
    again.stop()


def test_sandboxes_stopped_in_any_order_leave_no_dead_default() -> None:
    first = nxp.Sandbox().start()
    second = nxp.Sandbox().start()
    assert second is not first
    first.stop()  # the second is still the default and still answers
    assert config.get_defaults().client is second.client
    assert nxp.import_history().empty
    second.stop()
    assert config.get_defaults().client is None
    assert "Sandbox().start()" in (config.get_defaults().stopped or "")


def test_calling_sandbox_again_returns_the_running_one_with_its_data() -> None:
    sb = nxp.sandbox()
    try:
        pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
        again = nxp.sandbox()  # a notebook cell run a second time
        assert again is sb and sb.running
        assert config.get_defaults().client is sb.client
        assert sb.client.read_dataset("numbers")["x"].tolist() == [1, 2, 3]
        other = nxp.sandbox(bucket="other")  # another bucket on the same sandbox
        assert other is not sb and other.api_url == sb.api_url
        assert other.s3_prefix == "s3://other/nexosis/"
        job = pd.DataFrame({"x": [4]}).nexosis.to_dataset("numbers", progress=False)
        assert job.upload is not None and job.upload.bucket == "other"
    finally:
        sb.stop()
    assert config.get_defaults().client is None


def test_without_the_local_extra_the_sandbox_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    with pytest.raises(nxp.ConfigurationError, match=r"pip install 'nexosis-pandas\[local\]'"):
        nxp.sandbox()


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "270 rows, 3 stores, 2026-01-01 to 2026-03-31: as imported" in out
    assert out.count("completed") >= 2


def test_the_demo_dataset_holds_the_sample_columns() -> None:
    back = run_demo(echo=lambda line: None)
    assert list(back.columns) == list(sample_sales().columns)


def test_the_demo_fails_with_a_sentence_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nexosis-pandas demo failed: ") and "Traceback" not in err


def test_sample_sales_is_reproducible_and_messy() -> None:
    sales = sample_sales()
    pd.testing.assert_frame_equal(sales, sample_sales())
    assert sales["temperature"].isna().any()
    assert not sales.duplicated(["store", "date"]).any()
    assert len(run_demo(echo=lambda line: None)) == len(sales)


def test_an_azure_sandbox_round_trips_through_azurite(
    local_azure: object, sandbox_dir: Path, tmp_path: Path
) -> None:
    # local_azure: Azurite is installed (skips outside CI when not); this sandbox runs its own.
    from tests.http_files import FileServer

    sb = nxp.sandbox(azure=True)
    try:
        assert sb.azure_connection_string.startswith("DefaultEndpointsProtocol=http;")
        assert "Azure container" in sb._repr_html_()
        assert "AccountKey" not in sb._repr_html_()
        frame = pd.DataFrame({"x": [1, 2, 3]})
        job = frame.nexosis.to_dataset("numbers", f"{sb.azure_prefix}x.csv.gz", progress=False)
        assert job.type == "azure" and job.status.value == "completed"
        assert sb.client.read_dataset("numbers")["x"].tolist() == [1, 2, 3]
        with FileServer() as files:  # the sandbox's server may fetch from loopback
            url = files.add("more.csv", "x\n4\n", "text/csv")
            assert nxp.import_url("numbers", url, progress=False).status.value == "completed"
        # the blobs are kept in the sandbox's directory, beside the S3 objects
        assert any((sandbox_dir / "azure").iterdir())
    finally:
        sb.stop()


def test_an_in_process_sandbox_without_azure_says_how_to_get_it() -> None:
    with nxp.Sandbox() as sb, pytest.raises(nxp.ConfigurationError, match=r"sandbox\(azure=True\)"):
        sb.azure_connection_string  # noqa: B018


def test_an_azure_sandbox_without_azurite_says_so_before_starting_a_process(
    sandbox_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXOSIS_AZURITE", str(tmp_path / "no-azurite"))
    with pytest.raises(nxp.ConfigurationError, match=r"^NEXOSIS_AZURITE is .*no-azurite"):
        nxp.sandbox(azure=True)
    assert not (sandbox_dir / "sandbox.log").exists()  # no process was started to fail
