"""The URL source: fetch a CSV or JSON file over http(s) for ``POST /imports/url``.

The fetch is bounded every way a remote server could hold the import up or fill the disk: a
connect and a read timeout, a deadline for the whole download, a size cap (checked against
``Content-Length`` first, then counted as the bytes arrive), and at most
:attr:`UrlPolicy.max_redirects` redirects, each to an ``http`` or ``https`` URL. The basic-auth
header is sent to the URL's own origin only, never to another host a redirect names.

The server is no proxy into its own network: unless the policy allows private addresses (a
server started for local use, such as the sandbox), every connection, the first and each
redirect's, is refused when the address actually connected to is loopback, private,
link-local or otherwise not global. The check is made on the connected socket's peer address,
so a host name that resolves differently on a second lookup cannot get past it.

The body is spooled to a temporary file (the loader reads it from the start, and a JSON file's
``columns`` after its ``data`` need a second reading); the file is deleted when the fetch's
context ends.

Some 500 lines, kept as one module: the address policy, the redirects and the bounded download
are one guarantee (no connection the policy refuses, at any hop), easier to check in one place.
"""

from __future__ import annotations

import base64
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from nexosis_pandas._wire import USER_ID
from nexosis_pandas.server.sources import OpenedFile, SourceReadError
from nexosis_pandas.server.sources.addresses import private_address_error, refusal

__all__ = [
    "BasicAuth",
    "FetchedFile",
    "UrlFetchError",
    "UrlPolicy",
    "UrlSource",
    "UrlTarget",
    "check_url",
    "fetch_url",
    "shown_url",
]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _QueryFilter(logging.Filter):
    """Cuts the query off the request lines urllib3 logs at DEBUG: it may carry a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] + "?..." if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_QueryFilter())
_CHUNK = 64 << 10


@dataclass(frozen=True)
class UrlPolicy:
    """How far a URL import may go.

    Parameters
    ----------
    allow_private
        Whether loopback and private-network addresses may be fetched. Only for a server
        started for local use (the sandbox, ``nexosis-pandas serve --allow-private-addresses``).
    connect_timeout
        Seconds to wait for a connection.
    read_timeout
        Seconds the remote server may stay silent.
    total_timeout
        Seconds the whole download may take.
    max_bytes
        The largest file (after any ``Content-Encoding`` is undone).
    max_redirects
        How many redirects are followed.
    """

    allow_private: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    total_timeout: float = 900.0
    max_bytes: int = 2 << 30
    max_redirects: int = 5


@dataclass(frozen=True)
class BasicAuth:
    """A URL import's basic-auth credentials: held in memory for its run only, never shown."""

    user_id: str
    password: str = field(repr=False)

    def header(self) -> str:
        """The ``Authorization`` header's value."""
        token = f"{self.user_id}:{self.password}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


class UrlFetchError(SourceReadError):
    """The file could not be fetched; the message says why, naming the URL by its origin only."""


@dataclass(frozen=True)
class UrlTarget:
    """A URL import's address and credentials: in memory for its run only, never stored.

    The whole URL is held here rather than in the import's parameters, because its path or
    query may carry a token; the parameters keep the scheme and host.
    """

    url: str = field(repr=False)
    auth: BasicAuth | None = field(default=None, repr=False)


NOT_RESUMABLE = (
    "The server stopped before this import finished. {what} held in memory only, never "
    "stored, so the import cannot be resumed: start it again"
)


class UrlSource:
    """Fetches the file of a ``POST /imports/url`` import (see :func:`fetch_url`).

    Parameters
    ----------
    policy
        The limits of every fetch.
    spool_dir
        Where fetched files wait while they are loaded (the store's staging directory).
    """

    label = "the URL's host"

    def __init__(self, policy: UrlPolicy, spool_dir: str | Path | None = None) -> None:
        self.policy = policy
        self.spool_dir = spool_dir

    def describe(self, parameters: Mapping[str, str]) -> str:
        """The URL's scheme and host, as the import echoes it."""
        return parameters.get("url") or "the URL"

    @contextmanager
    def open(self, parameters: Mapping[str, str], credentials: Any) -> Iterator[OpenedFile]:
        """Fetch the file; :class:`UrlFetchError` says what went wrong."""
        if not isinstance(credentials, UrlTarget):
            raise UrlFetchError(
                NOT_RESUMABLE.format(what="A URL import's address and password are")
            )
        with fetch_url(
            credentials.url, policy=self.policy, auth=credentials.auth, spool_dir=self.spool_dir
        ) as fetched:
            yield OpenedFile(fetched.raw, fetched.path, fetched.served_type)


@dataclass(frozen=True)
class FetchedFile:
    """A fetched file: its bytes (seekable), the ``Content-Type`` served, the final path."""

    raw: IO[bytes]
    served_type: str | None
    path: str
    size: int


def shown_url(url: str) -> str:
    """The URL as the API echoes it: scheme and host only, so no secret in it is repeated.

    Examples
    --------
    >>> shown_url("https://user:pw@example.com:8443/data/sales.csv?sig=secret")
    'https://example.com:8443/'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _port(parts) is not None else ""
    return f"{parts.scheme.lower()}://{host}{port}/"


def _port(parts: Any) -> int | None:
    try:
        port: int | None = parts.port
    except ValueError:
        return None
    return port


def check_url(url: str) -> str | None:
    """What is wrong with ``url`` as an import's address, or ``None`` when nothing is.

    Examples
    --------
    >>> check_url("ftp://example.com/a.csv")
    "The url must be an http:// or https:// URL, not 'ftp://'."
    >>> check_url("https://example.com/a.csv") is None
    True
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}://" if parts.scheme else url[:40]
        return f"The url must be an http:// or https:// URL, not {shown!r}."
    if not parts.hostname:
        return "The url has no host name."
    if parts.username is not None or parts.password is not None:
        return (
            "The url must not carry a user name or password; send them in auth.basic "
            f"({USER_ID} and password), which is never stored."
        )
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        return "The url's port is not a number between 0 and 65535."
    return None


class ForbiddenAddress(Exception):  # noqa: N818 - the message is the user's
    """A connection reached an address the policy does not allow."""


class _Guarded:
    """Checks the peer of each new connection before a byte of the request is sent."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        address = str(sock.getpeername()[0])
        kind = refusal(address)
        if kind is not None:
            sock.close()
            raise ForbiddenAddress(private_address_error(self.host, address, kind))
        return sock


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _pool_manager(policy: UrlPolicy) -> urllib3.PoolManager:
    manager = urllib3.PoolManager(num_pools=4, maxsize=1, block=False)
    if not policy.allow_private:
        manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return manager


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = _port(parts) or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _status_error(shown: str, status: int, reason: str, auth: BasicAuth | None) -> str:
    message = (
        f"Fetching {shown} failed: response status code does not indicate success: "
        f"{status} ({reason or 'no reason given'})."
    )
    if status == 401:
        hint = (
            " The user id and password were refused; check them"
            if auth is not None
            else " The file needs credentials: pass auth (user id and password)"
        )
    elif status == 403:
        hint = " Access is denied; check that the file is shared with the credentials given"
    elif status == 404:
        hint = " Check the URL"
    elif status >= 500:
        hint = " The remote server failed; try again later"
    else:
        hint = ""
    return message + hint


@contextmanager
def fetch_url(
    url: str,
    *,
    policy: UrlPolicy,
    auth: BasicAuth | None = None,
    spool_dir: str | Path | None = None,
) -> Iterator[FetchedFile]:
    """Fetch ``url`` into a temporary file and yield it; the file is deleted afterwards.

    Parameters
    ----------
    url
        The file's http(s) address.
    policy
        The limits (timeouts, size, redirects, private addresses).
    auth
        Basic-auth credentials, sent to ``url``'s origin only.
    spool_dir
        Where the temporary file goes; the system's temporary directory when ``None``.

    Raises
    ------
    UrlFetchError
        The URL is refused, unreachable, answers with an error, is too large or too slow; the
        message names the URL by scheme and host only.
    """
    problem = check_url(url)
    if problem is not None:
        raise UrlFetchError(problem)
    started = time.monotonic()
    manager = _pool_manager(policy)
    spool = tempfile.TemporaryFile(dir=spool_dir, prefix="url-import-")  # noqa: SIM115
    try:
        served_type, path, size = _download(url, manager, policy, auth, spool, started)
        spool.seek(0)
        yield FetchedFile(raw=spool, served_type=served_type, path=path, size=size)
    finally:
        spool.close()
        manager.clear()


def _download(
    url: str,
    manager: urllib3.PoolManager,
    policy: UrlPolicy,
    auth: BasicAuth | None,
    spool: IO[bytes],
    started: float,
) -> tuple[str | None, str, int]:
    origin = _origin(url)
    current = url.strip()
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    for _hop in range(policy.max_redirects + 1):
        shown = shown_url(current)
        headers = {"User-Agent": "nexosis-pandas reference server", "Accept-Encoding": "gzip"}
        if auth is not None and _origin(current) == origin:
            headers["Authorization"] = auth.header()
        response = _open(manager, current, headers, timeout, shown)
        try:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise UrlFetchError(
                        f"{shown} answered {response.status} (a redirect) without a Location"
                    )
                target = urljoin(current, location.strip())
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise UrlFetchError(
                        f"{shown} redirected to a {urlsplit(target).scheme}:// URL; only http "
                        "and https redirects are followed"
                    )
                current = target
                continue
            if not 200 <= response.status < 300:
                raise UrlFetchError(_status_error(shown, response.status, response.reason, auth))
            size = _save(response, spool, policy, shown, started)
            return response.headers.get("Content-Type"), urlsplit(current).path, size
        finally:
            response.release_conn()
            response.close()
    raise UrlFetchError(
        f"{shown_url(url)} redirected more than {policy.max_redirects} times; give the file's "
        "final URL"
    )


def _open(
    manager: urllib3.PoolManager,
    url: str,
    headers: dict[str, str],
    timeout: urllib3.Timeout,
    shown: str,
) -> Any:
    host = urlsplit(url).hostname or ""
    try:
        return manager.request(
            "GET",
            url,
            headers=headers,
            timeout=timeout,
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=True,
        )
    except ForbiddenAddress as exc:
        raise UrlFetchError(str(exc)) from None
    except NameResolutionError:
        raise UrlFetchError(
            f"The host {host!r} could not be found (no address for that name); check the URL"
        ) from None
    except NewConnectionError as exc:  # before its base class, ConnectTimeoutError
        reason = exc.__cause__ or exc.__context__
        why = f"{type(reason).__name__}: {reason}" if reason else str(exc)
        raise UrlFetchError(f"Could not connect to {shown} ({why}); check the URL") from None
    except ConnectTimeoutError:
        raise UrlFetchError(
            f"Connecting to {shown} timed out ({timeout.connect_timeout} s); check that it is "
            "reachable, then try again"
        ) from None
    except ReadTimeoutError:
        raise UrlFetchError(
            f"{shown} did not answer within {timeout.read_timeout} s; try again later"
        ) from None
    except HTTPError as exc:
        raise UrlFetchError(f"Fetching {shown} failed ({type(exc).__name__}: {exc})") from None


def _save(response: Any, spool: IO[bytes], policy: UrlPolicy, shown: str, started: float) -> int:
    too_large = (
        f"The file at {shown} is larger than this server's limit of {_size(policy.max_bytes)} "
        "for a URL import; nothing was imported. Import it from S3 instead"
    )
    declared = response.headers.get("Content-Length") or ""
    encoded = response.headers.get("Content-Encoding", "identity").lower()
    if encoded == "identity" and declared.isdigit() and int(declared) > policy.max_bytes:
        raise UrlFetchError(f"{too_large} (it is {_size(int(declared))})")
    size = 0
    # A read blocks until its chunk is full, so a trickling server is cut off by a timer that
    # shuts the socket down when the deadline passes.
    expired = threading.Event()
    watchdog = threading.Timer(
        max(policy.total_timeout - (time.monotonic() - started), 0.0),
        _cut,
        args=(response, expired),
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        for chunk in response.stream(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > policy.max_bytes:
                raise UrlFetchError(too_large)
            spool.write(chunk)
        if expired.is_set():
            raise OSError("cut off at the deadline")
    except (HTTPError, OSError) as exc:
        if expired.is_set():
            raise UrlFetchError(
                f"Fetching {shown} took longer than {policy.total_timeout:g} s (received "
                f"{_size(size)}); nothing was imported. Try again later, or import the file "
                "from S3"
            ) from None
        if isinstance(exc, ReadTimeoutError):
            raise UrlFetchError(
                f"{shown} stopped sending for {policy.read_timeout:g} s after {_size(size)}; "
                "nothing was imported. Try again later"
            ) from None
        raise UrlFetchError(
            f"The download from {shown} broke off after {_size(size)} ({type(exc).__name__}); "
            "nothing was imported. Try again"
        ) from None
    finally:
        watchdog.cancel()
    return size


def _cut(response: Any, expired: threading.Event) -> None:
    expired.set()
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
