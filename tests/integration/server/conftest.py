"""Fixtures for driving the reference server over HTTP: ``api`` (a session with the key) and
``put`` (write an object to the local S3)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.server.server_helpers import BUCKET, Api


@pytest.fixture
def api(reference_server: Any) -> Iterator[Api]:
    """A session against the reference server, sending its api key."""
    client = Api(reference_server)
    yield client
    client.session.close()


@pytest.fixture
def put(s3fs_fs: Any) -> Any:
    """``put(path, data, gz=False)`` writes an object to ``test-bucket`` on the local S3."""

    def write(path: str, data: str | bytes, *, gz: bool = False) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        s3fs_fs.pipe(f"{BUCKET}/{path}", gzip.compress(raw) if gz else raw)
        return path

    return write
