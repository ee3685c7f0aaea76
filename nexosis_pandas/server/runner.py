"""``ReferenceServer``: the reference Nexosis Imports API in a background thread of this process."""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["DataDirInUseError", "ListenError", "ReferenceServer", "return_freed_memory"]

LOCK_FILE = "server.lock"

START_TIMEOUT = 30.0


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameters: free memory kept at the heap's top; allocations from this
size up get memory maps of their own (given back when freed)."""


def return_freed_memory() -> None:
    """Make the process hand the memory it frees back to the system: for a server process.

    Arrow's default allocator (mimalloc) keeps freed memory for reuse, and glibc's ``malloc``
    raises its threshold for mapping a large block on its own each time such a block is freed,
    after which an import's large arrays (NumPy's, Python's buffers of the file) come from its
    heap and stay there. A server process would so keep the high-water mark of its largest
    import. This gives Arrow jemalloc with no decay, and fixes glibc's threshold at 4 MiB (the
    heap may keep 32 MiB at its top for reuse). ``nexosis-pandas serve`` and ``nexosis-pandas
    sandbox run`` (the background sandbox of ``nexosis_pandas.sandbox()``) call it, each in a
    process of its own; a server started in another program's process (an in-process
    ``Sandbox``) leaves that program's allocators alone.
    """
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow built without jemalloc
        pass
    else:
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(0)
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc (musl has no mallopt)
        return
    mallopt(M_TRIM_THRESHOLD, 32 << 20)
    mallopt(M_MMAP_THRESHOLD, 4 << 20)


class ListenError(ConfigurationError):
    """The reference server could not listen on ``host``:``port`` (in use, or not this machine's).

    Parameters
    ----------
    host, port
        The address the server was asked to listen on.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"The reference server could not listen on {host}:{port}; is the port in use? "
            "Pass port=0 for a free one"
        )


class DataDirInUseError(ConfigurationError):
    """Another reference server is running on the same data directory.

    Parameters
    ----------
    data_dir
        The directory.
    holder
        What the lock file says of the server holding it (its process id), if readable.
    """

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.data_dir = data_dir
        who = f" (process {holder})" if holder else ""
        super().__init__(
            f"Another reference server{who} is running on the data directory {data_dir}; stop "
            "it, or give this one another data directory"
        )


class DataDirLock:
    """An exclusive lock on a data directory, held while a server runs on it.

    The operating system drops the lock when the process ends, however it ends (even by
    SIGKILL), so it never outlives its server; the lock file itself may stay.

    Parameters
    ----------
    data_dir
        The directory to lock (created if missing).
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._handle: Any = None

    def acquire(self) -> None:
        """Take the lock.

        Raises
        ------
        DataDirInUseError
            Another server holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the server's life
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip()[:20]
            handle.close()
            raise DataDirInUseError(self.path.parent, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _lock(handle: Any) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


class ReferenceServer:
    """A working Nexosis Imports API on this machine: FastAPI under uvicorn, SQLite, S3 via s3fs.

    The server runs in a background thread; imports run on a pool of ``workers`` threads.
    Imports it leaves ``requested`` or ``started`` when stopped are finished by the next server
    started on the same ``data_dir``.

    Parameters
    ----------
    host
        The address to listen on; the loopback address by default.
    port
        The port; ``0`` picks a free one (read it back from :attr:`url`).
    data_dir
        Where the store lives; a temporary directory (deleted on :meth:`stop`) when ``None``.
    api_keys
        The keys requests may send; ``None`` uses ``NEXOSIS_API_KEY``, else generates one.
    s3_endpoint_url
        The S3 endpoint (e.g. a local moto server); AWS when ``None``.
    s3_region
        The region used when an import names none; ``us-east-1`` when ``None``.
    s3_storage_options
        Further ``s3fs.S3FileSystem`` options (credentials, ``client_kwargs``...).
    workers
        How many imports run at once.
    allow_private_addresses
        Let URL and Azure imports reach loopback and private-network addresses. Only for a
        server used locally (the sandbox does): otherwise anyone who may start an import could
        make the server fetch from the network it sits in.

    Examples
    --------
    >>> with ReferenceServer(s3_endpoint_url="http://127.0.0.1:5000") as server:  # doctest: +SKIP
    ...     requests.get(f"{server.url}/imports", headers={"api-key": server.api_key})
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        api_keys: Sequence[str] | None = None,
        s3_endpoint_url: str | None = None,
        s3_region: str | None = None,
        s3_storage_options: Mapping[str, Any] | None = None,
        workers: int = 4,
        allow_private_addresses: bool = False,
    ) -> None:
        keys = [k for k in (api_keys or ()) if k]
        self.api_key_generated = False
        if not keys:
            from_env = os.environ.get("NEXOSIS_API_KEY", "").strip()
            if from_env:
                keys = [from_env]
            else:
                keys = [secrets.token_urlsafe(24)]
                self.api_key_generated = True
        self._api_keys = keys
        self.host = host
        self.port = int(port)
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._temp_dir: str | None = None
        self._s3_endpoint_url = s3_endpoint_url
        self._s3_region = s3_region
        self._s3_storage_options = dict(s3_storage_options or {})
        self.workers = workers
        self.allow_private_addresses = allow_private_addresses
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None
        self._store: Any = None
        self._worker: Any = None
        self._lock: DataDirLock | None = None

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<ReferenceServer {state}>"

    @property
    def api_key(self) -> str:
        """The first accepted api key."""
        return self._api_keys[0]

    @property
    def data_dir(self) -> Path:
        """The directory that holds the store."""
        if self._given_dir is not None:
            return self._given_dir
        if self._temp_dir is None:
            raise ConfigurationError("The server has no data directory until it is started")
        return Path(self._temp_dir)

    @property
    def url(self) -> str:
        """The API's base URL, ``http://HOST:PORT/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ReferenceServer:
        """Start the store, the import workers and the web server, in that order.

        Returns once the server accepts connections; the workers are running before the first
        request can arrive.

        Raises
        ------
        ConfigurationError
            FastAPI or uvicorn is missing.
        ListenError
            The server could not listen (port in use...); a ``ConfigurationError``.
        DataDirInUseError
            Another server runs on ``data_dir``; a ``ConfigurationError``.
        OSError
            The data directory cannot be created or written.
        """
        if self._thread is not None:
            return self
        try:
            import uvicorn

            from nexosis_pandas.server.http import create_app
            from nexosis_pandas.server.pool import ImportWorker
            from nexosis_pandas.server.sources.azure import AzureSource
            from nexosis_pandas.server.sources.s3 import S3Settings
            from nexosis_pandas.server.sources.url import UrlPolicy, UrlSource
            from nexosis_pandas.server.store import Store
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "The reference server needs the 'server' extra: "
                f"pip install 'nexosis-pandas[server]' (missing: {exc.name})"
            ) from exc
        if self._given_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nexosis-server-")
        try:
            self._lock = DataDirLock(self.data_dir)
            self._lock.acquire()
            self._store = Store(self.data_dir)
            self._worker = ImportWorker(
                self._store,
                S3Settings(
                    endpoint_url=self._s3_endpoint_url,
                    region=self._s3_region,
                    storage_options=self._s3_storage_options,
                ),
                workers=self.workers,
                sources={
                    "url": UrlSource(
                        UrlPolicy(allow_private=self.allow_private_addresses),
                        spool_dir=self._store.staging_dir,
                    ),
                    "azure": AzureSource(allow_private=self.allow_private_addresses),
                },
            )
            # The worker runs (and resumes what a previous run left) before the first request
            # can arrive: a POST must find it ready to take the import it has just recorded.
            self._worker.start()
            app = create_app(store=self._store, worker=self._worker, api_keys=self._api_keys)
            config = uvicorn.Config(
                app,
                host=self.host,
                port=self.port,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
            self._uvicorn = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=self._uvicorn.run, name="nexosis-reference-server", daemon=True
            )
            self._thread.start()
            deadline = time.monotonic() + START_TIMEOUT
            while not self._uvicorn.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise ListenError(self.host, self.port)
                time.sleep(0.01)
            self.port = int(self._uvicorn.servers[0].sockets[0].getsockname()[1])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop accepting requests, stop the workers, and close the store.

        Imports still running stay ``started`` and resume on the next start with this
        ``data_dir``; a temporary data directory is deleted.
        """
        if self._worker is not None:
            self._worker.interrupt()  # before the HTTP shutdown, which an import can outrun
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._uvicorn = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
