"""Load: many imports started at once from many threads against one server."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from nexosis_pandas._job import ImportJob
from tests.reliability.reliability_helpers import BUCKET, fast_client, put_csv

pytestmark = pytest.mark.reliability

THREADS = 8
PER_THREAD = 25
ROWS = 20


def test_200_imports_from_8_threads(
    reference_server: Any, s3fs_fs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for t in range(THREADS):
        put_csv(s3fs_fs, f"load/{t}.csv", ROWS, start=t * 1000)
    put_csv(s3fs_fs, "load/shared.csv", ROWS)

    def start(thread: int) -> list[ImportJob]:
        with fast_client(reference_server.url, reference_server.api_key) as client:
            jobs = []
            for i in range(PER_THREAD):
                if i % 2:
                    # Every thread upserts into one dataset by key: writers contend for it.
                    job = client.import_from_s3(
                        "shared", BUCKET, "load/shared.csv", columns={"id": {"role": "key"}}
                    )
                else:
                    job = client.import_from_s3(f"own-{thread}", BUCKET, f"load/{thread}.csv")
                jobs.append(job)
            return jobs

    with ThreadPoolExecutor(THREADS) as pool:
        jobs = [job for batch in pool.map(start, range(THREADS)) for job in batch]
    assert len({job.import_id for job in jobs}) == THREADS * PER_THREAD

    client = fast_client(reference_server.url, reference_server.api_key)
    for job in jobs:
        job.wait(timeout=300, poll_interval=0.05, progress=False)
    assert {job.status.value for job in jobs} == {"completed"}

    history = client.import_history()
    assert len(history) == THREADS * PER_THREAD
    assert set(history["import_id"]) == {job.import_id for job in jobs}
    assert set(history["status"]) == {"completed"}
    messages = " ".join(m.message for job in jobs for m in job.messages)
    assert "locked" not in messages.lower()
    assert "database is locked" not in caplog.text.lower()
    assert len(client.read_dataset("shared")) == ROWS
    for t in range(THREADS):
        own = client.read_dataset(f"own-{t}")
        assert len(own) == ROWS * ((PER_THREAD + 1) // 2)
