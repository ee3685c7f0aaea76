"""Client.import_from_url and import_from_azure: the bodies they send, and what they refuse."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from nexosis_pandas import Client, ImportJob
from nexosis_pandas._history import ImportHistory, history_frame
from nexosis_pandas._wire import Import
from tests.unit.fake_http import API_KEY, BASE_URL, FakeAdapter, fake_session, guid, import_wire

CONNECTION = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0;"


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unit tests must not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
def client(adapter: FakeAdapter) -> Client:
    return Client(api_key=API_KEY, base_url=BASE_URL, session=fake_session(adapter))


def test_import_from_url_sends_the_spec_body(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire(guid(3)), {"Nexosis-Import-Status": "Requested"}))
    job = client.import_from_url(
        "iris",
        " https://example.com/data/iris ",
        columns={"species": {"role": "target"}},
        content_type="csv",
        auth=("ada", "pa55word"),
    )
    assert adapter.path() == "/v1/imports/url"
    assert adapter.json() == {
        "dataSetName": "iris",
        "url": "https://example.com/data/iris",
        "columns": {"species": {"role": "target"}},
        "contentType": "csv",
        "auth": {"basic": {"userId": "ada", "password": "pa55word"}},
    }
    assert isinstance(job, ImportJob) and job.import_id == guid(3)


def test_import_from_url_leaves_out_what_is_not_given(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire()))
    client.import_from_url("iris", "http://example.com/iris.csv")
    assert adapter.json() == {"dataSetName": "iris", "url": "http://example.com/iris.csv"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/a.csv", "not one with s3://; for S3 use import_from_s3"),
        ("example.com/a.csv", "not one with no scheme"),
        ("https:///a.csv", "with a host"),
        ("https://ada:pa55word@example.com/a.csv", "pass auth=\\(user_id, password\\) instead"),
        ("", "url must be a non-empty string"),
    ],
)
def test_import_from_url_refuses_what_the_server_would(
    client: Client, adapter: FakeAdapter, url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        client.import_from_url("iris", url)
    assert "pa55word" not in str(caught.value)
    assert adapter.requests == []


@pytest.mark.parametrize("auth", [("ada",), ("", "pw"), ("ada", None), "ada:pw"])
def test_a_malformed_auth_is_refused_without_echoing_it(client: Client, auth: Any) -> None:
    with pytest.raises(ValueError, match=r"auth must be a \(user_id, password\) pair") as caught:
        client.import_from_url("iris", "https://example.com/iris.csv", auth=auth)
    assert "pw" not in str(caught.value)


def test_import_from_azure_sends_the_spec_body(client: Client, adapter: FakeAdapter) -> None:
    adapter.answer((200, import_wire()))
    client.import_from_azure(
        "sales", CONNECTION, "exports", "2017/sales.csv.gz", content_type="csv"
    )
    assert adapter.path() == "/v1/imports/azure"
    assert adapter.json() == {
        "dataSetName": "sales",
        "connectionString": CONNECTION,
        "container": "exports",
        "blob": "2017/sales.csv.gz",
        "contentType": "csv",
    }


@pytest.mark.parametrize("missing", ["connection_string", "container", "blob"])
def test_import_from_azure_names_an_empty_argument(client: Client, missing: str) -> None:
    arguments = {"connection_string": CONNECTION, "container": "c", "blob": "b.csv", missing: " "}
    with pytest.raises(ValueError, match=missing):
        client.import_from_azure(
            "sales", arguments["connection_string"], arguments["container"], arguments["blob"]
        )


def test_history_shows_where_each_kind_of_import_read_from(client: Client) -> None:
    s3 = import_wire(guid(1))
    url = {**import_wire(guid(2)), "type": "url", "parameters": {"url": "https://example.com/"}}
    azure = {
        **import_wire(guid(3)),
        "type": "azure",
        "parameters": {"connectionString": "redacted", "container": "c", "blob": "x/a.csv"},
    }
    jobs = [ImportJob(Import.from_wire(w), client) for w in (s3, url, azure)]
    frame = history_frame(jobs).set_index("import_id")
    assert list(frame.loc[guid(1), ["bucket", "path"]]) == ["my-bucket", "sales.csv"]
    assert frame.loc[guid(2), "url"] == "https://example.com/"
    assert list(frame.loc[guid(3), ["container", "blob"]]) == ["c", "x/a.csv"]
    assert frame["url"].isna().tolist() == [True, False, True]
    assert [job.source for job in jobs] == [
        "s3://my-bucket/sales.csv",
        "https://example.com/",
        "az://c/x/a.csv",
    ]
    assert "az://c/x/a.csv" in jobs[2]._repr_html_() and "redacted" not in jobs[2]._repr_html_()
    table = history_frame(jobs)
    assert isinstance(table, ImportHistory)
    shown = table._repr_html_() or ""
    for source in ("s3://my-bucket/sales.csv", "https://example.com/", "az://c/x/a.csv"):
        assert f">{source}<" in shown
