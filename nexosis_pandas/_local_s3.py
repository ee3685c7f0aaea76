"""A local S3: moto's server on a free loopback port (needs the ``local`` extra)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import requests

from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["LocalS3", "create_bucket", "storage_options"]

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - moto accepts any credentials; these are not secrets
_PARTIAL = ".nexosis-partial"


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

    Its objects live in memory; :meth:`save` and :meth:`load` keep them in a directory between
    runs.

    Examples
    --------
    >>> with LocalS3() as s3:  # doctest: +SKIP
    ...     s3.create_bucket("demo")
    ...     df.nexosis.to_s3("s3://demo/a.csv.gz", storage_options=s3.storage_options)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "The local S3 needs moto's server: pip install 'nexosis-pandas[local]'"
            ) from exc
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint_url = ""
        self._saved: dict[tuple[str, str], str] = {}

    def start(self) -> LocalS3:
        """Start the server; return once it accepts connections."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop the server."""
        self._server.stop()

    def reset(self) -> None:
        """Forget every bucket and object."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    @property
    def storage_options(self) -> dict[str, Any]:
        """Options for ``s3fs.S3FileSystem`` (and pandas' ``storage_options``) to reach it."""
        return storage_options(self.endpoint_url)

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (no error if it exists)."""
        create_bucket(self.storage_options, bucket)

    def load(self, directory: str | Path) -> None:
        """Put every file under ``directory`` (``<bucket>/<key>``, as :meth:`save` writes them)."""
        root = Path(directory)
        if not root.is_dir():
            return
        fs = self._fs()
        for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            self.create_bucket(bucket_dir.name)
            for path in sorted(p for p in bucket_dir.rglob("*") if p.is_file()):
                if not path.name.endswith(_PARTIAL):
                    key = path.relative_to(bucket_dir).as_posix()
                    fs.put_file(str(path), f"{bucket_dir.name}/{key}")
        self._saved = self._listing(fs)

    def save(self, directory: str | Path) -> None:
        """Write every object to ``directory/<bucket>/<key>``; only what changed since last time.

        Each file is written whole, then renamed into place: a process killed while saving
        leaves the previous copy.
        """
        root = Path(directory)
        fs = self._fs()
        now = self._listing(fs)
        if now == self._saved:
            return
        for (bucket, key), tag in now.items():
            target = _inside(root, bucket, key)
            if target is None or self._saved.get((bucket, key)) == tag:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + _PARTIAL)
            fs.get_file(f"{bucket}/{key}", str(partial))
            os.replace(partial, target)
        for bucket, key in self._saved.keys() - now.keys():
            gone = _inside(root, bucket, key)
            if gone is not None:
                gone.unlink(missing_ok=True)
        self._saved = now

    def _fs(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            skip_instance_cache=True, use_listings_cache=False, **self.storage_options
        )

    @staticmethod
    def _listing(fs: Any) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        for bucket in fs.ls("", refresh=True):
            name = str(bucket).rstrip("/")
            for path, info in fs.find(name, detail=True, withdirs=False).items():
                key = str(path)[len(name) + 1 :]
                if key and not key.endswith("/"):
                    found[(name, key)] = f"{info.get('ETag', '')}/{info.get('size', '')}"
        return found

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _inside(root: Path, bucket: str, key: str) -> Path | None:
    """``root/bucket/key``, or ``None`` for a key that would leave ``root`` (``..``, empty)."""
    parts = [bucket, *key.split("/")]
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        return None
    return root.joinpath(*parts)
