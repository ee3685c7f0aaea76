"""df.nexosis.to_dataset end to end: moto's S3 and the reference server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import nexosis_pandas  # noqa: F401 - registers df.nexosis
from nexosis_pandas import Client, ImportFailedError, ImportStatus, UploadError, config
from nexosis_pandas.progress import ProgressReporter, WidgetReporter

BUCKET = "test-bucket"


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


@pytest.fixture
def sales() -> pd.DataFrame:
    n = 500
    return pd.DataFrame(
        {
            "order_id": [f"o{i:04d}" for i in range(n)],
            "day": pd.date_range("2024-01-01", periods=n, freq="h"),
            "store": pd.Series(["north", "south, east", 'the "big" one'] * (n // 3 + 1))[:n],
            "units": range(n),
            "price": [round(1.5 + i * 0.25, 2) for i in range(n)],
            "promo": [i % 3 == 0 for i in range(n)],
        }
    )


def as_sent(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as the dataset holds it: dates in UTC."""
    return df.assign(day=df["day"].dt.tz_localize("UTC"))


def assert_same(back: pd.DataFrame, df: pd.DataFrame) -> None:
    assert list(back.columns) == list(df.columns)
    assert len(back) == len(df)
    back = back.sort_values("order_id").reset_index(drop=True)
    expected = as_sent(df)
    for name in df.columns:
        assert back[name].tolist() == expected[name].tolist(), name


def test_to_dataset_round_trip(
    sales: pd.DataFrame, client: Client, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{BUCKET}/in/sales.csv.gz"
    job = sales.nexosis.to_dataset(
        "sales",
        url,
        target="units",
        timestamp="day",
        key="order_id",
        client=client,
        storage_options=s3.storage_options,
        progress="text",
        timeout=60,
    )
    assert job.status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.url == url and job.upload.rows == len(sales)
    assert job.columns["units"]["role"] == "target"

    assert_same(client.read_dataset("sales"), sales)

    out = capsys.readouterr().err
    print(out)  # the text a user sees; shown with pytest -s
    lines = out.splitlines()
    assert lines[0] == f"nexosis: uploading 500 rows to {url}"
    assert any(line.startswith(f"nexosis: uploaded {url}") for line in lines)
    assert any(f"import {job.import_id} into dataset 'sales' requested" in line for line in lines)
    assert lines[-1].startswith("nexosis: dataset 'sales' · completed · 500 rows · ")


def test_the_same_data_twice_is_uploaded_once(sales: pd.DataFrame, client: Client, s3: Any) -> None:
    class Count(ProgressReporter):
        def __init__(self) -> None:
            self.starts = 0

        def upload_start(self, url: str, total_rows: int | None) -> None:
            self.starts += 1

    first, second = Count(), Count()
    with config.using_defaults(s3_prefix=f"s3://{BUCKET}/nexosis/"):
        a = sales.nexosis.to_dataset(
            "sales",
            key="order_id",
            client=client,
            storage_options=s3.storage_options,
            progress=first,
            timeout=60,
        )
        b = sales.copy().nexosis.to_dataset(
            "sales",
            key="order_id",
            client=client,
            storage_options=s3.storage_options,
            progress=second,
            timeout=60,
        )
    assert (first.starts, second.starts) == (1, 0)
    assert a.upload is not None and b.upload is not None
    assert a.upload.url == b.upload.url
    assert a.upload.url.startswith(f"s3://{BUCKET}/nexosis/sales-")
    assert b.status is ImportStatus.COMPLETED
    assert_same(client.read_dataset("sales"), sales)  # upserted by key: still one copy


def test_the_widget_follows_a_real_import(sales: pd.DataFrame, client: Client, s3: Any) -> None:
    shown: list[Any] = []
    reporter = WidgetReporter(display=lambda obj, **kw: shown.append(obj))
    sales.nexosis.to_dataset(
        "sales",
        f"s3://{BUCKET}/w.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=reporter,
        timeout=60,
    )
    assert reporter.bar.bar_style == "success"
    assert reporter.bar.value == 100.0
    assert shown[0] is reporter.container
    assert "completed" in shown[1]["text/html"] and "500" in shown[1]["text/html"]


def test_a_failed_import_raises_with_the_servers_message(client: Client, s3: Any) -> None:
    frame = pd.DataFrame({"when": ["2024-01-01", "not a date"], "units": [1, 2]})
    with pytest.raises(ImportFailedError) as info:
        frame.nexosis.to_dataset(
            "bad",
            f"s3://{BUCKET}/bad.csv.gz",
            columns={"when": {"dataType": "date"}},
            client=client,
            storage_options=s3.storage_options,
            progress=False,
            timeout=60,
        )
    assert info.value.job.status is ImportStatus.FAILED
    assert "when" in str(info.value)


def dataset_columns(server: Any, name: str) -> dict[str, dict[str, Any]]:
    """The dataset's column metadata, as ``GET /data/{name}`` reports it."""
    import requests

    response = requests.get(
        f"{server.url}/data/{name}",
        params={"pageSize": 1},
        headers={"api-key": server.api_key},
        timeout=10,
    )
    response.raise_for_status()
    columns: dict[str, dict[str, Any]] = response.json()["columns"]
    return columns


def test_importing_again_without_roles_keeps_them_and_upserts(
    sales: pd.DataFrame, client: Client, s3: Any, reference_server: Any
) -> None:
    first = sales.iloc[:300]
    first.nexosis.to_dataset(
        "sales",
        f"s3://{BUCKET}/first.csv.gz",
        target="units",
        timestamp="day",
        key="store",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        timeout=60,
    )
    roles = {
        name: spec["role"] for name, spec in dataset_columns(reference_server, "sales").items()
    }
    assert (roles["day"], roles["store"], roles["units"]) == ("timestamp", "key", "target")

    # rows 200..499: 100 overlap the first import (same store and day), 200 are new
    second = sales.iloc[200:].reset_index(drop=True).assign(units=-1)
    job = second.nexosis.to_dataset(
        "sales",
        f"s3://{BUCKET}/second.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        timeout=60,
    )
    after = {
        name: spec["role"] for name, spec in dataset_columns(reference_server, "sales").items()
    }
    assert after == roles
    assert "200 appended, 100 replaced" in job.messages[0].message
    back = client.read_dataset("sales")
    assert len(back) == len(sales)
    assert_same(back, pd.concat([sales.iloc[:200], second]))


def test_an_unreachable_s3_under_the_prefix_is_an_upload_error(
    sales: pd.DataFrame, client: Client
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "key": "k",
        "secret": "s",
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
    }
    reporter = WidgetReporter(display=lambda obj, **kw: None)
    with (
        config.using_defaults(s3_prefix=f"s3://{BUCKET}/nexosis/"),
        pytest.raises(UploadError, match="could not be reached") as info,
    ):
        sales.nexosis.to_dataset(
            "sales", client=client, storage_options=options, progress=reporter, timeout=60
        )
    assert f"127.0.0.1:{port}" in str(info.value)
    assert reporter.bar.bar_style == "danger"
    assert client.import_history().empty
