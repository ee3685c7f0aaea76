"""``background=True`` and the job as a future, with S3 and the API replaced by fakes.

The background threads are real and poll on real time (the first poll after 0.25 s), so each
test takes well under a second; every wait in them has a timeout, so a hang fails the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import io
import threading
import time
from typing import Any

import pandas as pd
import pytest

import nexosis_pandas
from nexosis_pandas import _importing
from nexosis_pandas._job import ImportJob
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.exceptions import ColumnError, ImportFailedError, ImportTimeoutError
from nexosis_pandas.progress import TextReporter, WidgetReporter
from tests.unit.fake_jobs import IMPORT_ID, FakeClient, RecordingReporter, job_with, record
from tests.unit.test_api import FakeFile, FakeFS

FAILED = record("failed", messages=[("error", "Couldn't determine the type of content")])


class GatedFS(FakeFS):
    """A FakeFS whose upload waits until ``gate`` is set: the test sees the job mid-upload."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def open(self, path: str, mode: str, block_size: int) -> FakeFile:
        assert self.gate.wait(5), "the test never opened the gate"
        return super().open(path, mode, block_size)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEXOSIS_API_KEY", "NEXOSIS_BASE_URL", "NEXOSIS_S3_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEXOSIS_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(_importing, "_env_clients", {})


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame({"day": pd.date_range("2024-01-01", periods=3), "units": [3, 5, 2]})


def start(sales: pd.DataFrame, *states: Any, fs: FakeFS | None = None, **options: Any) -> ImportJob:
    client = FakeClient(states or [record("completed")])
    options.setdefault("progress", False)
    job: ImportJob = sales.nexosis.to_dataset(
        "sales", "s3://b/k.csv.gz", background=True, client=client, fs=fs or FakeFS(), **options
    )
    return job


def test_returns_a_pending_job_at_once_and_completes_it_in_the_background(
    sales: pd.DataFrame,
) -> None:
    fs, reporter = GatedFS(), RecordingReporter()
    job = start(sales, record("started"), record("completed"), fs=fs, progress=reporter)

    pending = not job.requested and not job.done()  # (a name: mypy would narrow the property)
    assert pending
    assert job.import_id == "" and "uploading" in repr(job)
    assert reporter.calls[0] == ("background", False)  # told before the thread did anything
    fs.gate.set()

    assert job.result(timeout=5) is job
    assert job.done() and job.requested
    assert job.import_id == IMPORT_ID and job.status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.rows == 3
    assert fs.uploads == ["b/k.csv.gz"]
    assert [c[0] for c in reporter.calls] == [
        "background",
        "upload_start",
        "upload_update",
        "upload_end",
        "import_update",  # requested
        "import_update",  # started
        "import_update",  # completed
        "import_end",
    ]
    assert reporter.calls[-1] == ("import_end", None)


def test_a_failure_is_raised_by_result_and_ends_the_display(sales: pd.DataFrame) -> None:
    reporter = RecordingReporter()
    job = start(sales, FAILED, progress=reporter)

    with pytest.raises(ImportFailedError, match="Couldn't determine the type") as info:
        job.result(timeout=5)
    assert info.value.job is job
    assert job.exception(timeout=0) is info.value
    assert job.done() and job.status is ImportStatus.FAILED
    assert reporter.calls[-1] == ("import_end", "ImportFailedError")


def test_the_checks_of_the_frame_are_raised_before_it_returns(sales: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="unit"):
        start(sales, target="unit")


def test_background_and_wait_false_contradict(sales: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="background=True"):
        start(sales, wait=False)


def test_result_times_out_and_the_job_goes_on(sales: pd.DataFrame) -> None:
    fs = GatedFS()
    job = start(sales, fs=fs)

    began = time.monotonic()
    with pytest.raises(TimeoutError):
        job.result(timeout=0.1)
    assert 0.09 < time.monotonic() - began < 2
    assert not job.done()
    fs.gate.set()
    assert job.result(timeout=5).status is ImportStatus.COMPLETED


def test_the_timeout_given_at_the_start_is_raised_by_result(sales: pd.DataFrame) -> None:
    reporter = RecordingReporter()
    job = start(sales, record("started"), timeout=0.3, progress=reporter)

    with pytest.raises(ImportTimeoutError):
        job.result(timeout=5)
    assert reporter.calls[-1] == ("import_end", "ImportTimeoutError")


def test_a_callback_is_called_once_with_the_job_also_when_already_done(
    sales: pd.DataFrame,
) -> None:
    fs = GatedFS()
    job = start(sales, fs=fs)
    seen: list[tuple[ImportJob, str]] = []
    ended = threading.Event()

    def callback(j: ImportJob) -> None:
        seen.append((j, j.status.value))
        ended.set()

    job.add_done_callback(callback)
    assert seen == []
    fs.gate.set()
    assert ended.wait(5)
    job.result(timeout=5)
    assert seen == [(job, "completed")]

    job.add_done_callback(callback)  # already done: called at once, in this thread
    assert seen == [(job, "completed"), (job, "completed")]


def test_jobs_are_awaitable_and_gather_in_asyncio(sales: pd.DataFrame) -> None:
    jobs = [start(sales), start(sales, FAILED)]

    async def main() -> list[Any]:
        first = await jobs[0]
        assert first is jobs[0]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(asyncio.wait_for(main(), timeout=5))
    assert results[0] is jobs[0]
    assert isinstance(results[1], ImportFailedError)


def test_cancel_wait_stops_following_and_says_so(sales: pd.DataFrame) -> None:
    reporter = RecordingReporter()
    job = start(sales, record("started"), progress=reporter)
    deadline = time.monotonic() + 5
    while not job.requested and time.monotonic() < deadline:
        time.sleep(0.01)

    assert job.cancel_wait() is True
    assert job.done()
    with pytest.raises(cf.CancelledError):
        job.result(timeout=0)
    assert job._follow is not None and job._follow.thread is not None
    job._follow.thread.join(5)
    assert not job._follow.thread.is_alive()  # the sleep woke at once, well before 2 s
    assert reporter.calls[-1][0] == "interrupted"  # the display says the wait stopped
    assert job.cancel_wait() is False


def test_cancel_during_the_upload_requests_no_import(sales: pd.DataFrame) -> None:
    fs = GatedFS()
    client = FakeClient([record("completed")])
    reporter = WidgetReporter(display=lambda obj, **kw: None)
    job = sales.nexosis.to_dataset(
        "sales", "s3://b/k.csv.gz", background=True, client=client, fs=fs, progress=reporter
    )
    assert job.cancel_wait() is True
    fs.gate.set()
    assert job._follow is not None and job._follow.thread is not None
    job._follow.thread.join(5)
    assert fs.uploads == ["b/k.csv.gz"]  # the upload ended whole
    assert client.requests == []
    assert reporter.bar.bar_style == "warning"  # stopped, not failed
    assert "nothing was imported" in reporter.detail.value


def test_wait_and_as_completed_take_several_jobs(sales: pd.DataFrame) -> None:
    fs = GatedFS()
    slow = start(sales, fs=fs)
    quick, failing = start(sales), start(sales, FAILED)

    done, not_done = nexosis_pandas.wait(
        [slow, quick, failing], timeout=5, return_when="FIRST_EXCEPTION"
    )
    assert failing in done and slow in not_done

    done, not_done = nexosis_pandas.wait([slow, quick], timeout=0.1)
    assert done == {quick} and not_done == {slow}

    with pytest.raises(TimeoutError):
        list(nexosis_pandas.as_completed([slow, quick], timeout=0.1))

    fs.gate.set()
    order = list(nexosis_pandas.as_completed([slow, quick, failing], timeout=5))
    assert set(order) == {slow, quick, failing} and order[-1] is slow
    assert nexosis_pandas.wait([slow, quick, failing], timeout=5).not_done == set()

    with pytest.raises(ValueError, match="return_when"):
        nexosis_pandas.wait([quick], return_when="SOMETIMES")  # type: ignore[arg-type]


def test_a_job_nobody_follows_is_followed_silently_by_result() -> None:
    job = job_with(record("started"), record("completed"))
    assert not job.done()
    assert job.result(timeout=5) is job
    assert job.status is ImportStatus.COMPLETED and job.done()


def test_jobs_hash_and_compare_by_identity() -> None:
    a, b = job_with(first=record("completed")), job_with(first=record("completed"))
    assert a.record == b.record
    assert a != b and len({a, b, a}) == 2


def test_import_url_in_the_background() -> None:
    client = FakeClient([record("completed")])

    def from_url(dataset_name: str, url: str, **kwargs: Any) -> ImportJob:
        return ImportJob(record("requested", dataset=dataset_name), client)

    client.import_from_url = from_url  # type: ignore[attr-defined]
    job = nexosis_pandas.import_url(
        "sales",
        "https://example.com/a.csv",
        background=True,
        client=client,  # type: ignore[arg-type]
        progress=False,
    )
    assert job.result(timeout=5).status is ImportStatus.COMPLETED


def test_outside_a_notebook_the_text_display_follows_a_background_import(
    sales: pd.DataFrame,
) -> None:
    out = io.StringIO()
    job = start(sales, record("started"), record("completed"), progress=TextReporter(file=out))
    job.result(timeout=5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "nexosis: uploading 3 rows to s3://b/k.csv.gz"
    assert lines[-1].startswith("nexosis: dataset 'sales' · completed · 3 rows")
