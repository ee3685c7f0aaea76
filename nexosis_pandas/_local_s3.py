"""A local S3: moto's server on a free loopback port (needs the ``local`` extra)."""

from __future__ import annotations

import io
import logging
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["LocalS3", "create_bucket", "storage_options"]

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - moto accepts any credentials; these are not secrets
_PARTIAL = ".nexosis-partial"
_CHUNK = 1 << 20

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def storage_options(endpoint_url: str) -> dict[str, Any]:
    """Options for ``s3fs.S3FileSystem`` (and pandas' ``storage_options``) to reach a local S3."""
    return {
        "endpoint_url": endpoint_url,
        "key": ACCESS_KEY,
        "secret": SECRET_KEY,
        "client_kwargs": {"region_name": "us-east-1"},
    }


def create_bucket(options: dict[str, Any], bucket: str) -> None:
    """Create ``bucket`` on the S3 that ``options`` reach (no error if it exists)."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    if not fs.exists(bucket):
        # not fs.mkdir: it sends region us-east-1 as a LocationConstraint, which S3 rejects
        fs.call_s3("create_bucket", Bucket=bucket)


class LocalS3:
    """moto's S3 server in a thread on ``127.0.0.1`` and a free port.

    Without ``directory`` its objects live in memory only. With ``directory``, every object is
    also kept in ``directory/<bucket>/<key>``: :meth:`start` loads what is there, and a write
    is answered only once it is on disk (the file written whole, fsync'd and renamed into
    place, its directory fsync'd), so a process killed at any moment loses no object whose
    upload was acknowledged. Deletions reach the directory before they are answered too.

    Parameters
    ----------
    host, port
        Where to listen; port 0 picks a free one.
    directory
        Where the objects are kept between runs, or ``None``.

    Examples
    --------
    >>> with LocalS3() as s3:  # doctest: +SKIP
    ...     s3.create_bucket("demo")
    ...     df.nexosis.to_s3("s3://demo/a.csv.gz", storage_options=s3.storage_options)
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, directory: str | Path | None = None
    ) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "The local S3 needs moto's server: pip install 'nexosis-pandas[local]'"
            ) from exc
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint_url = ""
        self.directory = Path(directory) if directory is not None else None
        self._writing_through = False
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._reader: Any = None  # a boto3 client: the server wants signed requests

    def start(self) -> LocalS3:
        """Start the server and load ``directory``; return once it accepts connections."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        if self.directory is not None:
            import boto3

            self._reader = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                region_name="us-east-1",
            )
            wsgi: Any = self._server._server  # werkzeug's server: its handlers call wsgi.app
            wsgi.app = self._write_through(wsgi.app)
            self._load(self.directory)
            self._writing_through = True
        return self

    def stop(self) -> None:
        """Stop the server."""
        self._server.stop()

    def reset(self) -> None:
        """Forget every bucket and object (in memory; ``directory`` keeps its files)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    @property
    def storage_options(self) -> dict[str, Any]:
        """Options for ``s3fs.S3FileSystem`` (and pandas' ``storage_options``) to reach it."""
        return storage_options(self.endpoint_url)

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (no error if it exists)."""
        create_bucket(self.storage_options, bucket)

    def _load(self, root: Path) -> None:
        """Put every file under ``root`` (``<bucket>/<key>``) into the server."""
        if not root.is_dir():
            return
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)
        for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            self.create_bucket(bucket_dir.name)
            for path in sorted(p for p in bucket_dir.rglob("*") if p.is_file()):
                if path.name.endswith(_PARTIAL):
                    path.unlink(missing_ok=True)  # a write that was never acknowledged
                else:
                    key = path.relative_to(bucket_dir).as_posix()
                    fs.put_file(str(path), f"{bucket_dir.name}/{key}")

    def _write_through(self, app: _WSGIApp) -> _WSGIApp:
        """Wrap moto's WSGI ``app``: a write is on disk before its answer leaves."""

        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            change = _change_of(environ) if self._writing_through else None
            if change is None:
                return app(environ, start_response)
            kind, bucket, key = change
            deleted: list[str] = []
            if kind == "delete-many":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                deleted = _keys_in_delete_request(body)
                environ["wsgi.input"] = io.BytesIO(body)  # read again by moto
            answer: dict[str, Any] = {}

            def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
                answer.update(status=status, headers=headers, exc_info=exc_info)
                return lambda data: None

            chunks = app(environ, capture)
            try:
                body_out = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            if str(answer.get("status", "500")).startswith("2"):
                if kind == "put":
                    self._persist(bucket, key)
                elif kind == "delete":
                    self._forget(bucket, key)
                else:
                    for each in deleted:
                        self._forget(bucket, each)
            start_response(answer["status"], answer["headers"], answer.get("exc_info"))
            return [body_out]

        return wrapped

    def _lock_for(self, bucket: str, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._key_locks.setdefault((bucket, key), threading.Lock())

    def _persist(self, bucket: str, key: str) -> None:
        """Copy ``bucket/key`` from the server to its file, durably (or delete a gone one)."""
        assert self.directory is not None
        target = _inside(self.directory, bucket, key)
        if target is None:
            return
        with self._lock_for(bucket, key):
            try:
                body = self._reader.get_object(Bucket=bucket, Key=key)["Body"]
            except self._reader.exceptions.NoSuchKey:
                _unlink_durably(target)
                return
            _mkdirs_durably(target.parent)
            partial = target.with_name(target.name + _PARTIAL)
            with body, open(partial, "wb") as out:
                for chunk in body.iter_chunks(_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
            _fsync_dir(target.parent)

    def _forget(self, bucket: str, key: str) -> None:
        assert self.directory is not None
        target = _inside(self.directory, bucket, key)
        if target is not None:
            with self._lock_for(bucket, key):
                _unlink_durably(target)

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _change_of(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """What a request changes: ``("put" | "delete" | "delete-many", bucket, key)``, or ``None``.

    A ``PUT`` of an object (not of a part) or a ``CompleteMultipartUpload`` writes one; a
    ``DELETE`` of an object or a ``DeleteObjects`` removes some. Requests are path-style, as
    s3fs sends them to an address: ``/<bucket>/<key>``.
    """
    method = environ.get("REQUEST_METHOD", "")
    if method not in ("PUT", "POST", "DELETE"):
        return None
    # WSGI gives the decoded path as latin-1; the key's bytes are UTF-8
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    bucket, _, key = path.lstrip("/").partition("/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if method == "POST" and not key and "delete" in query:
        return ("delete-many", bucket, "")
    if not bucket or not key:
        return None
    if method == "PUT" and "partNumber" not in query and not _is_subresource(query):
        return ("put", bucket, key)
    if method == "POST" and "uploadId" in query:
        return ("put", bucket, key)
    if method == "DELETE" and "uploadId" not in query and not _is_subresource(query):
        return ("delete", bucket, key)
    return None


def _is_subresource(query: dict[str, list[str]]) -> bool:
    return bool(query.keys() & {"tagging", "acl", "retention", "legal-hold"})


def _keys_in_delete_request(body: bytes) -> list[str]:
    try:
        root = ET.fromstring(body)  # noqa: S314 - a request from this machine's own client
    except ET.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkdirs_durably(path: Path) -> None:
    """``mkdir -p``, each new directory fsync'd into its parent."""
    missing: list[Path] = []
    at = path
    while not at.exists():
        missing.append(at)
        at = at.parent
    for each in reversed(missing):
        each.mkdir(exist_ok=True)
        _fsync_dir(each.parent)


def _unlink_durably(path: Path) -> None:
    if path.exists():
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)


def _inside(root: Path, bucket: str, key: str) -> Path | None:
    """``root/bucket/key``, or ``None`` for a key that would leave ``root`` (``..``, empty)."""
    parts = [bucket, *key.split("/")]
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        return None
    return root.joinpath(*parts)
