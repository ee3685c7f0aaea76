"""import_url and to_dataset("az://...") end to end: the client, the server, real sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import Client, ImportFailedError, ImportStatus
from tests.http_files import PASSWORD, USER

CSV = "day,store,units\n2017-01-01,north,3\n2017-01-02,north,5\n2017-01-02,south,8\n"


@pytest.fixture
def client(local_server: Any) -> Iterator[Client]:
    with Client(local_server.api_key, local_server.url, timeout=10) as c:
        yield c


def test_import_url_waits_shows_progress_and_lands_in_history(
    client: Client, file_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    file_server.add("sales.csv", CSV, "text/csv")
    job = nxp.import_url(
        "sales",
        file_server.url("/private/sales.csv"),
        columns={"day": {"dataType": "date", "role": "timestamp"}, "store": {"role": "key"}},
        auth=(USER, PASSWORD),
        progress="text",
        client=client,
    )
    assert job.status is ImportStatus.COMPLETED and job.type == "url"
    assert job.source == f"http://127.0.0.1:{file_server.port}/"
    shown = capsys.readouterr()
    assert "completed" in shown.out + shown.err and PASSWORD not in shown.out + shown.err
    assert client.read_dataset("sales")["units"].tolist() == [3, 5, 8]
    history = client.import_history(dataset_name="sales")
    assert history["url"].tolist() == [f"http://127.0.0.1:{file_server.port}/"]
    assert history[["bucket", "container"]].isna().all().all()


def test_import_url_without_waiting_and_a_failure(client: Client, file_server: Any) -> None:
    job = nxp.import_url(
        "x", file_server.url("/files/none.csv"), wait=False, progress=False, client=client
    )
    assert job.status is ImportStatus.REQUESTED
    with pytest.raises(ImportFailedError, match=r"404 \(Not Found\)"):
        job.wait(30, progress=False)


def test_to_dataset_through_azure_round_trips(client: Client, azure: Any) -> None:
    df = pd.DataFrame(
        {
            "day": pd.date_range("2017-01-01", periods=4, freq="D"),
            "units": [3, 5, 8, 13],
            "store": ["north", "south, east", 'the "big" one', "north"],
        }
    )
    job = df.nexosis.to_dataset(
        "sales",
        "az://test-container/exports/sales.csv.gz",
        timestamp="day",
        storage_options=azure.storage_options,
        progress=False,
        client=client,
    )
    assert job.status is ImportStatus.COMPLETED and job.type == "azure"
    assert job.parameters == {
        "connectionString": "redacted",
        "container": "test-container",
        "blob": "exports/sales.csv.gz",
    }
    assert job.upload is not None and job.source == "az://test-container/exports/sales.csv.gz"
    back = client.read_dataset("sales").sort_values("day").reset_index(drop=True)
    assert back["units"].tolist() == [3, 5, 8, 13]
    assert back["store"].tolist() == df["store"].tolist()
    history = client.import_history(dataset_name="sales")
    assert history[["type", "container", "blob"]].values.tolist() == [
        ["azure", "test-container", "exports/sales.csv.gz"]
    ]


def test_an_az_url_without_a_connection_string_says_where_to_put_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    with pytest.raises(nxp.ConfigurationError, match="AZURE_STORAGE_CONNECTION_STRING"):
        pd.DataFrame({"x": [1]}).nexosis.to_dataset(
            "x", "az://c/x.csv", storage_options={}, client=client, progress=False
        )
