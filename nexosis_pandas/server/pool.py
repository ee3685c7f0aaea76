"""The import pool: threads that run each import from ``requested`` to ``completed`` or ``failed``.

An import runs at most once at a time; imports the pool did not finish before it stopped are
resumed by the next pool on the same store. Each import's file comes from its source (see
:mod:`~nexosis_pandas.server.sources`) and goes through the one loading path,
:func:`~nexosis_pandas.server.loading.load_rows`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.server.loading import ImportCancelled, load_rows
from nexosis_pandas.server.parsing import FileFormatError
from nexosis_pandas.server.sources import Source, SourceReadError, is_network_error
from nexosis_pandas.server.sources.kinds import decide_kind
from nexosis_pandas.server.sources.s3 import S3Settings, S3Source
from nexosis_pandas.server.store import Store

__all__ = ["ImportWorker"]

logger = logging.getLogger("nexosis_pandas.server")


class ImportWorker:
    """Runs imports on a pool of threads.

    Parameters
    ----------
    store
        The store the imports and datasets live in.
    s3
        How to reach S3.
    workers
        How many imports run at once.
    sources
        Further sources by import type (``"url"``, ``"azure"``...), beside ``"s3"``.
    """

    def __init__(
        self,
        store: Store,
        s3: S3Settings,
        *,
        workers: int = 4,
        sources: Mapping[str, Source] | None = None,
    ) -> None:
        self.store = store
        self.s3 = s3
        self.workers = max(1, int(workers))
        self.sources: dict[str, Source] = {"s3": S3Source(s3), **(sources or {})}
        self._stopping = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        # Ids queued or running: an import runs at most once at a time.
        self._claimed: set[str] = set()
        self._claimed_lock = threading.Lock()

    def start(self) -> None:
        """Start the threads and resume the imports a previous run left unfinished."""
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="nexosis-import")
        for import_id in self.store.unfinished_imports():
            self.submit(import_id)

    def interrupt(self) -> None:
        """Ask running imports to stop at their next batch and queued ones not to start."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop: queued imports stay ``requested``, running ones ``started``; both resume later."""
        self.interrupt()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        with self._claimed_lock:
            self._claimed.clear()  # cancelled queue entries never ran to release theirs

    def submit(self, import_id: str, credentials: Any = None) -> None:
        """Queue an import to run, unless it is already queued or running.

        An import runs at most once at a time: submitting an id that is queued or running does
        nothing (its ``credentials`` are not used). Submitting it after its run ended runs it
        again only if it is still unfinished. ``credentials`` (the source's own kind, e.g.
        :class:`~nexosis_pandas.server.sources.s3.Credentials`) live in memory for this run only.

        Raises
        ------
        RuntimeError
            The worker is not started, or is stopping.
        """
        if self._executor is None:
            raise RuntimeError("The import worker is not running")
        with self._claimed_lock:
            if import_id in self._claimed:
                logger.info("Import %s is already queued or running; not queued again", import_id)
                return
            self._claimed.add(import_id)
        try:
            self._executor.submit(self._run, import_id, credentials)
        except BaseException:
            self._release(import_id)
            raise

    def _release(self, import_id: str) -> None:
        with self._claimed_lock:
            self._claimed.discard(import_id)

    def _run(self, import_id: str, credentials: Any) -> None:
        try:
            self._run_import(import_id, credentials)
        except ImportCancelled:
            logger.info("Import %s interrupted by shutdown; it resumes on restart", import_id)
        except Exception:  # pragma: no cover - the store itself failed; log, keep the pool alive
            logger.exception("Import %s could not be run", import_id)
        finally:
            self._release(import_id)

    def _run_import(self, import_id: str, credentials: Any) -> None:
        store = self.store
        job = store.job_row(import_id)
        if job is None or job.status.is_terminal or self._stopping.is_set():
            return
        notes: list[tuple[str, str]] = []
        if job.status is ImportStatus.STARTED:
            notes.append(
                (
                    "informational",
                    "The server stopped while this import ran; it was started again from the "
                    "beginning of the file",
                )
            )
        store.set_status(import_id, ImportStatus.STARTED, messages=notes)
        source = self.sources[job.type]
        parameters = job.parameters
        where = source.describe(parameters)
        try:
            with source.open(parameters, credentials) as opened:
                raw = opened.raw
                kind = decide_kind(job.content_type, opened.name, opened.served_type, raw)
                total = getattr(raw, "size", None)

                def open_binary() -> IO[bytes]:
                    raw.seek(0)
                    return raw

                def progress(rows: int, bytes_read: int) -> None:
                    store.set_progress(
                        import_id, rows=rows, bytes_read=bytes_read, bytes_total=total
                    )

                load_rows(
                    store,
                    dataset_name=job.dataset_name,
                    columns=job.columns,
                    open_binary=open_binary,
                    kind=kind,
                    import_id=import_id,
                    cancelled=self._stopping.is_set,
                    progress=progress,
                )
        except (FileFormatError, SourceReadError) as exc:
            self._fail(import_id, str(exc))
        except ImportCancelled:
            raise
        except Exception as exc:
            if is_network_error(exc):
                self._fail(
                    import_id,
                    f"Reading {where} broke off part-way ({type(exc).__name__}: {exc}); nothing "
                    f"was loaded into dataset {job.dataset_name!r}. Check that {source.label} is "
                    "reachable, then start the import again",
                )
                return
            logger.exception("Import %s failed unexpectedly", import_id)
            self._fail(import_id, f"The import failed unexpectedly: {type(exc).__name__}: {exc}")

    def _fail(self, import_id: str, message: str) -> None:
        self.store.set_status(import_id, ImportStatus.FAILED, messages=[("error", message)])
