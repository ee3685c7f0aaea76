"""The sandbox's S3 and the sandbox itself killed with SIGKILL at random points.

An object whose upload was acknowledged, and an import that completed, must survive every kill;
an import the kill interrupted must finish once the sandbox is started again. The points are
drawn from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import s3fs

import nexosis_pandas as nxp
from nexosis_pandas._local_s3 import storage_options

pytestmark = pytest.mark.reliability

BUCKET = "kills"
S3_KILLS = 20
SANDBOX_KILLS = 6
_CHILD = (
    "import sys, time\n"
    "from nexosis_pandas._local_s3 import LocalS3\n"
    "s3 = LocalS3(directory=sys.argv[1]).start()\n"
    "s3.create_bucket(sys.argv[2])\n"
    "print(s3.endpoint_url, flush=True)\n"
    "time.sleep(3600)\n"
)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _S3Process:
    """A :class:`LocalS3` with a directory, alone in a process of its own."""

    def __init__(self, directory: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(directory), BUCKET],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.endpoint_url = self.process.stdout.readline().strip()
        assert self.endpoint_url.startswith("http://127.0.0.1:"), "the local S3 did not start"
        self.fs = s3fs.S3FileSystem(
            skip_instance_cache=True,
            use_listings_cache=False,
            config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2},
            **storage_options(self.endpoint_url),
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class _Ledger:
    """What the writer was told had happened, and what was in flight when the S3 died."""

    def __init__(self) -> None:
        self.acknowledged: dict[str, str | None] = {}  # key -> digest; None: deleted
        self.in_flight: dict[str, str | None] = {}
        self.failed_at = 0.0

    def touched(self) -> set[str]:
        return self.acknowledged.keys() | self.in_flight.keys()

    def allowed(self, key: str) -> set[str | None]:
        """The last acknowledged state, or the one a write cut short would have made."""
        allowed = {self.acknowledged.get(key)}
        if key in self.in_flight:
            allowed.add(self.in_flight[key])
        return allowed

    def settle(self, key: str, found: str | None) -> None:
        """What the S3 holds after a kill is the state from now on."""
        assert found in self.allowed(key), f"{key}: lost or changed"
        self.acknowledged[key] = found


def _write_until_killed(fs: Any, ledger: _Ledger, rng: random.Random, round_no: int) -> None:
    """Write, overwrite and delete objects until the S3 stops answering."""
    n = 0
    while True:
        n += 1
        choice = rng.random()
        if choice < 0.15 and ledger.acknowledged:
            key = rng.choice(sorted(ledger.acknowledged))
            change: tuple[str, str | None] = (key, None)
        else:
            key = f"r{round_no}/o{n}" if choice < 0.8 else f"shared/{n % 3}"
            big = rng.random() < 0.1  # a multipart upload: two parts
            data = rng.randbytes((5 << 20) + 1000 if big else rng.randint(1, 64 << 10))
            change = (key, _digest(data))
        ledger.in_flight = {change[0]: change[1]}
        try:
            if change[1] is None:
                fs.rm(f"{BUCKET}/{key}")
            elif len(data) > 5 << 20:
                with fs.open(f"{BUCKET}/{key}", "wb", block_size=5 << 20) as out:
                    out.write(data)
            else:
                fs.pipe(f"{BUCKET}/{key}", data)
        except Exception:
            ledger.failed_at = time.monotonic()
            return
        ledger.acknowledged[change[0]] = change[1]
        ledger.in_flight = {}


def _served(fs: Any, key: str) -> str | None:
    path = f"{BUCKET}/{key}"
    return _digest(fs.cat(path)) if fs.exists(path) else None


def _on_disk(directory: Path, key: str) -> str | None:
    path = directory / BUCKET / key
    return _digest(path.read_bytes()) if path.is_file() else None


def test_the_local_s3_killed_at_random_points_keeps_every_acknowledged_write(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261207)
    directory = tmp_path / "s3"
    ledger = _Ledger()
    kills_mid_write = 0
    for round_no in range(S3_KILLS):
        s3 = _S3Process(directory)
        try:
            for key in sorted(ledger.in_flight):  # the rest was checked on disk below
                ledger.settle(key, _served(s3.fs, key))
            ledger.in_flight = {}
            writer = threading.Thread(
                target=_write_until_killed, args=(s3.fs, ledger, rng, round_no)
            )
            writer.start()
            time.sleep(rng.uniform(0.05, 0.8))
            killed_at = time.monotonic()
        finally:
            s3.kill()
        writer.join(timeout=60)
        assert not writer.is_alive()
        assert ledger.failed_at >= killed_at, "a write failed before the kill"
        kills_mid_write += bool(ledger.in_flight)
        for key in ledger.touched():
            assert _on_disk(directory, key) in ledger.allowed(key), f"{key} not kept on disk"
        assert not list(directory.rglob("*.nexosis-partial")) or ledger.in_flight
    s3 = _S3Process(directory)
    try:
        for key in sorted(ledger.touched()):  # everything kept is served again
            ledger.settle(key, _served(s3.fs, key))
    finally:
        s3.kill()
    assert sum(d is not None for d in ledger.acknowledged.values()) > S3_KILLS
    assert kills_mid_write >= S3_KILLS - 2, "the kills must land while writes are under way"


def _sandbox_pid(home: Path) -> int:
    return int(json.loads((home / "state.json").read_text())["pid"])


def _kill_sandbox(home: Path, sb: nxp.Sandbox) -> None:
    os.kill(_sandbox_pid(home), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sb.running:  # the lock dies with the process
        assert time.monotonic() < deadline, "the killed sandbox still looks alive"
        time.sleep(0.05)


def _frame(rows: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(rows),
            "value": [float(i % 977) + seed for i in range(rows)],
            "note": [f"row {i}, seed {seed}" for i in range(rows)],
        }
    )


def _wait_completed(import_id: str) -> None:
    job = nxp.get_import(import_id).wait(timeout=120, progress=False)
    assert job.status is nxp.ImportStatus.COMPLETED, job.status


def test_a_sandbox_killed_during_uploads_and_imports_loses_no_acknowledged_work(
    sandbox_dir: Path,
) -> None:
    rng = random.Random(7)
    rows = 150_000
    done: dict[str, int] = {}  # dataset -> the seed of the frame it must hold
    acknowledged: list[tuple[str, int, str]] = []  # (dataset, seed, import id)
    sb = nxp.sandbox()
    for round_no in range(SANDBOX_KILLS):
        name, url = f"kill{round_no}", f"{sb.s3_prefix}kill{round_no}.csv.gz"
        frame = _frame(rows, round_no)
        started: list[nxp.ImportJob] = []

        def run(
            frame: pd.DataFrame = frame,
            name: str = name,
            url: str = url,
            started: list[nxp.ImportJob] = started,
        ) -> None:
            try:
                job = nxp.import_dataframe(frame, name, url, wait=False, progress=False)
            except nxp.NexosisError:
                return  # the kill came first: nothing was acknowledged
            started.append(job)

        runner = threading.Thread(target=run)
        runner.start()
        if round_no % 2:  # while the import runs: the upload was acknowledged
            runner.join(timeout=120)
            time.sleep(rng.uniform(0.0, 0.5))
        else:  # at any point of the upload or the import
            time.sleep(rng.uniform(0.1, 1.5))
        _kill_sandbox(sandbox_dir, sb)
        runner.join(timeout=120)
        if started:
            acknowledged.append((name, round_no, started[0].import_id))
        sb = nxp.sandbox()
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **sb.storage_options)
        path = url.removeprefix("s3://")
        if started:
            assert fs.exists(path), f"round {round_no}: an acknowledged upload was lost"
        if fs.exists(path):  # whole or absent: never a truncated object
            assert len(pd.read_csv(fs.open(path), compression="gzip")) == rows
        for dataset, seed, import_id in acknowledged:
            _wait_completed(import_id)
            done[dataset] = seed
    assert acknowledged, "no import was ever acknowledged before a kill"
    for dataset, seed in done.items():
        back = sb.client.read_dataset(dataset).sort_values("id", ignore_index=True)
        pd.testing.assert_series_equal(
            back["value"], _frame(rows, seed)["value"], check_names=False
        )
        assert len(back) == rows, f"{dataset} holds {len(back)} rows"
    sb.stop()
