"""Faults injected over loopback: between the client and the server, and in front of S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nexosis_pandas import upload_dataframe
from nexosis_pandas._client import Client
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.exceptions import (
    APIConnectionError,
    ImportFailedError,
    QuotaExceededError,
    ServerError,
    UploadError,
)
from nexosis_pandas.server import ReferenceServer
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.reliability_helpers import BUCKET, fast_client, port_of, put_csv, wait_until

pytestmark = pytest.mark.reliability


@pytest.fixture
def direct(reference_server: Any) -> Iterator[Client]:
    """A client straight to the server, to see what really happened."""
    with fast_client(reference_server.url, reference_server.api_key) as client:
        yield client


@pytest.fixture
def api_proxy(reference_server: Any, proxies: Callable[..., FaultProxy]) -> FaultProxy:
    """An HTTP-aware fault proxy in front of the reference server."""
    return proxies(port_of(reference_server.url), http=True)


def through(proxy: FaultProxy, server: Any, **kwargs: Any) -> Client:
    return fast_client(f"{proxy.url}/v1", server.api_key, **kwargs)


# -- polling ---------------------------------------------------------------------------------------
def test_polling_rides_out_errors_resets_and_latency(
    reference_server: Any, api_proxy: FaultProxy, direct: Client, s3fs_fs: Any
) -> None:
    put_csv(s3fs_fs, "polled.csv", 500)
    client = through(api_proxy, reference_server)
    job = client.import_from_s3("polled", BUCKET, "polled.csv")

    api_proxy.latency = 0.02
    api_proxy.http_errors([503, 503, 500, 429, 502, 503, 503, 504, 500, 503])
    api_proxy.reset_connections(3)
    api_proxy.drop_open_connections()
    job.wait(timeout=120, poll_interval=0.01, progress=False)

    assert job.status is ImportStatus.COMPLETED
    assert len(api_proxy.stats.injected) == 10
    assert api_proxy.stats.resets == 3
    truth = direct.get_import(job.import_id)
    assert replace(job.record, links=()) == replace(truth.record, links=())
    assert [c.status.value for c in job.status_history] == ["requested", "started", "completed"]
    assert len(direct.read_dataset("polled")) == 500


def test_polling_reports_a_failure_through_faults(
    reference_server: Any, api_proxy: FaultProxy
) -> None:
    client = through(api_proxy, reference_server)
    job = client.import_from_s3("missing", BUCKET, "no/such/key.csv")
    api_proxy.http_errors([500, 503, 429])
    api_proxy.reset_connections(1)
    api_proxy.drop_open_connections()

    with pytest.raises(ImportFailedError) as failed:
        job.wait(timeout=60, poll_interval=0.01, progress=False)

    assert job.status is ImportStatus.FAILED
    message = str(failed.value)
    assert "'no/such/key.csv' does not exist in bucket 'test-bucket'" in message
    assert "it may have been deleted, or never finished uploading" in message


def test_a_lasting_outage_ends_the_wait_saying_how_to_resume(
    reference_server: Any, api_proxy: FaultProxy, s3fs_fs: Any
) -> None:
    from nexosis_pandas._polling import wait_for_import

    put_csv(s3fs_fs, "outage.csv", 10)
    client = through(api_proxy, reference_server, max_retries=1)
    job = client.import_from_s3("outage", BUCKET, "outage.csv")
    api_proxy.http_errors([503] * 10_000)

    with pytest.raises(APIConnectionError) as lost:
        wait_for_import(job, poll_interval=0.01, progress=False, max_outage=1.0)

    message = str(lost.value)
    assert "Lost touch with the API" in message and "HTTP 503" in message
    assert f'nexosis_pandas.get_import("{job.import_id}").wait()' in message
    api_proxy.clear()
    assert job.wait(timeout=60, poll_interval=0.01, progress=False).status.value == "completed"


# -- starting an import: once, or not at all -----------------------------------------------------
def _imports_of(client: Client, dataset: str) -> int:
    return len(client.import_history(dataset_name=dataset))


def _posts(proxy: FaultProxy) -> int:
    return sum(1 for line in proxy.stats.requests if line.startswith("POST "))


def test_a_reset_after_the_post_arrived_is_reported_and_not_repeated(
    reference_server: Any, api_proxy: FaultProxy, direct: Client, s3fs_fs: Any
) -> None:
    put_csv(s3fs_fs, "once.csv", 5)
    client = through(api_proxy, reference_server)
    api_proxy.reset_after_response_starts(1)

    with pytest.raises(APIConnectionError) as lost:
        client.import_from_s3("once", BUCKET, "once.csv")

    message = str(lost.value)
    assert "POST" in message and "lost the connection" in message
    assert "may have reached the server, so it was not repeated" in message
    assert "import_history(dataset_name=...)" in message
    assert api_proxy.stats.killed_responses == 1
    assert _posts(api_proxy) == 1
    assert _imports_of(direct, "once") == 1


def test_a_withheld_answer_times_out_and_is_not_repeated(
    reference_server: Any, api_proxy: FaultProxy, direct: Client, s3fs_fs: Any
) -> None:
    put_csv(s3fs_fs, "held.csv", 5)
    client = through(api_proxy, reference_server, timeout=(5.0, 0.5))
    api_proxy.hold_responses(1)

    with pytest.raises(APIConnectionError) as lost:
        client.import_from_s3("held", BUCKET, "held.csv")

    message = str(lost.value)
    assert "got no answer within 0.5 s" in message
    assert "may have reached the server, so it was not repeated" in message
    api_proxy.clear()
    assert _posts(api_proxy) == 1
    # The client gave up waiting; the server may still be handling the request.
    wait_until(lambda: _imports_of(direct, "held") > 0, timeout=30, what="the held import")
    assert _imports_of(direct, "held") == 1


def test_a_reset_before_the_request_is_read_starts_nothing(
    reference_server: Any, api_proxy: FaultProxy, direct: Client
) -> None:
    # The request has left the client when the reset comes (reset_once_sent, not
    # reset_connections: a reset right at accept may fail the client's connect() itself, and a
    # POST that certainly never left is rightly retried), so the client cannot tell whether it
    # took effect: it reports that and does not repeat it. The server never read it.
    client = through(api_proxy, reference_server)
    api_proxy.reset_once_sent(1)
    api_proxy.drop_open_connections()

    with pytest.raises(APIConnectionError) as lost:
        client.import_from_s3("reset", BUCKET, "reset.csv")

    message = str(lost.value)
    assert "POST" in message and "lost the connection" in message
    assert "may have reached the server, so it was not repeated" in message
    assert "import_history(dataset_name=...)" in message
    assert api_proxy.stats.resets == 1
    assert api_proxy.stats.connections == 1
    assert _posts(api_proxy) == 0
    assert _imports_of(direct, "reset") == 0


@pytest.mark.parametrize(
    ("status", "error", "hint"),
    [
        (500, ServerError, "try again later"),
        (503, ServerError, "try again later"),
        (429, QuotaExceededError, "Wait and try again"),
    ],
)
def test_an_error_answer_to_the_post_is_not_retried(
    reference_server: Any,
    api_proxy: FaultProxy,
    direct: Client,
    status: int,
    error: type[Exception],
    hint: str,
) -> None:
    client = through(api_proxy, reference_server)
    api_proxy.http_errors([status, status, status])

    with pytest.raises(error) as failed:
        client.import_from_s3("refused", BUCKET, "refused.csv")

    assert f"HTTP {status}" in str(failed.value) and hint in str(failed.value)
    assert api_proxy.stats.injected == [status]
    assert _imports_of(direct, "refused") == 0


def test_latency_alone_changes_nothing(
    reference_server: Any, api_proxy: FaultProxy, direct: Client, s3fs_fs: Any
) -> None:
    put_csv(s3fs_fs, "slow.csv", 20)
    api_proxy.latency = 0.1
    client = through(api_proxy, reference_server)
    job = client.import_from_s3("slow", BUCKET, "slow.csv").wait(timeout=60, progress=False)
    assert job.status is ImportStatus.COMPLETED
    assert _imports_of(direct, "slow") == 1


# -- the upload cut off --------------------------------------------------------------------------
@pytest.fixture
def s3_proxy(s3: Any, proxies: Callable[..., FaultProxy]) -> FaultProxy:
    """A byte-level fault proxy in front of the local S3."""
    return proxies(port_of(s3.endpoint_url))


def _options(s3: Any, endpoint: str) -> dict[str, Any]:
    return {**s3.storage_options, "endpoint_url": endpoint}


def _multipart_uploads(fs: Any) -> list[Any]:
    listed = fs.call_s3("list_multipart_uploads", Bucket=BUCKET)
    return list(listed.get("Uploads", []))


@pytest.mark.parametrize(
    ("rows", "cut_at", "older"),
    [(700_000, 3_000_000, b"id,value\n1,older\n"), (30_000, 200_000, None)],
    ids=["multipart-over-an-older-object", "single-put-to-a-new-key"],
)
def test_an_upload_cut_midway_leaves_no_object(
    s3: Any, s3fs_fs: Any, s3_proxy: FaultProxy, rows: int, cut_at: int, older: bytes | None
) -> None:
    key = f"{BUCKET}/cut/data.csv.gz"
    if older is not None:
        s3fs_fs.pipe(key, older)
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"a": rng.random(rows), "b": rng.random(rows)})
    s3_proxy.cut_after(cut_at)

    with pytest.raises(UploadError) as failed:
        upload_dataframe(df, f"s3://{key}", storage_options=_options(s3, s3_proxy.url))

    message = str(failed.value)
    assert f"Uploading to s3://{key} failed" in message
    assert "then try again" in message
    assert "no object was written, and an object already at that key is unchanged" in message
    assert s3_proxy.stats.cuts >= 1
    s3fs_fs.invalidate_cache()
    if older is None:
        assert not s3fs_fs.exists(key)
    else:
        assert s3fs_fs.cat(key) == older
    assert _multipart_uploads(s3fs_fs) == []

    s3_proxy.clear()
    done = upload_dataframe(df, f"s3://{key}", storage_options=_options(s3, s3_proxy.url))
    assert done.rows == rows


# -- the server's own reads from S3 --------------------------------------------------------------
def test_the_server_reads_s3_through_resets_and_latency_or_fails_cleanly(
    s3: Any, s3fs_fs: Any, s3_proxy: FaultProxy, tmp_path: Path
) -> None:
    put_csv(s3fs_fs, "flaky.csv", 20_000)
    with (
        ReferenceServer(
            data_dir=tmp_path / "data",
            api_keys=["k"],
            s3_endpoint_url=s3_proxy.url,
            s3_storage_options=s3.storage_options | {"endpoint_url": s3_proxy.url},
        ) as server,
        fast_client(server.url, "k") as client,
    ):
        s3_proxy.latency = 0.01
        s3_proxy.reset_connections(2)
        job = client.import_from_s3("flaky", BUCKET, "flaky.csv").wait(timeout=120, progress=False)
        assert job.status is ImportStatus.COMPLETED
        assert s3_proxy.stats.resets == 2
        assert len(client.read_dataset("flaky")) == 20_000

        s3_proxy.clear()
        s3_proxy.cut_after(50_000)
        job = client.import_from_s3("flaky", BUCKET, "flaky.csv")
        with pytest.raises(ImportFailedError) as failed:
            job.wait(timeout=120, progress=False)
        message = str(failed.value)
        assert "Reading s3://test-bucket/flaky.csv broke off part-way" in message, message
        assert "nothing was loaded" in message and "start the import again" in message
        assert len(client.read_dataset("flaky")) == 20_000  # nothing half-loaded on top
