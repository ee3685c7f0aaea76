"""The sandbox: a local S3 and the reference server, made the defaults until stopped.

:func:`sandbox` runs them in a background process of their own that outlives the kernel, with
everything kept in a per-user directory (see :func:`sandbox_dir`)::

    <dir>/state.json    how to reach the running sandbox (written while it runs; 0600: api key)
    <dir>/lock          held by the running sandbox process for as long as it lives
    <dir>/server/       the reference server's store: imports, history, datasets
    <dir>/s3/           the local S3's objects, <bucket>/<key>, on disk before acknowledged
    <dir>/azure/        with azure=True: Azurite's blobs (the local Azure Blob Storage)
    <dir>/sandbox.log   the process's output

The background process (its directory, lock and state file, and what it runs) is
:mod:`nexosis_pandas._sandbox_process`; this module is the user's handle on it. A new kernel's
``sandbox()`` finds the process again through ``state.json`` and the lock. A
process that was killed leaves ``state.json`` behind but not the lock: the next ``sandbox()``
starts a new process on the same directory, which loads the kept objects and finishes the
imports the old one left running. :class:`Sandbox` alone runs both servers in this process
instead (scripts, tests), in a temporary directory unless told otherwise.

About 500 lines, a third of it documentation: :class:`Sandbox` is one handle whether
the servers run in this process or in the background one, and the defaults it sets and
restores on stop belong with it, and so does :func:`run_sandbox`, the background process's
main loop, which runs a :class:`Sandbox`.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexosis_pandas import config
from nexosis_pandas._sandbox_process import (
    DEFAULT_BUCKET,
    holding,
    published,
    read_state,
    sandbox_dir,
    spawn,
    start_lock,
    stop_sandbox,
)
from nexosis_pandas.exceptions import ConfigurationError, user_error

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.local_azure import LocalAzure
    from nexosis_pandas.server import ReferenceServer

__all__ = ["Sandbox", "run_sandbox", "sandbox", "sandbox_dir", "stop_sandbox"]


_running: list[Sandbox] = []


class Sandbox:
    """A local S3 (moto's server) and the reference Nexosis server on free loopback ports.

    While it runs, the accessor and the helper functions use it by default: their client talks to
    the reference server and uploads go to ``s3://<bucket>/nexosis/`` on the local S3. Nothing
    leaves the machine and no account is needed. Needs the ``local`` extra.

    ``Sandbox()`` runs both servers in this process, until :meth:`stop` or the end of the
    process; :func:`sandbox` returns one that runs in a background process and survives a
    kernel restart.

    The reference server is started for local use: URL and Azure imports may reach loopback
    and private-network addresses (a server open to others refuses them).

    Parameters
    ----------
    data_dir
        Where the server keeps its store; a temporary directory (deleted on stop) when ``None``.
    bucket
        The bucket created on the local S3.
    s3_dir
        Where the local S3's objects are kept between runs: loaded on start, and each write
        is on disk before the local S3 acknowledges it. ``None``: they live in memory only.
    azure
        Also run a local Azure Blob Storage (Azurite, an npm package; see
        :mod:`nexosis_pandas.local_azure`) with the container ``bucket``, the default for
        ``az://`` URLs. Needs the ``azure`` extra.
    azure_dir
        Where Azurite keeps its blobs; in memory when ``None``.

    Examples
    --------
    >>> import nexosis_pandas as nxp
    >>> with nxp.Sandbox() as sb:  # doctest: +SKIP
    ...     job = df.nexosis.to_dataset("sales")
    ...     nxp.import_history()
    """

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        bucket: str = DEFAULT_BUCKET,
        s3_dir: str | Path | None = None,
        azure: bool = False,
        azure_dir: str | Path | None = None,
    ) -> None:
        self.bucket = bucket
        self.azure = azure
        self._azure_dir = Path(azure_dir) if azure_dir is not None else None
        self._azure: LocalAzure | None = None
        self._azure_connection_string: str | None = None
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._s3_dir = Path(s3_dir) if s3_dir is not None else None
        self._temp_dir: str | None = None
        self._api_key = secrets.token_urlsafe(24)
        self._s3: LocalS3 | None = None
        self._server: ReferenceServer | None = None
        self._api_url: str | None = None
        self._s3_endpoint_url: str | None = None
        self._home: Path | None = None  # set when this is a handle on a background sandbox
        self._client: Client | None = None
        self._previous: config.Defaults | None = None

    # -- in this process ----------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start the local S3 and the reference server; make them the defaults."""
        if self.running:
            return self
        try:
            from nexosis_pandas._local_s3 import LocalS3
            from nexosis_pandas.server import ReferenceServer
        except ImportError as exc:
            raise ConfigurationError(
                "The sandbox needs the 'local' extra (moto's S3 server, FastAPI, uvicorn): "
                f"pip install 'nexosis-pandas[local]' (missing: {exc.name})"
            ) from exc

        if self._given_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nexosis-sandbox-")
        data_dir = self._given_dir or Path(self._temp_dir or ".")
        try:
            # loaded before the server starts: the imports it resumes read them
            self._s3 = LocalS3(directory=self._s3_dir).start()
            self._s3.create_bucket(self.bucket)
            if self.azure:
                self._azure = _local_azure(self._azure_dir).start()
                self._azure.create_container(self.bucket)
                self._azure_connection_string = self._azure.connection_string
            self._server = ReferenceServer(
                data_dir=data_dir,
                api_keys=[self._api_key],
                s3_endpoint_url=self._s3.endpoint_url,
                s3_storage_options=self._s3.storage_options,
                allow_private_addresses=True,
            ).start()
            self._api_url = self._server.url
            self._s3_endpoint_url = self._s3.endpoint_url
        except BaseException:
            self.stop()
            raise
        self._make_default()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the sandbox and restore the previous defaults.

        A sandbox in this process stops both servers and deletes a temporary data directory.
        A background sandbox's process is stopped; its directory is kept, so the next
        :func:`sandbox` brings everything back.
        Calls that needed the sandbox then say that it was stopped and how to start it again.
        The defaults are restored only while they are still this sandbox's: a sandbox started
        later, or defaults set since, stay in force.
        """
        atexit.unregister(self.stop)
        background = self._home is not None
        if self._home is not None:
            home, self._home = self._home, None
            for other in [s for s in reversed(_running) if s._home == home]:
                other._home = None  # other buckets on the same sandbox: stopped with it
                other._forget_default(background=True)
                other._api_url = other._s3_endpoint_url = None
            stop_sandbox(home)
        self._forget_default(background=background)
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._s3 is not None:
            self._s3.stop()
            self._s3 = None
        if self._azure is not None:
            self._azure.stop()
            self._azure = None
        self._azure_connection_string = None
        if self._client is not None:
            self._client.close()
            self._client = None
        self._api_url = self._s3_endpoint_url = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    # -- the defaults -------------------------------------------------------------------------

    def _make_default(self) -> None:
        from nexosis_pandas._client import Client

        assert self._api_url is not None
        self._client = Client(api_key=self._api_key, base_url=self._api_url)
        self._previous = config.set_defaults(
            replace(
                config.get_defaults(),
                client=self._client,
                api_key=self._api_key,
                base_url=self._api_url,
                s3_prefix=self.s3_prefix,
                storage_options=self.storage_options,
                azure_storage_options=(
                    {"connection_string": self._azure_connection_string}
                    if self._azure_connection_string
                    else None
                ),
                stopped=None,
            )
        )
        _running.append(self)

    def _forget_default(self, *, background: bool) -> None:
        if self._previous is not None:
            previous = self._previous
            if previous.client is None and previous.api_key is None:
                restart = "nexosis_pandas.sandbox()" if background else "Sandbox().start()"
                kept = " (its imports and datasets are kept)" if background else ""
                previous = replace(
                    previous,
                    stopped=f"The sandbox was stopped. Start it again with {restart}{kept}, "
                    "or set NEXOSIS_API_KEY to use a Nexosis server.",
                )
            if self._client is not None and config.get_defaults().client is self._client:
                config.set_defaults(previous)
            for later in _running:  # a sandbox started after this one restores what this did
                if later._previous is not None and later._previous.client is self._client:
                    later._previous = previous
            self._previous = None
        if self in _running:
            _running.remove(self)

    # -- what it offers -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the sandbox is running (for a background one: whether its process lives)."""
        if self._home is not None:
            return read_state(self._home) is not None
        return self._server is not None

    def _need(self) -> tuple[str, str, Client]:
        if self._api_url is None or self._s3_endpoint_url is None or self._client is None:
            raise ConfigurationError(
                "The sandbox was stopped. Start it again with nexosis_pandas.sandbox()."
            )
        return self._api_url, self._s3_endpoint_url, self._client

    @property
    def api_url(self) -> str:
        """The reference server's base URL (``http://127.0.0.1:<port>/v1``)."""
        return self._need()[0]

    @property
    def api_key(self) -> str:
        """The api key the reference server accepts (generated for this sandbox)."""
        return self._api_key

    @property
    def s3_endpoint_url(self) -> str:
        """The local S3's endpoint URL."""
        return self._need()[1]

    @property
    def storage_options(self) -> dict[str, Any]:
        """Options that reach the local S3 from s3fs or pandas (``storage_options=``)."""
        from nexosis_pandas._local_s3 import storage_options

        return storage_options(self._need()[1])

    @property
    def s3_prefix(self) -> str:
        """Where uploads go by default."""
        return f"s3://{self.bucket}/nexosis/"

    @property
    def azure_connection_string(self) -> str:
        """The local Azure Blob Storage's connection string (Azurite's published key).

        Raises
        ------
        ConfigurationError
            The sandbox runs no Azure Blob Storage: start it with ``sandbox(azure=True)``.
        """
        self._need()
        if self._azure_connection_string is None:
            raise ConfigurationError(
                "This sandbox runs no Azure Blob Storage: start one with sandbox(azure=True)."
            )
        return self._azure_connection_string

    @property
    def azure_prefix(self) -> str:
        """Where ``az://`` uploads may go: ``az://<bucket>/nexosis/``."""
        return f"az://{self.bucket}/nexosis/"

    @property
    def client(self) -> Client:
        """A client for the reference server."""
        return self._need()[2]

    @property
    def directory(self) -> Path | None:
        """The directory a background sandbox keeps everything in; ``None`` for one in-process."""
        return self._home

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        if self._api_url is None:
            return "<Sandbox stopped>"
        return (
            f"<Sandbox api_url={self.api_url!r} s3={self.s3_endpoint_url!r} bucket={self.bucket!r}>"
        )

    def _repr_html_(self) -> str:
        from nexosis_pandas._html import escape, table

        if self._api_url is None:
            return "<b>Nexosis sandbox</b>: stopped"
        rows = [
            ("API", self.api_url),
            ("S3 endpoint", self.s3_endpoint_url),
            ("uploads go to", self.s3_prefix),
        ]
        if self._azure_connection_string is not None:
            rows.append(("Azure container", self.azure_prefix))
        if self._home is not None:
            rows.append(("kept in", str(self._home)))
        return table(
            "Nexosis sandbox (running)", [(k, f"<code>{escape(v)}</code>") for k, v in rows]
        )


@user_error
def sandbox(
    *,
    fresh: bool = False,
    data_dir: str | Path | None = None,
    bucket: str = DEFAULT_BUCKET,
    azure: bool = False,
) -> Sandbox:
    """Start the sandbox in a background process, or connect to the one already running.

    The sandbox outlives the kernel: after a kernel restart, ``sandbox()`` connects to the same
    process, with the same imports, history, datasets and S3 objects, so an import interrupted
    before the restart can still be followed with ``get_import(id).wait()``. When its process
    was stopped or killed, ``sandbox()`` starts a new one on the same directory and everything
    comes back. Re-running the cell returns the same object.

    It runs until ``sb.stop()``, ``nexosis-pandas sandbox stop`` in a terminal, or the end of
    a ``with nxp.sandbox() as sb:`` block. ``fresh=True`` starts from nothing (everything
    the sandbox kept is deleted); ``nexosis-pandas sandbox stop --delete`` does the same from
    a terminal.

    Parameters
    ----------
    fresh
        Stop a running sandbox and delete everything it kept before starting.
    data_dir
        Where the sandbox keeps everything; by default :func:`sandbox_dir`.
    bucket
        The bucket uploads go to (created if missing).
    azure
        Also run a local Azure Blob Storage (see :class:`Sandbox`). A running sandbox without
        one is restarted with one (everything it kept comes back).

    Examples
    --------
    >>> import nexosis_pandas as nxp
    >>> sb = nxp.sandbox()  # doctest: +SKIP
    >>> sb.api_url  # doctest: +SKIP
    'http://127.0.0.1:40123/v1'
    >>> nxp.sandbox() is sb  # doctest: +SKIP
    True
    >>> sb.stop()  # doctest: +SKIP
    """
    home = Path(data_dir).expanduser().resolve() if data_dir is not None else sandbox_dir()
    home = home.resolve()
    for running in reversed(_running):  # the latest started is the default
        if running._home == home and running.bucket == bucket:
            has_azure = running._azure_connection_string is not None or not azure
            if running.running and not fresh and has_azure:
                return running
            running.stop()
    if azure:
        _azure_ready()  # say what to install here, not from the sandbox process's log
    with start_lock(home):
        state = read_state(home)
        if fresh:
            stop_sandbox(home, delete=True)
            state = None
        if state is not None and azure and not state.get("azure_connection_string"):
            stop_sandbox(home)  # started without Azure: start it again with it
            state = None
        if state is None:
            state = spawn(home, azure=azure)
    handle = Sandbox(bucket=bucket)
    handle._home = home
    handle._api_key = state["api_key"]
    handle._api_url = state["api_url"]
    handle._s3_endpoint_url = state["s3_endpoint_url"]
    handle._azure_connection_string = state.get("azure_connection_string")
    handle._make_default()
    if bucket != state.get("bucket"):
        from nexosis_pandas._local_s3 import create_bucket

        create_bucket(handle.storage_options, bucket)
    return handle


def _azure_ready() -> None:
    """Raise the :class:`ConfigurationError` saying what to install for ``azure=True``, if any."""
    try:
        import adlfs  # noqa: F401 - the extra's package, which creates the container
    except ImportError as exc:
        raise ConfigurationError(
            "sandbox(azure=True) needs the 'azure' extra: pip install 'nexosis-pandas[azure]'"
        ) from exc
    from nexosis_pandas.local_azure import find_azurite

    find_azurite()


def _local_azure(location: Path | None) -> LocalAzure:
    _azure_ready()
    from nexosis_pandas.local_azure import LocalAzure

    return LocalAzure(location=location)


def run_sandbox(
    home: str | Path | None = None,
    *,
    bucket: str = DEFAULT_BUCKET,
    stop: threading.Event | None = None,
    azure: bool = False,
) -> int:
    """Run a sandbox kept in ``home`` in this process until ``stop`` is set (the background one).

    This is what :func:`sandbox` starts in a process of its own (``nexosis-pandas sandbox
    run``). It takes ``<home>/lock`` for its whole life, writes ``<home>/state.json`` once both
    servers answer, and removes the state file before it releases the lock. The local S3 keeps
    each object on disk before it acknowledges it, so a killed process loses none.

    Returns
    -------
    int
        0, or 1 when another live sandbox already holds ``home``.
    """
    home = Path(home) if home is not None else sandbox_dir()
    home.mkdir(parents=True, exist_ok=True)
    stop = stop or threading.Event()
    with holding(home) as held:
        if not held:
            print(f"nexosis-pandas sandbox: a sandbox already runs in {home}", file=sys.stderr)
            return 1
        with Sandbox(
            data_dir=home / "server",
            bucket=bucket,
            s3_dir=home / "s3",
            azure=azure,
            azure_dir=home / "azure" if azure else None,
        ) as sb:
            state = {
                "pid": os.getpid(),
                "api_url": sb.api_url,
                "api_key": sb.api_key,
                "s3_endpoint_url": sb.s3_endpoint_url,
                "bucket": bucket,
                "azure_connection_string": sb._azure_connection_string,
            }
            with published(home, state):
                print(
                    f"nexosis-pandas sandbox: running at {sb.api_url} (pid {os.getpid()}, "
                    f"Arrow memory pool {_memory_pool()})",
                    flush=True,
                )
                while not stop.wait(1.0):  # a timeout, so that a signal's handler runs
                    pass
        print("nexosis-pandas sandbox: stopped", flush=True)
        return 0


def _memory_pool() -> str:
    """The allocator Arrow uses in this process: ``jemalloc`` once freed memory is handed back."""
    import pyarrow as pa

    return str(pa.default_memory_pool().backend_name)
