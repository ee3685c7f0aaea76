from __future__ import annotations

from itertools import islice, pairwise

import pytest

from nexosis_pandas._polling import poll_intervals, wait_for_import
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.exceptions import APIConnectionError, ImportFailedError, ImportTimeoutError
from tests.unit.fake_jobs import FakeTime, RecordingReporter, job_with, record


def test_intervals_start_fast_and_back_off_to_two_seconds() -> None:
    intervals = list(islice(poll_intervals(), 12))
    assert intervals[0] == 0.25
    assert all(a <= b for a, b in pairwise(intervals))
    assert intervals[-1] == 2.0
    assert max(intervals) == 2.0


def test_fixed_interval_and_invalid_interval() -> None:
    assert list(islice(poll_intervals(0.5), 3)) == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="poll_interval"):
        next(poll_intervals(0))


def test_returns_the_job_once_completed_and_reports_every_state() -> None:
    t = FakeTime()
    job = job_with(record("requested"), record("started"), record("started"), record("completed"))
    reporter = RecordingReporter()

    result = wait_for_import(job, progress=reporter, clock=t.clock, sleep=t.sleep)

    assert result is job
    assert job.status is ImportStatus.COMPLETED
    assert reporter.calls == [
        ("import_update", "requested"),
        ("import_update", "requested"),
        ("import_update", "started"),
        ("import_update", "started"),
        ("import_update", "completed"),
        ("import_end", None),
    ]
    assert t.sleeps == [0.25, 0.375, 0.5625, 0.84375]


def test_an_already_finished_job_is_not_polled() -> None:
    t = FakeTime()
    job = job_with(first=record("completed"))
    assert wait_for_import(job, progress=False, clock=t.clock, sleep=t.sleep) is job
    assert t.sleeps == []


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failure_raises_with_the_servers_message(status: str) -> None:
    t = FakeTime()
    failed = record(status, messages=[("error", "Couldn't determine the type of content")])
    job = job_with(record("started"), failed)
    reporter = RecordingReporter()

    with pytest.raises(ImportFailedError) as info:
        wait_for_import(job, progress=reporter, clock=t.clock, sleep=t.sleep)

    assert info.value.job is job
    assert "Couldn't determine the type of content" in str(info.value)
    assert status in str(info.value)
    assert reporter.calls[-1] == ("import_end", "ImportFailedError")


def test_timeout_uses_the_monotonic_deadline() -> None:
    t = FakeTime()
    job = job_with(record("started"))
    reporter = RecordingReporter()

    with pytest.raises(ImportTimeoutError) as info:
        wait_for_import(job, timeout=3, progress=reporter, clock=t.clock, sleep=t.sleep)

    assert info.value.job is job
    assert sum(t.sleeps) == pytest.approx(3.0)  # the last sleep is cut to the deadline
    assert t.sleeps[-1] < 2.0
    assert "get_import" in str(info.value) and job.import_id in str(info.value)
    assert reporter.calls[-1] == ("import_end", "ImportTimeoutError")
    assert isinstance(info.value, TimeoutError)  # except TimeoutError catches it too


def test_timeout_zero_checks_without_sleeping() -> None:
    t = FakeTime()
    job = job_with(record("started"))
    with pytest.raises(ImportTimeoutError):
        wait_for_import(job, timeout=0, progress=False, clock=t.clock, sleep=t.sleep)
    assert t.sleeps == []


def test_negative_timeout_is_rejected() -> None:
    with pytest.raises(ValueError, match="timeout"):
        wait_for_import(job_with(record("started")), timeout=-1, progress=False)


def test_fixed_poll_interval_is_used() -> None:
    t = FakeTime()
    job = job_with(record("started"), record("started"), record("completed"))
    wait_for_import(job, poll_interval=1.5, progress=False, clock=t.clock, sleep=t.sleep)
    assert t.sleeps == [1.5, 1.5, 1.5]


def test_interrupt_tells_the_reporter_and_reraises() -> None:
    t = FakeTime()
    job = job_with(record("started"))
    reporter = RecordingReporter()
    sleeps = 0

    def interrupt(_: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps == 3:
            raise KeyboardInterrupt

    t.on_sleep = interrupt
    with pytest.raises(KeyboardInterrupt):
        wait_for_import(job, progress=reporter, clock=t.clock, sleep=t.sleep)

    assert reporter.calls[-1] == ("interrupted", "started")
    assert ("import_end", None) not in reporter.calls


def test_an_error_while_polling_reaches_the_reporter_and_the_caller() -> None:
    t = FakeTime()
    job = job_with(record("started"), APIConnectionError("connection refused"))
    reporter = RecordingReporter()
    with pytest.raises(APIConnectionError):
        wait_for_import(job, progress=reporter, clock=t.clock, sleep=t.sleep)
    assert reporter.calls[-1] == ("import_end", "APIConnectionError")


def test_job_wait_goes_through_the_loop() -> None:
    job = job_with(record("completed"))
    assert job.wait(poll_interval=0.001, progress=False) is job
    assert job.status is ImportStatus.COMPLETED


def test_a_passing_outage_is_ridden_out() -> None:
    from nexosis_pandas.exceptions import ServerError

    t = FakeTime()
    outage = [
        APIConnectionError("connection reset"),
        ServerError("boom", status_code=500),
        ServerError("busy", status_code=503),
    ]
    job = job_with(record("started"), *outage, record("completed"))
    reporter = RecordingReporter()
    assert wait_for_import(job, progress=reporter, clock=t.clock, sleep=t.sleep) is job
    assert job.status is ImportStatus.COMPLETED
    assert reporter.calls[-1] == ("import_end", None)


def test_a_lasting_outage_gives_up_saying_how_to_resume() -> None:
    t = FakeTime()
    job = job_with(record("started"), APIConnectionError("connection refused"))
    with pytest.raises(APIConnectionError, match=r"polls failed for \d+ s.*get_import\("):
        wait_for_import(job, progress=False, clock=t.clock, sleep=t.sleep, max_outage=10)
    assert 10 <= t.now - 1000.0 <= 13


def test_errors_that_do_not_pass_are_raised_at_once() -> None:
    from nexosis_pandas.exceptions import NotFoundError

    t = FakeTime()
    job = job_with(NotFoundError("gone", status_code=404))
    with pytest.raises(NotFoundError):
        wait_for_import(job, progress=False, clock=t.clock, sleep=t.sleep)
    assert len(t.sleeps) == 1
