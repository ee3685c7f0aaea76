"""Imports followed in a background thread: ``background=True``, and waits over several jobs.

``background=True`` hands the upload (where there is one) and the wait to a daemon thread
(:class:`~nexosis_pandas._follow.Follow`, which completes the job's future) and returns the
:class:`~nexosis_pandas.ImportJob` at once: :func:`in_background` builds that pending job.
:func:`wait` and :func:`as_completed` wait for several jobs as :mod:`concurrent.futures` waits
for futures.

The thread's display is the reporter resolved in the calling cell, told
:meth:`~nexosis_pandas.ProgressReporter.background` before the thread starts, so that it can
keep writing into that cell (:mod:`nexosis_pandas.progress.cell`).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Literal, NamedTuple

from nexosis_pandas._follow import Follow
from nexosis_pandas._job import ImportJob

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas.progress import ProgressReporter

__all__ = [
    "WaitResult",
    "as_completed",
    "check_wait",
    "in_background",
    "wait",
]


class WaitResult(NamedTuple):
    """The jobs :func:`wait` found ended, and those still running."""

    done: set[ImportJob]
    not_done: set[ImportJob]


ReturnWhen = Literal["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"]


def wait(
    jobs: Iterable[ImportJob],
    timeout: float | None = None,
    return_when: ReturnWhen = "ALL_COMPLETED",
) -> WaitResult:
    """Wait for several imports, as :func:`concurrent.futures.wait` waits for futures.

    A job whose wait ended in any way (completed, failed, timed out, cancelled) is done; call
    ``job.result()`` for its outcome. Jobs not followed in the background are followed from
    here, without a display.

    Parameters
    ----------
    jobs
        The jobs, e.g. those ``background=True`` returned.
    timeout
        Seconds to wait at most; ``None`` waits as long as it takes. No error is raised when it
        passes: the jobs still running are in ``not_done``.
    return_when
        ``"ALL_COMPLETED"``, ``"FIRST_COMPLETED"`` or ``"FIRST_EXCEPTION"`` (the constants of
        :mod:`concurrent.futures`).

    Returns
    -------
    WaitResult
        ``(done, not_done)``, two sets of jobs.

    Examples
    --------
    >>> jobs = [f.nexosis.to_dataset(n, background=True) for n, f in frames]  # doctest: +SKIP
    >>> done, not_done = nexosis_pandas.wait(jobs, timeout=600)  # doctest: +SKIP
    """
    if return_when not in ("ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"):
        raise ValueError(
            'return_when must be "ALL_COMPLETED", "FIRST_COMPLETED" or "FIRST_EXCEPTION", '
            f"not {return_when!r}"
        )
    by_future = {job._following().future: job for job in jobs}
    done, not_done = cf.wait(by_future, timeout=timeout, return_when=return_when)
    return WaitResult({by_future[f] for f in done}, {by_future[f] for f in not_done})


def as_completed(jobs: Iterable[ImportJob], timeout: float | None = None) -> Iterator[ImportJob]:
    """The jobs in the order their waits end, as :func:`concurrent.futures.as_completed` yields.

    Parameters
    ----------
    jobs
        The jobs to follow; those not followed in the background are followed from here.
    timeout
        Seconds from the call after which the iteration raises ``TimeoutError`` if jobs remain.

    Raises
    ------
    TimeoutError
        ``timeout`` passed with jobs still running (they go on).

    Examples
    --------
    >>> for job in nexosis_pandas.as_completed(jobs):  # doctest: +SKIP
    ...     print(job.dataset_name, job.exception() or "completed")
    """
    by_future = {job._following().future: job for job in jobs}
    for future in cf.as_completed(by_future, timeout=timeout):
        yield by_future[future]


def check_wait(wait: bool, background: bool) -> None:
    """Refuse ``wait=False`` with ``background=True``: one says follow, the other do not."""
    if background and not wait:
        raise ValueError(
            "background=True follows the import in a background thread and wait=False does not "
            "follow it at all; pass one of them"
        )


def in_background(
    dataset_name: str,
    kind: str,
    client: Client,
    reporter: ProgressReporter,
    work: Callable[[Follow[ImportJob]], ImportJob],
) -> ImportJob:
    """A pending job for ``dataset_name`` whose ``work`` (upload, request, wait) runs in a thread.

    ``reporter`` hears :meth:`~nexosis_pandas.ProgressReporter.background` here, in the
    caller's thread, before the thread starts.
    """
    job = ImportJob._pending(dataset_name, kind, client)
    follow = Follow(job)
    job._follow = follow
    reporter.background(job)
    follow.start(work)
    return job
