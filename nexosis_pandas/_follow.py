"""The thread that follows one import in the background, and the future it completes.

A :class:`Follow` runs the upload (where there is one) and the wait in a daemon thread and
completes a plain :class:`concurrent.futures.Future`: with the job once the import completed,
with the error the foreground call would have raised otherwise. The future is never run by an
executor, so :meth:`Follow.cancel` succeeds at any time before the thread ends; the thread then
sees its stop event at its next sleep and tells the display that the wait stopped (as Ctrl-C
does), while the import goes on on the server. Nothing the thread raises is printed: it is kept
for :meth:`~nexosis_pandas.ImportJob.result`.

This module sits below the job, as the wait loop does: it takes any job the wait loop can
follow, so that the job starts its own silent follow-up (:func:`silent_follow`) without
importing the modules above it. :mod:`nexosis_pandas._background` builds the pending job of
``background=True`` on top of it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from nexosis_pandas._polling import PolledJob, wait_for_import
from nexosis_pandas.progress.cell import CellOutput

__all__ = ["Follow", "WaitCancelled", "silent_follow"]

J = TypeVar("J", bound=PolledJob)


class WaitCancelled(KeyboardInterrupt):
    """Raised inside a background thread whose wait was cancelled.

    A :class:`KeyboardInterrupt` on purpose: the wait loop and the displays treat a cancelled
    background wait exactly as a wait the user stopped with Ctrl-C (the import goes on; the
    display says how to resume). It never leaves the thread.
    """

    def __init__(self) -> None:
        super().__init__("the wait was cancelled with job.cancel_wait()")


class Follow(Generic[J]):
    """The background thread that uploads and waits for one job, and its future.

    Parameters
    ----------
    job
        The job the thread completes; its record is filled in once the import is requested.
    """

    def __init__(self, job: J) -> None:
        self.job = job
        self.future: cf.Future[J] = cf.Future()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._cell = CellOutput.here()  # the cell that started the job, kept in its thread

    def start(self, work: Callable[[Follow[J]], J]) -> None:
        """Run ``work(self)`` in a daemon thread; its return or its error completes the future."""
        self.thread = threading.Thread(
            target=self._run,
            args=(work,),
            name=f"nexosis import into {self.job.dataset_name}",
            daemon=True,  # a kernel or an interpreter that exits does not wait for the import
        )
        self.thread.start()

    def _run(self, work: Callable[[Follow[J]], J]) -> None:
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


def silent_follow(job: J) -> Follow[J]:
    """A background wait without a display, for a job nobody follows yet (``add_done_callback``
    or ``await`` on a job from ``wait=False`` or ``get_import``)."""
    follow = Follow(job)
    follow.start(lambda f: wait_for_import(f.job, progress=False, sleep=f.sleep))
    return follow
