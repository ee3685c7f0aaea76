"""nxp.read_dataset, list_datasets, delete_dataset over real HTTP: the reference server on
loopback, the data imported from moto's S3, read back as pandas, polars and Arrow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import Client, NotFoundError, _backends, config

BUCKET = "test-bucket"


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


@pytest.fixture
def sales(client: Client, s3: Any) -> pd.DataFrame:
    """A dataset ``sales`` of every data type, imported from this frame, by the default client."""
    df = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "day": pd.to_datetime(
                ["2024-01-01", "2024-01-02 12:30:00.25", "2024-03-01", "2024-03-02"],
                format="ISO8601",
            ),
            "store": ["north", 'the "big" one', "south, east", None],
            "units": pd.array([3, None, -7, 2**40], dtype="Int64"),
            "price": [1.5, -0.0, None, 2.0],
            "promo": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    with config.using_defaults(client=client):
        nxp.import_dataframe(
            df,
            "sales",
            f"s3://{BUCKET}/in/sales.csv.gz",
            key="order_id",
            timestamp="day",
            progress=None,
            storage_options=s3.storage_options,
            timeout=60,
        )
    return df


def test_read_dataset_gives_pandas_by_default(sales: pd.DataFrame, client: Client) -> None:
    with config.using_defaults(client=client):
        back = nxp.read_dataset("sales")
    assert isinstance(back, pd.DataFrame)
    back = back.sort_values("order_id").reset_index(drop=True)
    assert back.units.tolist()[:1] == [3] and str(back.units.dtype) == "Int64"
    assert str(back.day.dt.tz) == "UTC"


def test_read_dataset_as_arrow_holds_the_values_sent(sales: pd.DataFrame, client: Client) -> None:
    table = nxp.read_dataset("sales", backend="pyarrow", client=client)
    assert isinstance(table, pa.Table)
    assert dict(zip(table.column_names, table.schema.types, strict=True)) == {
        "order_id": pa.string(),
        "day": pa.timestamp("us", "UTC"),
        "store": pa.string(),
        "units": pa.int64(),
        "price": pa.float64(),
        "promo": pa.bool_(),
    }
    rows = {row["order_id"]: row for row in table.to_pylist()}
    assert [rows[o]["units"] for o in ("o1", "o2", "o3", "o4")] == [3, None, -7, 2**40]
    assert [rows[o]["promo"] for o in ("o1", "o2", "o3", "o4")] == [True, False, None, True]
    stores = [rows[o]["store"] for o in ("o1", "o2", "o3")]
    assert stores == ["north", 'the "big" one', "south, east"]
    prices = [rows[o]["price"] for o in ("o1", "o2", "o3", "o4")]
    assert prices[0] == 1.5 and str(prices[1]) == "-0.0" and prices[2] is None
    expected_day = pd.Timestamp("2024-01-02 12:30:00.25", tz="UTC").to_pydatetime()
    assert rows["o2"]["day"] == expected_day


def test_read_dataset_as_polars_is_the_arrow_table(sales: pd.DataFrame, client: Client) -> None:
    pl = pytest.importorskip("polars")
    frame = nxp.read_dataset("sales", backend="polars", client=client)
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema["units"] == pl.Int64 and frame.schema["promo"] == pl.Boolean
    assert frame.schema["day"] == pl.Datetime("us", "UTC")
    table = nxp.read_dataset("sales", backend="pyarrow", client=client)
    assert frame.to_arrow().cast(table.schema).equals(table)


def test_the_json_pages_give_the_table_the_arrow_stream_gives(
    sales: pd.DataFrame, reference_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without the Arrow stream (the hosted API) sends JSON pages: the same table."""
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        streamed = c.read_dataset("sales", backend="pyarrow")
    monkeypatch.setattr("nexosis_pandas._datasets.ARROW_STREAM", "application/x-none")
    pages: list[int] = []  # the rows of each call of the JSON path

    def from_rows(rows: Any, columns: Any, backend: Any) -> Any:
        pages.append(len(rows))
        return _backends.from_rows(rows, columns, backend)

    monkeypatch.setattr("nexosis_pandas._datasets.from_rows", from_rows)
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        paged = c.read_dataset("sales", backend="pyarrow")
    assert pages == [4]  # the JSON path was taken
    assert paged.equals(streamed)


def test_list_and_delete_datasets(sales: pd.DataFrame, client: Client) -> None:
    with config.using_defaults(client=client):
        assert nxp.list_datasets() == ["sales"]
        nxp.delete_dataset("sales")
        assert nxp.list_datasets() == []
        nxp.delete_dataset("sales", missing_ok=True)
        with pytest.raises(NotFoundError):
            nxp.delete_dataset("sales")
        with pytest.raises(NotFoundError):
            nxp.read_dataset("sales", backend="pyarrow")


def test_an_unknown_backend_is_refused_before_any_request(client: Client) -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        nxp.read_dataset("never-asked", backend="arrow", client=client)  # type: ignore[call-overload]
