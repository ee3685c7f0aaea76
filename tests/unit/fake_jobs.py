"""Imports without a server: a fake client that answers ``get_import`` from a list of states,
and a fake clock whose ``sleep`` only moves time on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from nexosis_pandas._job import ImportJob
from nexosis_pandas._wire import Import, ImportStatus, Message, StatusChange
from nexosis_pandas.progress import DisplayedJob, ProgressReporter

IMPORT_ID = "015d1d17-5d53-4cbe-8c4e-4a6e8a3e7f40"
T0 = pd.Timestamp("2024-05-01T12:00:00", tz="UTC")


def record(
    status: str,
    *,
    history: Iterable[str] | None = None,
    messages: Iterable[tuple[str, str]] = (),
    dataset: str = "sales",
    import_id: str = IMPORT_ID,
) -> Import:
    """An import in ``status``; its history steps one second per status."""
    statuses = list(history) if history is not None else _path_to(status)
    return Import(
        import_id=import_id,
        type="s3",
        status=ImportStatus(status),
        dataset_name=dataset,
        parameters={"bucket": "test-bucket", "path": "nexosis/sales.csv.gz", "region": "us-east-1"},
        requested_date=T0,
        status_history=tuple(
            StatusChange(date=T0 + pd.Timedelta(seconds=i), status=ImportStatus(s))
            for i, s in enumerate(statuses)
        ),
        messages=tuple(Message(severity=sev, message=text) for sev, text in messages),
    )


def _path_to(status: str) -> list[str]:
    if status == "requested":
        return ["requested"]
    if status == "started":
        return ["requested", "started"]
    return ["requested", "started", status]


class FakeClient:
    """Answers ``get_import`` with the next record of ``states`` (the last one repeats)."""

    def __init__(self, states: Iterable[Import | BaseException]) -> None:
        self.states = list(states)
        self.calls = 0
        self.requests: list[dict[str, Any]] = []

    def import_from_s3(self, dataset_name: str, bucket: str, path: str, **kwargs: Any) -> ImportJob:
        self.requests.append(
            {"dataset_name": dataset_name, "bucket": bucket, "path": path, **kwargs}
        )
        return ImportJob(record("requested", dataset=dataset_name), self)

    def get_import(self, import_id: str) -> ImportJob:
        self.calls += 1
        state = self.states[min(self.calls - 1, len(self.states) - 1)]
        if isinstance(state, BaseException):
            raise state
        assert import_id == state.import_id
        return ImportJob(state, self)


def job_with(*states: Import | BaseException, first: Import | None = None) -> ImportJob:
    """A job in ``first`` (``requested`` by default) whose polls return ``states``."""
    client = FakeClient(states)
    return ImportJob(first or record("requested"), client)


class FakeTime:
    """A monotonic clock that only ``sleep`` (or ``advance``) moves."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], Any] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingReporter(ProgressReporter):
    """Records each call as ``(method, argument)``; for imports the argument is the status."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self.calls.append(("upload_start", (url, total_rows)))

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        self.calls.append(("upload_update", (rows_done, bytes_sent)))

    def upload_end(self, obj: Any, error: BaseException | None = None) -> None:
        self.calls.append(("upload_end", error))

    def import_update(self, job: DisplayedJob) -> None:
        self.calls.append(("import_update", job.status.value))

    def import_end(self, job: DisplayedJob | None, error: BaseException | None = None) -> None:
        self.calls.append(("import_end", type(error).__name__ if error else None))

    def interrupted(self, job: DisplayedJob) -> None:
        self.calls.append(("interrupted", job.status.value))

    def background(self, job: DisplayedJob) -> None:
        assert isinstance(job, ImportJob)  # a reporter is handed the job itself
        self.calls.append(("background", job.requested))
