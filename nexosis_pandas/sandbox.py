"""The embedded sandbox: a local S3 and the reference server, made the defaults until stopped."""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nexosis_pandas import config
from nexosis_pandas.exceptions import ConfigurationError

if TYPE_CHECKING:
    from nexosis_pandas._client import Client
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.server import ReferenceServer

__all__ = ["Sandbox", "sandbox"]

_running: list[Sandbox] = []


class Sandbox:
    """A local S3 (moto's server) and the reference Nexosis server on free loopback ports.

    While it runs, the accessor and the helper functions use it by default: their client talks to
    the reference server and uploads go to ``s3://<bucket>/nexosis/`` on the local S3. Nothing
    leaves the machine and no account is needed. Needs the ``local`` extra.

    Parameters
    ----------
    data_dir
        Where the server keeps its store; a temporary directory (deleted on stop) when ``None``.
    bucket
        The bucket created on the local S3.

    Examples
    --------
    >>> import nexosis_pandas as nxp
    >>> with nxp.sandbox() as sb:  # doctest: +SKIP
    ...     job = df.nexosis.to_dataset("sales")
    ...     nxp.import_history()

    In a notebook, keep it running across cells and stop it at the end:

    >>> sb = nxp.sandbox()  # doctest: +SKIP
    >>> sb.stop()  # doctest: +SKIP
    """

    def __init__(
        self, *, data_dir: str | Path | None = None, bucket: str = "nexosis-sandbox"
    ) -> None:
        self.bucket = bucket
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._temp_dir: str | None = None
        self._api_key = secrets.token_urlsafe(24)
        self._s3: LocalS3 | None = None
        self._server: ReferenceServer | None = None
        self._client: Client | None = None
        self._previous: config.Defaults | None = None

    def start(self) -> Sandbox:
        """Start the local S3 and the reference server; make them the defaults."""
        if self._server is not None:
            return self
        try:
            from nexosis_pandas._local_s3 import LocalS3
            from nexosis_pandas.server import ReferenceServer
        except ImportError as exc:
            raise ConfigurationError(
                "The sandbox needs the 'local' extra (moto's S3 server, FastAPI, uvicorn): "
                f"pip install 'nexosis-pandas[local]' (missing: {exc.name})"
            ) from exc
        from nexosis_pandas._client import Client

        if self._given_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="nexosis-sandbox-")
        data_dir = self._given_dir or Path(self._temp_dir or ".")
        try:
            self._s3 = LocalS3().start()
            self._s3.create_bucket(self.bucket)
            self._server = ReferenceServer(
                data_dir=data_dir,
                api_keys=[self._api_key],
                s3_endpoint_url=self._s3.endpoint_url,
                s3_storage_options=self._s3.storage_options,
            ).start()
            self._client = Client(api_key=self._api_key, base_url=self._server.url)
        except BaseException:
            self.stop()
            raise
        self._previous = config.set_defaults(
            replace(
                config.get_defaults(),
                client=self._client,
                api_key=self._api_key,
                base_url=self._server.url,
                s3_prefix=self.s3_prefix,
                storage_options=self._s3.storage_options,
            )
        )
        _running.append(self)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop both servers, restore the previous defaults, delete a temporary data directory.

        The defaults are restored only while they are still this sandbox's: a sandbox started
        later, or defaults set since, stay in force.
        """
        atexit.unregister(self.stop)
        if self._previous is not None:
            if self._client is not None and config.get_defaults().client is self._client:
                config.set_defaults(self._previous)
            for later in _running:  # a sandbox started after this one restores what this did
                if later._previous is not None and later._previous.client is self._client:
                    later._previous = self._previous
            self._previous = None
        if self in _running:
            _running.remove(self)
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._s3 is not None:
            self._s3.stop()
            self._s3 = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    @property
    def running(self) -> bool:
        """Whether the sandbox is running."""
        return self._server is not None

    def _need(self) -> tuple[LocalS3, ReferenceServer, Client]:
        if self._s3 is None or self._server is None or self._client is None:
            raise ConfigurationError("The sandbox is stopped; start it with sandbox().")
        return self._s3, self._server, self._client

    @property
    def api_url(self) -> str:
        """The reference server's base URL (``http://127.0.0.1:<port>/v1``)."""
        return self._need()[1].url

    @property
    def api_key(self) -> str:
        """The api key the reference server accepts (generated for this sandbox)."""
        return self._api_key

    @property
    def s3_endpoint_url(self) -> str:
        """The local S3's endpoint URL."""
        return self._need()[0].endpoint_url

    @property
    def storage_options(self) -> dict[str, Any]:
        """Options that reach the local S3 from s3fs or pandas (``storage_options=``)."""
        return self._need()[0].storage_options

    @property
    def s3_prefix(self) -> str:
        """Where uploads go by default."""
        return f"s3://{self.bucket}/nexosis/"

    @property
    def client(self) -> Client:
        """A client for the reference server."""
        return self._need()[2]

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self.running:
            return "<Sandbox stopped>"
        return (
            f"<Sandbox api_url={self.api_url!r} s3={self.s3_endpoint_url!r} bucket={self.bucket!r}>"
        )

    def _repr_html_(self) -> str:
        if not self.running:
            return "<b>Nexosis sandbox</b>: stopped"
        rows = [
            ("API", self.api_url),
            ("S3 endpoint", self.s3_endpoint_url),
            ("uploads go to", self.s3_prefix),
        ]
        from nexosis_pandas._html import escape, table

        return table(
            "Nexosis sandbox (running)", [(k, f"<code>{escape(v)}</code>") for k, v in rows]
        )


def sandbox(*, data_dir: str | Path | None = None, bucket: str = "nexosis-sandbox") -> Sandbox:
    """Start a :class:`Sandbox` and return it, or return the one already running.

    When a sandbox with the same ``bucket`` (and, if ``data_dir`` is given, the same
    ``data_dir``) already runs in this process, that one is returned, still holding its data and
    still the default: re-running a notebook cell ``sb = nxp.sandbox()`` is harmless. A separate
    sandbox is started with ``Sandbox(...).start()``.

    Also usable as a context manager: ``with nxp.sandbox() as sb:`` stops the sandbox at the end
    of the block (the running one, when it returned that).

    Parameters
    ----------
    data_dir
        Where the reference server keeps its store; a temporary directory when ``None``.
    bucket
        The bucket created on the local S3.

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
    wanted = Path(data_dir).resolve() if data_dir is not None else None
    for running in reversed(_running):  # the latest started is the default
        given = running._given_dir
        same_dir = wanted is None or (given is not None and given.resolve() == wanted)
        if running.running and running.bucket == bucket and same_dir:
            return running
    return Sandbox(data_dir=data_dir, bucket=bucket).start()
