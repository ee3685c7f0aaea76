"""A local S3: moto's server on a free loopback port (needs the ``local`` extra)."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import requests

from nexosis_pandas.exceptions import ConfigurationError

__all__ = ["LocalS3"]

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - moto accepts any credentials; these are not secrets


class LocalS3:
    """moto's S3 server in a thread on ``127.0.0.1`` and a free port.

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
        return {
            "endpoint_url": self.endpoint_url,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "client_kwargs": {"region_name": "us-east-1"},
        }

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` (no error if it exists)."""
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)
        if not fs.exists(bucket):
            # not fs.mkdir: it sends region us-east-1 as a LocationConstraint, which S3 rejects
            fs.call_s3("create_bucket", Bucket=bucket)

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
