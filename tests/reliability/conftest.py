"""Fixtures of the reliability suite: fault proxies and server processes.

Every module here sets ``pytestmark = pytest.mark.reliability``; every test talks to 127.0.0.1
only. Helpers live in ``reliability_helpers`` (a conftest is not a module to import from).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.faultproxy import FaultProxy
from tests.reliability.reliability_helpers import ServerProcess


@pytest.fixture
def proxies() -> Iterator[Callable[..., FaultProxy]]:
    """``proxies(target_port, http=False)`` makes a :class:`FaultProxy`, closed after the test."""
    made: list[FaultProxy] = []

    def make(target_port: int, *, http: bool = False) -> FaultProxy:
        proxy = FaultProxy(target_port, http=http)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture
def server_process(s3: Any, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``server_process(data_dir, s3_endpoint_url=None)`` starts a server subprocess."""
    started: list[ServerProcess] = []

    def start(data_dir: Path, *, s3_endpoint_url: str | None = None) -> ServerProcess:
        server = ServerProcess(data_dir, "process-key", s3_endpoint_url or s3.endpoint_url)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
