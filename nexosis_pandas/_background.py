"""Imports followed in a background thread, and the job as a future.

``background=True`` hands the upload (where there is one) and the wait to a daemon thread and
returns the :class:`~nexosis_pandas.ImportJob` at once. The job's future is a plain
:class:`concurrent.futures.Future` that the thread completes: with the job once the import
completed, with the error the foreground call would have raised otherwise. It is never run
by an executor, so :meth:`Follow.cancel` succeeds at any time before the thread ends; the
thread then sees its stop event at its next sleep and tells the display that the wait stopped
(as Ctrl-C does), while the import goes on on the server.

The thread's display is the reporter resolved in the calling cell, told
:meth:`~nexosis_pandas.ProgressReporter.background` before the thread starts, so that it can
keep writing into that cell (:mod:`nexosis_pandas.progress.cell`). Nothing the thread raises is
printed: it is kept for :meth:`~nexosis_pandas.ImportJob.result`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Literal, NamedTuple

from nexosis_pandas.progress.cell import CellOutput

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._job import ImportJob
    from nexosis_pandas.progress import ProgressReporter

__all__ = [
    "Follow",
    "WaitCancelled",
    "WaitResult",
    "as_completed",
    "check_wait",
    "in_background",
    "silent_follow",
    "wait",
]


class WaitCancelled(KeyboardInterrupt):
    """Raised inside a background thread whose wait was cancelled.

    A :class:`KeyboardInterrupt` on purpose: the wait loop and the displays treat a cancelled
    background wait exactly as a wait the user stopped with Ctrl-C (the import goes on; the
    display says how to resume). It never leaves the thread.
    """

    def __init__(self) -> None:
        super().__init__("the wait was cancelled with job.cancel_wait()")


class Follow:
    """The background thread that uploads and waits for one job, and its future.

    Parameters
    ----------
    job
        The job the thread completes; its record is filled in once the import is requested.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.future: cf.Future[ImportJob] = cf.Future()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._cell = CellOutput.here()  # the cell that started the job, kept in its thread

    def start(self, work: Callable[[Follow], ImportJob]) -> None:
        """Run ``work(self)`` in a daemon thread; its return or its error completes the future."""
        self.thread = threading.Thread(
            target=self._run,
            args=(work,),
            name=f"nexosis import into {self.job.dataset_name}",
            daemon=True,  # a kernel or an interpreter that exits does not wait for the import
        )
        self.thread.start()

    def _run(self, work: Callable[[Follow], ImportJob]) -> None:
        if self._cell is not None:
            self._cell.enter()
        # InvalidStateError: cancel() came first, the caller stopped following.
        with contextlib.suppress(cf.InvalidStateError):
            try:
                job = work(self)
            except BaseException as error:  # kept for result(), never printed
                self.future.set_exception(error)
            else:
                self.future.set_result(job)

    @property
    def stopped(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep between polls; raise :class:`WaitCancelled` at once when the wait is cancelled."""
        if self._stop.wait(seconds):
            raise WaitCancelled

    def check(self) -> None:
        """Raise :class:`WaitCancelled` if the wait was cancelled (before a request is sent)."""
        if self._stop.is_set():
            raise WaitCancelled

    def cancel(self) -> bool:
        """Stop following; ``False`` when the thread had already ended."""
        if self.future.done():
            return False
        self._stop.set()
        return self.future.cancel()


def silent_follow(job: ImportJob) -> Follow:
    """A background wait without a display, for a job nobody follows yet (``add_done_callback``
    or ``await`` on a job from ``wait=False`` or ``get_import``)."""
    from nexosis_pandas._polling import wait_for_import

    follow = Follow(job)
    follow.start(lambda f: wait_for_import(f.job, progress=False, sleep=f.sleep))
    return follow


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
    work: Callable[[Follow], ImportJob],
) -> ImportJob:
    """A pending job for ``dataset_name`` whose ``work`` (upload, request, wait) runs in a thread.

    ``reporter`` hears :meth:`~nexosis_pandas.ProgressReporter.background` here, in the
    caller's thread, before the thread starts.
    """
    from nexosis_pandas._job import ImportJob

    job = ImportJob._pending(dataset_name, kind, client)
    follow = Follow(job)
    job._follow = follow
    reporter.background(job)
    follow.start(work)
    return job
