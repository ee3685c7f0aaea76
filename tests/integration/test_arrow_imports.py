"""polars frames, Arrow tables and a DuckDB query to datasets and back, end to end: moto's S3
and the reference server on loopback, over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import Client, ImportStatus, config

pl = pytest.importorskip("polars")

BUCKET = "test-bucket"


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


def sales_polars() -> Any:
    n = 300
    return pl.DataFrame(
        {
            "order_id": [f"o{i:04d}" for i in range(n)],
            "day": pl.datetime_range(
                dt.datetime(2024, 1, 1),
                dt.datetime(2024, 1, 1) + dt.timedelta(hours=n - 1),
                "1h",
                eager=True,
            ),
            "store": pl.Series(
                ["north", "south, east", 'the "big" one'] * (n // 3), dtype=pl.Categorical
            ),
            "units": pl.Series([None if i % 7 == 0 else i for i in range(n)], dtype=pl.Int32),
            "price": [round(1.5 + i * 0.25, 2) for i in range(n)],
            "promo": [i % 3 == 0 for i in range(n)],
        }
    )


def test_a_polars_frame_goes_to_a_dataset_and_comes_back_as_polars(client: Client, s3: Any) -> None:
    frame = sales_polars()
    with config.using_defaults(client=client):
        job = nxp.import_dataframe(
            frame,
            "sales",
            f"s3://{BUCKET}/in/sales.csv.gz",
            target="units",
            timestamp="day",
            key="order_id",
            progress=None,
            storage_options=s3.storage_options,
            timeout=60,
        )
        assert job.status is ImportStatus.COMPLETED
        assert job.upload is not None and job.upload.rows == frame.height
        assert job.columns["units"]["role"] == "target"
        back = nxp.read_dataset("sales", backend="polars").sort("order_id")
    expected = frame.with_columns(
        pl.col("day").dt.replace_time_zone("UTC"),
        pl.col("store").cast(pl.String),
        pl.col("units").cast(pl.Int64),
    )
    assert back.columns == expected.columns
    assert back.equals(expected)


def test_the_same_data_from_pandas_and_polars_is_the_same_object(s3: Any, s3fs_fs: Any) -> None:
    """The bytes in S3 are the same whichever library held the data."""
    frame = sales_polars()
    pandas = pd.DataFrame(
        {
            "order_id": frame["order_id"].to_list(),
            "day": pd.to_datetime(frame["day"].to_list()),
            "store": pd.Categorical(frame["store"].to_list()),
            "units": pd.array(frame["units"].to_list(), dtype="Int32"),
            "price": frame["price"].to_list(),
            "promo": frame["promo"].to_list(),
        }
    )
    options = s3.storage_options
    from_polars = nxp.upload_dataframe(frame, f"s3://{BUCKET}/p.csv.gz", storage_options=options)
    from_arrow = nxp.upload_dataframe(
        frame.to_arrow(), f"s3://{BUCKET}/a.csv.gz", storage_options=options
    )
    from_pandas = nxp.upload_dataframe(pandas, f"s3://{BUCKET}/d.csv.gz", storage_options=options)
    assert from_polars.rows == from_pandas.rows == 300
    assert from_polars.sha256 == from_arrow.sha256 == from_pandas.sha256
    stored = {key: s3fs_fs.cat(f"{BUCKET}/{key}.csv.gz") for key in "pad"}
    assert stored["p"] == stored["a"] == stored["d"]


def test_a_duckdb_query_goes_to_a_dataset(client: Client, s3: Any) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    relation = con.sql(
        "SELECT 'k' || i AS id, i * 1.5 AS amount, DATE '2024-01-01' + i::INTEGER AS day "
        "FROM range(20) t(i)"
    )
    job = nxp.import_dataframe(
        relation,
        "ledger",
        f"s3://{BUCKET}/in/ledger.csv.gz",
        key="id",
        client=client,
        progress=None,
        storage_options=s3.storage_options,
        timeout=60,
    )
    assert job.status is ImportStatus.COMPLETED
    table = nxp.read_dataset("ledger", backend="pyarrow", client=client).sort_by("id")
    assert table.num_rows == 20
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["k3"]["amount"] == 4.5
    assert rows["k3"]["day"] == dt.datetime(2024, 1, 4, tzinfo=dt.UTC)


def test_the_same_arrow_data_twice_is_uploaded_once(
    client: Client, s3: Any, monkeypatch: Any
) -> None:
    """With no s3_url, the key is named by the table's content, so the second import reuses it."""
    monkeypatch.setenv("NEXOSIS_S3_PREFIX", f"s3://{BUCKET}/nexosis/")
    table = pa.table({"id": ["a", "b"], "n": [1, 2]})
    first = nxp.import_dataframe(
        table, "twice", key="id", client=client, progress=None, storage_options=s3.storage_options
    )
    again = nxp.import_dataframe(
        pa.concat_tables([table.slice(0, 1), table.slice(1)]),  # the same rows, chunked otherwise
        "twice",
        key="id",
        client=client,
        progress=None,
        storage_options=s3.storage_options,
    )
    assert first.upload is not None and again.upload is not None
    assert first.upload.url == again.upload.url
    assert first.upload.sha256 and again.upload.sha256 == ""  # found, not uploaded again


def test_a_lazy_frame_in_the_background_completes_and_comes_back(client: Client, s3: Any) -> None:
    frame = sales_polars()
    job = frame.lazy().nexosis.to_dataset(
        "sales-bg",
        f"s3://{BUCKET}/in/sales-bg.csv.gz",
        key="order_id",
        client=client,
        progress=None,
        storage_options=s3.storage_options,
        background=True,
        timeout=60,
    )
    assert job.result(timeout=60).status is ImportStatus.COMPLETED
    assert job.upload is not None and job.upload.rows == frame.height
    back = nxp.read_dataset("sales-bg", backend="polars", client=client).sort("order_id")
    assert back["order_id"].to_list() == frame["order_id"].to_list()
    assert back["units"].null_count() == frame["units"].null_count()
