"""The import worker's pool: an import id runs at most once at a time (no sockets, no S3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexosis_pandas.server.pool import ImportWorker
from nexosis_pandas.server.sources.s3 import Credentials, S3Settings
from nexosis_pandas.server.store import Store

IMPORT_ID = "00000001-0000-4000-8000-000000000000"


class BlockingRuns:
    """What a :class:`BlockingWorker` runs: records each run and holds it until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, import_id: str, credentials: Credentials | None) -> None:
        with self.lock:
            self.calls.append(import_id)
        self.entered.set()
        assert self.release.wait(10), "the test never released the run"

    def wait_for(self, n: int) -> None:
        """Wait until ``n`` runs have begun."""
        deadline = time.monotonic() + 10
        while len(self.calls) < n:
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {n} runs began"
            time.sleep(0.01)


class BlockingWorker(ImportWorker):
    """The pool with its import replaced by :class:`BlockingRuns`: the claiming is under test."""

    runs: BlockingRuns

    def _run_import(self, import_id: str, credentials: Credentials | None) -> None:
        self.runs(import_id, credentials)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[BlockingWorker]:
    store = Store(tmp_path / "data")
    pool = BlockingWorker(store, S3Settings(), workers=4)
    pool.runs = BlockingRuns()
    pool.start()
    yield pool
    pool.stop()
    store.close()


def test_the_same_id_submitted_twice_runs_once(worker: BlockingWorker) -> None:
    runs = worker.runs
    worker.submit(IMPORT_ID)
    assert runs.entered.wait(10)
    worker.submit(IMPORT_ID)  # e.g. the resume on start racing the POST that created it
    worker.submit(IMPORT_ID, Credentials("key", "secret"))
    runs.release.set()
    worker.stop()  # waits for every queued and running import
    assert runs.calls == [IMPORT_ID]


def test_an_id_may_run_again_after_its_run_ended(worker: BlockingWorker) -> None:
    runs = worker.runs
    runs.release.set()
    worker.submit(IMPORT_ID)
    assert runs.entered.wait(10)
    deadline = time.monotonic() + 10
    while IMPORT_ID in worker._claimed:  # released just after the run returns
        assert time.monotonic() < deadline
        time.sleep(0.01)
    worker.submit(IMPORT_ID)
    runs.wait_for(2)
    worker.stop()
    assert runs.calls == [IMPORT_ID, IMPORT_ID]


def test_other_ids_run_alongside(worker: BlockingWorker) -> None:
    runs = worker.runs
    other = "00000002-0000-4000-8000-000000000000"
    worker.submit(IMPORT_ID)
    worker.submit(other)
    runs.wait_for(2)  # both at once: the first is still held
    runs.release.set()
    worker.stop()
    assert sorted(runs.calls) == [IMPORT_ID, other]


def test_submit_needs_a_started_worker(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    try:
        with pytest.raises(RuntimeError, match="not running"):
            ImportWorker(store, S3Settings()).submit(IMPORT_ID)
    finally:
        store.close()
