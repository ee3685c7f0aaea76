"""The client over real HTTP against the reference server (and moto's S3) on loopback."""

from __future__ import annotations

import datetime as dt
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from nexosis_pandas import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    Client,
    ColumnError,
    ImportJob,
    ImportStatus,
    NotFoundError,
)
from nexosis_pandas._history import HISTORY_DTYPES
from nexosis_pandas._http import HTTPTransport

BUCKET = "test-bucket"

SALES_CSV = (
    "day,store,amount,price,promo\n"
    "2024-01-01,north,3,1.5,True\n"
    '2024-01-02,"south, east",4,2.25,False\n'
    "2024-01-03,north,5,,True\n"
)


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


def upload(s3: Any, key: str, text: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3.storage_options)
    fs.pipe(f"{BUCKET}/{key}", text.encode())


def wait_until_done(job: ImportJob, timeout: float = 60.0) -> ImportJob:
    deadline = time.monotonic() + timeout
    while not job.done():
        assert time.monotonic() < deadline, f"import still {job.status} after {timeout} s"
        time.sleep(0.1)
        job.refresh()
    return job


def test_import_read_and_delete_a_dataset(client: Client, s3: Any) -> None:
    upload(s3, "in/sales.csv", SALES_CSV)
    job = client.import_from_s3(
        "sales",
        BUCKET,
        "in/sales.csv",
        columns={
            "day": {"dataType": "date", "role": "timestamp"},
            "amount": {"dataType": "numeric", "role": "target"},
            "price": {"dataType": "numericMeasure"},
            "promo": {"dataType": "logical"},
            "store": {"dataType": "string"},
        },
    )
    assert isinstance(job, ImportJob)
    assert uuid.UUID(job.import_id)
    assert job.type == "s3"
    assert job.dataset_name == "sales"
    assert job.status in (ImportStatus.REQUESTED, ImportStatus.STARTED, ImportStatus.COMPLETED)
    assert job.parameters == {"bucket": BUCKET, "path": "in/sales.csv", "region": "us-east-1"}
    assert job.requested_date is not None and job.requested_date.tzinfo is not None

    wait_until_done(job)
    assert job.status is ImportStatus.COMPLETED, job.messages
    assert job.status_history[0].status is ImportStatus.REQUESTED
    assert job.status_history[-1].status is ImportStatus.COMPLETED
    assert client.get_import(job.import_id).record == job.record

    frame = client.read_dataset("sales")
    assert set(frame.columns) == {"day", "store", "amount", "price", "promo"}
    frame = frame.sort_values("day").reset_index(drop=True)
    assert len(frame) == 3
    assert frame.amount.tolist() == [3, 4, 5]
    assert pd.api.types.is_numeric_dtype(frame.amount)
    assert frame.price.iloc[:2].tolist() == [1.5, 2.25]
    assert pd.isna(frame.price.iloc[2])
    assert frame.promo.tolist() == [True, False, True]
    assert frame.store.tolist() == ["north", "south, east", "north"]
    assert frame.day.iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")

    assert "sales" in client.list_datasets()
    history = client.import_history(dataset_name="sales")
    assert history.dtypes.astype(str).to_dict() == HISTORY_DTYPES
    row = history.iloc[0]
    assert (row.import_id, row.status, row.bucket, row.error) == (
        job.import_id,
        "completed",
        BUCKET,
        "",
    )
    assert row.requested <= row.started <= row.finished
    assert row.duration == row.finished - row.requested

    client.delete_dataset("sales")
    assert "sales" not in client.list_datasets()
    with pytest.raises(NotFoundError):
        client.read_dataset("sales")
    with pytest.raises(NotFoundError):
        client.delete_dataset("sales")
    client.delete_dataset("sales", missing_ok=True)


def test_an_unreadable_object_ends_failed_with_a_reason(client: Client, s3: Any) -> None:
    job = wait_until_done(client.import_from_s3("ghost", BUCKET, "no/such/file.csv"))
    assert job.status is ImportStatus.FAILED
    assert job.error
    history = client.import_history(dataset_name="ghost")
    assert history.status.tolist() == ["failed"]
    assert history.error.iloc[0] == job.error
    assert history.n_messages.iloc[0] >= 1


def test_history_filters_and_paging(client: Client, s3: Any) -> None:
    upload(s3, "a.csv", "x,y\n1,2\n")
    before_all = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=5)
    jobs = []
    for name in ("alpha", "beta", "alpha"):
        jobs.append(client.import_from_s3(name, BUCKET, "a.csv"))
        time.sleep(0.01)
    for job in jobs:
        wait_until_done(job)
    ids = [job.import_id for job in jobs]

    for page_size in (1, 2, 1000):
        seen = [job.import_id for job in client.iter_imports(page_size=page_size)]
        assert sorted(seen) == sorted(ids)
        assert len(seen) == len(set(seen))

    alpha = [j.import_id for j in client.iter_imports(dataset_name="alpha", page_size=1)]
    assert sorted(alpha) == sorted([ids[0], ids[2]])

    newest_first = client.iter_imports(sort_by="requested_date", sort_order="desc", page_size=1)
    assert [j.import_id for j in newest_first] == ids[::-1]
    by_name = client.iter_imports(sort_by="dataset_name", sort_order="asc", page_size=2)
    assert [j.dataset_name for j in by_name] == ["alpha", "alpha", "beta"]

    assert len(list(client.iter_imports(requested_after=before_all, page_size=2))) == 3
    after_first = jobs[1].requested_date
    assert after_first is not None
    later = [j.import_id for j in client.iter_imports(requested_after=after_first)]
    assert sorted(later) == sorted(ids[1:])
    assert list(client.iter_imports(requested_before="2000-01-01")) == []
    assert list(client.iter_imports(requested_after=before_all.date() + dt.timedelta(days=2))) == []
    naive = (before_all + pd.Timedelta(days=1)).tz_localize(None).isoformat()
    assert list(client.iter_imports(requested_after=naive)) == []

    history = client.import_history(page_size=1)
    assert history.import_id.tolist() == ids
    assert history.requested.is_monotonic_increasing
    assert history.status.tolist() == ["completed"] * 3
    latest = client.import_history(limit=2, sort_by="requested_date", sort_order="desc")
    assert sorted(latest.import_id) == sorted(ids[1:])

    with pytest.warns(UserWarning, match="The datasets are: 'alpha', 'beta'."):
        empty = client.import_history(dataset_name="nothing-here")
    assert empty.empty
    assert empty.dtypes.astype(str).to_dict() == HISTORY_DTYPES


def test_server_errors_become_exceptions(client: Client, reference_server: Any, s3: Any) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as not_found:
        client.get_import(missing)
    assert not_found.value.status_code == 404
    assert not_found.value.error_type == "NotFound"
    assert missing in str(not_found.value)

    with pytest.raises(ValueError, match="'not-a-guid' is not an import id"):
        client.get_import("not-a-guid")  # caught before any request
    with pytest.raises(BadRequestError) as bad_id:  # the server's own check, as the API sends it
        client.transport.request_json("GET", client.transport.url("imports", "not-a-guid"))
    assert bad_id.value.status_code == 400
    assert "not-a-guid" in str(bad_id.value)

    with pytest.raises(ColumnError, match="no-such-type"):  # caught before any request
        client.import_from_s3(
            "sales", BUCKET, "a.csv", columns={"amount": {"dataType": "no-such-type"}}
        )
    two_targets = {"amount": {"role": "target"}, "region": {"role": "target"}}
    with pytest.raises(BadRequestError) as bad_columns:  # only the server knows this rule
        client.import_from_s3("sales", BUCKET, "a.csv", columns=two_targets)
    assert bad_columns.value.error_type == "InvalidColumnMetadata"

    wrong_key = "wrong-key-0b1f"
    with (
        Client(wrong_key, reference_server.url) as stranger,
        pytest.raises(AuthenticationError) as denied,
    ):
        stranger.get_import(missing)
    assert denied.value.status_code == 401
    assert "Access denied" in str(denied.value)
    assert wrong_key not in str(denied.value)
    assert reference_server.api_key not in str(denied.value)


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = HTTPTransport(
        f"http://127.0.0.1:{port}/v1", "k", max_retries=1, sleep=lambda s: None
    )
    with Client(transport=transport) as client:
        with pytest.raises(APIConnectionError) as info:
            client.get_import(str(uuid.uuid4()))
        with pytest.raises(APIConnectionError) as refused_post:
            client.import_from_s3("d", BUCKET, "a.csv")
    assert "could not connect (2 attempts)" in str(info.value)
    assert "may have reached" not in str(refused_post.value)
