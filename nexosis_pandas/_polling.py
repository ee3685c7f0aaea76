"""Waiting for an import: one poll loop with a monotonic deadline.

The clock and the sleep are parameters so tests can drive the loop without waiting; the
progress reporter sees every state the loop sees. The loop sits below the job: it takes any job
with the fields it reads (:class:`PolledJob`) and hands the same job back, so that
:meth:`~nexosis_pandas.ImportJob.wait` calls down to it.

A poll that fails for a reason that passes (the connection broke, a 5xx, a 429) is not the
import failing: the loop keeps polling through such an outage for up to :data:`MAX_POLL_OUTAGE`
seconds, since the import goes on on the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.exceptions import (
    APIConnectionError,
    ImportFailedError,
    ImportTimeoutError,
    QuotaExceededError,
    ReportedJob,
    ServerError,
)
from nexosis_pandas.progress import ProgressArg, resolve_progress
from nexosis_pandas.progress.base import DisplayedJob

__all__ = [
    "FIRST_POLL_INTERVAL",
    "MAX_POLL_INTERVAL",
    "MAX_POLL_OUTAGE",
    "PolledJob",
    "poll_intervals",
    "wait_for_import",
]

FIRST_POLL_INTERVAL = 0.25
"""Seconds before the first poll: small imports finish in well under a second."""

MAX_POLL_INTERVAL = 2.0
"""The interval polling backs off to (the official dashboard polled every 2 s)."""

MAX_POLL_OUTAGE = 120.0
"""Seconds of polls failing in a row (unreachable, 5xx, 429) a wait rides out before it gives up."""

_BACKOFF = 1.5
_TRANSIENT = (APIConnectionError, ServerError, QuotaExceededError)


class PolledJob(DisplayedJob, ReportedJob, Protocol):
    """A job the wait loop can follow: what the displays and the errors read, and a refresh.

    :class:`nexosis_pandas.ImportJob` is one.
    """

    def refresh(self) -> object:
        """Ask the server for the import's current state and update the job in place."""
        ...


J = TypeVar("J", bound=PolledJob)


def poll_intervals(poll_interval: float | None = None) -> Iterator[float]:
    """The seconds to sleep before each poll.

    Parameters
    ----------
    poll_interval
        A fixed interval; by default 0.25 s growing by half each time up to 2 s.

    Examples
    --------
    >>> from itertools import islice
    >>> [round(s, 2) for s in islice(poll_intervals(), 7)]
    [0.25, 0.38, 0.56, 0.84, 1.27, 1.9, 2.0]
    >>> list(islice(poll_intervals(5), 2))
    [5.0, 5.0]
    """
    if poll_interval is not None:
        if not poll_interval > 0:
            raise ValueError(
                f"poll_interval must be a positive number of seconds, not {poll_interval!r}"
            )
        while True:
            yield float(poll_interval)
    interval = FIRST_POLL_INTERVAL
    while True:
        yield interval
        interval = min(interval * _BACKOFF, MAX_POLL_INTERVAL)


def wait_for_import(
    job: J,
    *,
    timeout: float | None = None,
    poll_interval: float | None = None,
    progress: ProgressArg = "auto",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
    max_outage: float = MAX_POLL_OUTAGE,
) -> J:
    """Poll ``job`` until the import ends; return it once it has completed.

    The reporter hears the state first as the job holds it, then after every poll; then
    ``import_end`` once (with the error on failure or timeout), or ``interrupted`` when the
    user stops the wait with Ctrl-C or the notebook's stop button. An interrupted or timed-out
    import goes on on the server: ``nexosis_pandas.get_import(job.import_id).wait()`` resumes.

    Parameters
    ----------
    job
        The import to follow; it is refreshed in place.
    timeout
        Seconds to wait at most, measured on ``clock``; ``None`` waits as long as it takes.
    poll_interval
        Fixed seconds between polls; by default 0.25 s backing off to 2 s.
    progress
        ``"auto"``, ``"widget"``, ``"text"``, ``False`` or a reporter (see
        :func:`nexosis_pandas.progress.resolve_progress`).
    clock, sleep
        A monotonic clock and a sleep function; tests pass fakes.
    max_outage
        Seconds of polls failing in a row with a connection error, a 5xx or a 429 that the
        wait rides out (the transport has already retried each one).

    Returns
    -------
    ImportJob
        ``job`` itself, completed.

    Raises
    ------
    ImportFailedError
        The import ended ``failed`` or ``cancelled``; the message carries the server's messages.
    ImportTimeoutError
        ``timeout`` passed before the import ended.
    APIConnectionError
        Polls kept failing for ``max_outage`` seconds; the import goes on on the server.
    KeyboardInterrupt
        The user interrupted the wait (re-raised after the reporter was told).

    Examples
    --------
    >>> job = client.import_from_s3("sales", "my-bucket", "sales.csv.gz")  # doctest: +SKIP
    >>> wait_for_import(job, timeout=300, progress="text").status  # doctest: +SKIP
    <ImportStatus.COMPLETED: 'completed'>
    """
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
    reporter = resolve_progress(progress)
    intervals = poll_intervals(poll_interval)
    deadline = None if timeout is None else clock() + timeout
    outage_start: float | None = None
    last_error: Exception | None = None
    try:
        reporter.import_update(job)
        while not job.status.is_terminal:
            delay = next(intervals)
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise ImportTimeoutError(job, float(timeout or 0)) from last_error
                delay = min(delay, remaining)
            sleep(delay)
            try:
                job.refresh()
            except _TRANSIENT as error:
                now = clock()
                outage_start = now if outage_start is None else outage_start
                if now - outage_start >= max_outage:
                    raise _lost_touch(job, error, now - outage_start) from error
                last_error = error
                continue
            outage_start, last_error = None, None
            reporter.import_update(job)
    except KeyboardInterrupt:
        reporter.interrupted(job)
        raise
    except Exception as error:
        reporter.import_end(job, error)
        raise
    if job.status is not ImportStatus.COMPLETED:
        failure = ImportFailedError(job)
        reporter.import_end(job, failure)
        raise failure
    reporter.import_end(job)
    return job


def _lost_touch(job: PolledJob, error: Exception, seconds: float) -> APIConnectionError:
    return APIConnectionError(
        f"Lost touch with the API while waiting for import {job.import_id} into dataset "
        f"{job.dataset_name!r}: polls failed for {seconds:.0f} s, the last with: {error} "
        "The import goes on on the server; once the API answers again, resume with "
        f'nexosis_pandas.get_import("{job.import_id}").wait()'
    )
