"""The reference server killed with SIGKILL in the middle of an import, then restarted."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nexosis_pandas._job import ImportJob
from nexosis_pandas.exceptions import APIConnectionError, NexosisError
from nexosis_pandas.server.loading import CSV_BLOCK
from nexosis_pandas.server.sources.s3 import BLOCK_SIZE
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.reliability_helpers import (
    BUCKET,
    ServerProcess,
    fast_client,
    port_of,
    put_csv,
    wait_until,
)

pytestmark = pytest.mark.reliability

BIG_ROWS = 80_000
PAD = "p" * 130
# The kill must find rows already read and staged, so the first block must hold a parsed batch.
assert BLOCK_SIZE > CSV_BLOCK, "make the S3 block larger than the CSV block"


def _put_big(fs: Any) -> int:
    lines = ["id,note", *(f"{i},{PAD}{i}" for i in range(BIG_ROWS))]
    data = ("\n".join(lines) + "\n").encode()
    fs.pipe(f"{BUCKET}/big.csv", data)
    return len(data)


def _stalled_mid_file(server: ServerProcess, s3_proxy: FaultProxy, import_id: str) -> None:
    """Wait until the import is ``started`` and its read of S3 hangs after the first block."""

    def rows_read() -> int:
        return int(server.get(f"/imports/{import_id}").json().get("rowsRead", 0))

    wait_until(
        lambda: s3_proxy.stats.stalled > 0 and rows_read() > 0,
        timeout=60,
        what="the import to stall half-way through the file",
    )
    assert server.get(f"/imports/{import_id}").json()["status"] == "started"
    partial = list((server.data_dir / "segments").glob("*.tmp"))
    assert partial, "the rows read so far are being written to a segment"


def test_sigkill_mid_import_loses_nothing(
    s3: Any,
    s3fs_fs: Any,
    server_process: Callable[..., ServerProcess],
    proxies: Callable[..., FaultProxy],
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    s3_proxy = proxies(port_of(s3.endpoint_url))
    server = server_process(data_dir, s3_endpoint_url=s3_proxy.url)
    api_proxy = proxies(server.port, http=True)
    client = fast_client(f"{api_proxy.url}/v1", server.api_key)

    earlier: dict[str, pd.DataFrame] = {}
    for name, rows in (("early_a", 100), ("early_b", 250)):
        put_csv(s3fs_fs, f"{name}.csv", rows)
        client.import_from_s3(name, BUCKET, f"{name}.csv").wait(timeout=60, progress=False)
        earlier[name] = client.read_dataset(name)
    size = _put_big(s3fs_fs)
    assert size > BLOCK_SIZE + 2 * 2**20

    # The first block is read, parsed and staged; the read of the next one hangs.
    s3_proxy.stall_after(BLOCK_SIZE + 2**20)
    job = client.import_from_s3("big", BUCKET, "big.csv")
    waited: list[ImportJob | BaseException] = []

    def wait_through_the_crashes() -> None:
        try:
            waited.append(job.wait(timeout=240, poll_interval=0.05, progress=False))
        except BaseException as exc:
            waited.append(exc)

    waiter = threading.Thread(target=wait_through_the_crashes, daemon=True)
    waiter.start()

    _stalled_mid_file(server, s3_proxy, job.import_id)
    server.kill()

    # While it is down, the client's errors say what happened and what to do.
    dead = fast_client(server.url, server.api_key)
    with pytest.raises(APIConnectionError) as down:
        dead.get_import(job.import_id)
    assert "could not connect (4 attempts)" in str(down.value)
    assert f"Check that the API at {server.url} is reachable" in str(down.value)
    with pytest.raises(APIConnectionError) as refused:
        dead.import_from_s3("never", BUCKET, "big.csv")
    assert "could not connect" in str(refused.value)
    assert "may have reached" not in str(refused.value)

    # Restarted on the same data directory, it resumes the import and is killed again mid-file.
    s3_proxy.stall_after(BLOCK_SIZE + 2**20)
    second = server_process(data_dir, s3_endpoint_url=s3_proxy.url)
    api_proxy.retarget(second.port)
    _stalled_mid_file(second, s3_proxy, job.import_id)
    second.kill()

    # The third run reads S3 without faults and finishes.
    s3_proxy.clear()
    third = server_process(data_dir, s3_endpoint_url=s3_proxy.url)
    api_proxy.retarget(third.port)
    waiter.join(timeout=240)
    assert not waiter.is_alive()
    assert len(waited) == 1 and isinstance(waited[0], ImportJob), waited
    finished = waited[0]
    assert finished.status.value == "completed"
    assert [c.status.value for c in finished.status_history] == [
        "requested",
        "started",
        "completed",
    ]
    restarts = [m.message for m in finished.messages if "server stopped" in m.message]
    assert len(restarts) == 2, finished.messages

    survivor = fast_client(third.url, third.api_key)
    big = survivor.read_dataset("big")
    assert len(big) == BIG_ROWS
    assert big["id"].tolist() == list(range(BIG_ROWS))
    for name, frame in earlier.items():
        pd.testing.assert_frame_equal(survivor.read_dataset(name), frame)
    history = survivor.import_history()
    assert sorted(history["dataset_name"]) == ["big", "early_a", "early_b"]
    assert set(history["status"]) == {"completed"}

    third.stop()
    assert list((data_dir / "staging").iterdir()) == []
    assert not list((data_dir / "segments").glob("*.tmp")), "a crash's partial segment is left"
    with sqlite3.connect(data_dir / "nexosis.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts = dict(db.execute("SELECT name, row_count FROM datasets").fetchall())
    assert counts == {"early_a": 100, "early_b": 250, "big": BIG_ROWS}


def test_an_import_interrupted_before_it_started_is_not_lost(
    s3: Any, s3fs_fs: Any, server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Requested imports queued behind a stalled one survive a SIGKILL and run after restart."""
    data_dir = tmp_path / "data"
    server = server_process(data_dir)
    client = fast_client(server.url, server.api_key)
    for i in range(12):
        put_csv(s3fs_fs, f"q{i}.csv", 50, start=i * 50)
    jobs = [client.import_from_s3("queued", BUCKET, f"q{i}.csv") for i in range(12)]
    server.kill()

    restarted = server_process(data_dir)
    client = fast_client(restarted.url, restarted.api_key)
    for job in jobs:
        again = client.get_import(job.import_id)
        try:
            again.wait(timeout=120, poll_interval=0.05, progress=False)
        except NexosisError as exc:  # pragma: no cover - shown in the failure
            pytest.fail(f"{job.import_id}: {exc}")
    history = client.import_history(dataset_name="queued")
    assert len(history) == 12 and set(history["status"]) == {"completed"}
    assert sorted(client.read_dataset("queued")["id"]) == list(range(600))
