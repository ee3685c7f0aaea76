"""Fixtures shared by every test: moto's S3 server on loopback, reset between tests.

Also the Hypothesis profiles (registered here, where pytest reads them before
``--hypothesis-profile`` is applied): ``ci``, the default, is derandomised with a bounded number
of examples so the suite stays fast and repeatable; ``thorough`` (``pytest
--hypothesis-profile=thorough tests/property``) searches far longer, with fresh random data on
every run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=1_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def sandbox_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Every test's ``nexosis_pandas.sandbox()`` (and the kernels it starts) keep their state
    in the test's own directory, never the user's; a background sandbox left running is stopped.
    A "the sandbox was stopped" note left in the defaults is cleared.
    """
    home = tmp_path / "sandbox-home"
    monkeypatch.setenv("NEXOSIS_SANDBOX_DIR", str(home))
    yield home
    from dataclasses import replace

    from nexosis_pandas import config

    config.set_defaults(replace(config.get_defaults(), stopped=None))  # no test sees another's
    if home.exists():
        from nexosis_pandas.sandbox import stop_sandbox

        stop_sandbox(home)


@pytest.fixture(scope="session")
def local_s3() -> Iterator[Any]:
    """moto's S3 server for the whole session (reset by ``s3``)."""
    from nexosis_pandas._local_s3 import LocalS3

    with LocalS3() as server:
        yield server


@pytest.fixture
def s3(local_s3: Any) -> Iterator[Any]:
    """A clean local S3 with the bucket ``test-bucket``; ``s3.storage_options`` reaches it."""
    local_s3.reset()
    local_s3.create_bucket("test-bucket")
    yield local_s3


@pytest.fixture
def s3fs_fs(s3: Any) -> Any:
    """An ``s3fs.S3FileSystem`` pointed at the local S3."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)


API_KEY = "test-api-key"


@pytest.fixture
def reference_server(s3: Any, tmp_path: Any) -> Iterator[Any]:
    """The reference server on a free loopback port, reading from the local S3.

    ``reference_server.url`` ends in ``/v1``; ``reference_server.api_key`` is ``API_KEY``.
    """
    from nexosis_pandas.server import ReferenceServer

    with ReferenceServer(
        data_dir=tmp_path / "server-data",
        api_keys=[API_KEY],
        s3_endpoint_url=s3.endpoint_url,
        s3_storage_options=s3.storage_options,
    ) as server:
        yield server


@pytest.fixture
def local_server(s3: Any, tmp_path: Any) -> Iterator[Any]:
    """A reference server started for local use (as the sandbox's): it may fetch from loopback."""
    from nexosis_pandas.server import ReferenceServer

    with ReferenceServer(
        data_dir=tmp_path / "local-server",
        api_keys=[API_KEY],
        s3_endpoint_url=s3.endpoint_url,
        s3_storage_options=s3.storage_options,
        allow_private_addresses=True,
    ) as server:
        yield server


@pytest.fixture
def file_server() -> Iterator[Any]:
    """A real HTTP server on loopback serving files as remote hosts do (``tests/http_files.py``)."""
    from tests.http_files import FileServer

    with FileServer() as server:
        yield server


_CI_AZURITE = Path(__file__).resolve().parent.parent / ".ci/azurite/node_modules/.bin/azurite-blob"


@pytest.fixture(scope="session")
def local_azure() -> Iterator[Any]:
    """Azurite's blob service for the whole session (reset by ``azure``).

    Outside CI, the tests that need it skip when Azurite is not installed; under ``CI=true``
    they fail, so that CI cannot pass without running them.
    """
    from nexosis_pandas.exceptions import ConfigurationError
    from nexosis_pandas.local_azure import LocalAzure, find_azurite

    if not os.environ.get("NEXOSIS_AZURITE") and _CI_AZURITE.exists():
        os.environ["NEXOSIS_AZURITE"] = str(_CI_AZURITE)
    try:
        find_azurite()
    except ConfigurationError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the Azure tests: {exc}")
        pytest.skip(f"Azurite is not installed (npm ci --prefix .ci/azurite): {exc}")
    with LocalAzure() as server:
        yield server


@pytest.fixture
def azure(local_azure: Any) -> Any:
    """A clean Azurite with the container ``test-container``."""
    local_azure.reset()
    local_azure.create_container("test-container")
    return local_azure
