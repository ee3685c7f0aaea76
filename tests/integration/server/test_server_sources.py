"""POST /imports/url and /imports/azure end to end: a real HTTP server, Azurite, the server."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexosis_pandas.local_azure import ACCOUNT_KEY
from tests.http_files import PASSWORD, USER
from tests.integration.server.server_helpers import Api, error_of

CSV = "day,units\n2017-01-01,3\n2017-01-02,5\n"
JSON = '[{"day": "2017-01-01", "units": 3}, {"day": "2017-01-02", "units": 5}]'


@pytest.fixture
def local(local_server: Any) -> Iterator[Api]:
    client = Api(local_server)
    yield client
    client.session.close()


def run(api: Api, source: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/imports/{source}", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["Nexosis-Import-Status"] == "Requested"
    return api.wait(response.json()["importId"])


# -- URL -------------------------------------------------------------------------------------


def test_a_csv_behind_basic_auth_is_imported(local: Api, file_server: Any) -> None:
    file_server.add("export", CSV, "text/csv; charset=utf-8")  # no extension: the type says
    url = file_server.url("/private/export?token=abc")
    auth = {"basic": {"userId": USER, "password": PASSWORD}}
    done = run(local, "url", {"dataSetName": "sales", "url": url, "auth": auth})
    assert done["status"] == "completed", done
    assert done["type"] == "url"
    assert done["parameters"] == {"url": f"http://127.0.0.1:{file_server.port}/"}
    assert [r["units"] for r in local.rows("sales")] == [3, 5]


def test_json_is_found_by_sniffing_and_the_js_clients_casing_is_accepted(
    local: Api, file_server: Any
) -> None:
    file_server.add("export", JSON, "application/octet-stream")
    body = {
        "DataSetName": "sales",
        "Url": file_server.url("/redirect/2/private/export"),
        "Auth": {"Basic": {"UserId": USER, "Password": PASSWORD}},
        "ContentType": "",
    }
    done = run(local, "url", body)
    assert done["status"] == "completed", done
    assert {r["day"][:10] for r in local.rows("sales")} == {"2017-01-01", "2017-01-02"}


def test_fetch_failures_end_the_import_with_the_reason(local: Api, file_server: Any) -> None:
    missing = run(local, "url", {"dataSetName": "x", "url": file_server.url("/files/none.csv")})
    assert "404 (Not Found). Check the URL" in error_of(missing)
    file_server.add("sales.csv", CSV)
    no_auth = run(local, "url", {"dataSetName": "x", "url": file_server.url("/private/sales.csv")})
    assert "401" in error_of(no_auth) and "pass auth" in error_of(no_auth)


def test_the_default_server_refuses_loopback_urls(api: Api, file_server: Any) -> None:
    url = file_server.add("sales.csv", CSV, "text/csv")
    done = run(api, "url", {"dataSetName": "sales", "url": url})
    message = error_of(done)
    assert "a loopback address: this server does not fetch" in message
    assert "--allow-private-addresses" in message
    assert "/files/sales.csv" not in file_server.seen_auth  # no request reached it


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"dataSetName": "x"}, "url", "The url field is required."),
        ({"dataSetName": "x", "url": "ftp://h/a.csv"}, "url", "http:// or https://"),
        ({"dataSetName": "x", "url": "https://u:pw@h/a.csv"}, "url", "auth.basic"),
        ({"url": "https://h/a.csv"}, "dataSetName", "The dataSetName field is required."),
        ({"dataSetName": "x", "url": "https://h/a", "contentType": "xml"}, "contentType", "csv"),
    ],
)
def test_request_problems_are_400s_naming_the_field(
    api: Api, body: dict[str, Any], field: str, reason: str
) -> None:
    response = api.post("/imports/url", json=body)
    assert response.status_code == 400, response.text
    details = response.json()["errorDetails"]
    assert reason in " ".join(details[field])
    assert "pw" not in response.text


# -- Azure -----------------------------------------------------------------------------------


def test_a_blob_is_imported_and_the_connection_string_is_redacted(local: Api, azure: Any) -> None:
    azure.filesystem().pipe("test-container/exports/2017/sales.csv", CSV.encode())
    body = {
        "dataSetName": "sales",
        "connectionString": azure.connection_string,
        "container": "test-container",
        "blob": "exports/2017/sales.csv",
    }
    done = run(local, "azure", body)
    assert done["status"] == "completed", done
    assert done["type"] == "azure"
    assert done["parameters"] == {
        "connectionString": "redacted",
        "container": "test-container",
        "blob": "exports/2017/sales.csv",
    }
    assert [r["units"] for r in local.rows("sales")] == [3, 5]


def test_azure_failures_end_the_import_with_the_reason(local: Api, azure: Any) -> None:
    base = {"dataSetName": "x", "container": "test-container", "blob": "none.csv"}
    missing = run(local, "azure", {**base, "connectionString": azure.connection_string})
    assert "404 (The specified blob does not exist.)" in error_of(missing)
    azure.filesystem().pipe("test-container/none.csv", CSV.encode())
    wrong = azure.connection_string.replace(ACCOUNT_KEY, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==")
    denied = run(local, "azure", {**base, "connectionString": wrong})
    assert "403 (Forbidden)" in error_of(denied)
    garbled = run(local, "azure", {**base, "connectionString": "AccountName=x;AccountKey"})
    assert error_of(garbled).startswith("Unable to parse Azure blob storage connection string")


def test_the_default_server_refuses_a_loopback_blob_endpoint(api: Api, azure: Any) -> None:
    body = {
        "dataSetName": "x",
        "connectionString": azure.connection_string,
        "container": "test-container",
        "blob": "a.csv",
    }
    assert "a loopback address" in error_of(run(api, "azure", body))


def test_azure_request_problems_are_400s(api: Api) -> None:
    response = api.post("/imports/azure", json={"dataSetName": "x", "container": "c"})
    assert response.status_code == 400
    assert set(response.json()["errorDetails"]) == {"connectionString", "blob"}


# -- secrets ---------------------------------------------------------------------------------


def test_no_password_or_key_is_echoed_stored_or_logged(
    local: Api, local_server: Any, file_server: Any, azure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    file_server.add("sales.csv", CSV, "text/csv")
    azure.filesystem().pipe("test-container/sales.csv", CSV.encode())
    token = "tok3n-in-the-query"
    answers = [
        local.post(
            "/imports/url",
            json={
                "dataSetName": "sales",
                "url": file_server.url(f"/private/sales.csv?sig={token}"),
                "auth": {"basic": {"userId": USER, "password": PASSWORD}},
            },
        ).text,
        local.post(
            "/imports/azure",
            json={
                "dataSetName": "sales",
                "connectionString": azure.connection_string,
                "container": "test-container",
                "blob": "sales.csv",
            },
        ).text,
        # a failing one too: its error message must not carry them either
        local.post(
            "/imports/url",
            json={
                "dataSetName": "x",
                "url": file_server.url(f"/files/none.csv?sig={token}"),
                "auth": {"basic": {"userId": USER, "password": PASSWORD}},
            },
        ).text,
    ]
    for answer in answers:
        local.wait(json.loads(answer)["importId"])
    answers.append(local.get("/imports").text)
    secrets = (PASSWORD, ACCOUNT_KEY, token)
    for text in answers:
        assert not any(secret in text for secret in secrets), text
    assert not any(secret in caplog.text for secret in secrets)
    local_server.stop()  # the store's files, written through
    for path in Path(local_server.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret.encode() in data for secret in secrets), path


def test_a_secret_holding_import_cut_off_by_a_restart_asks_to_be_started_again(
    s3: Any, tmp_path: Path
) -> None:
    from nexosis_pandas.server import ReferenceServer
    from nexosis_pandas.server.store import Store

    data_dir = tmp_path / "restarted"
    data_dir.mkdir()
    store = Store(data_dir)  # as a server that stopped right after accepting them left it
    ids = {"url": str(uuid.uuid4()), "azure": str(uuid.uuid4())}
    for kind, parameters in (
        ("url", {"url": "https://example.com/"}),
        ("azure", {"connectionString": "redacted", "container": "c", "blob": "a.csv"}),
    ):
        store.create_import(
            import_id=ids[kind],
            dataset_name="x",
            parameters=parameters,
            columns={},
            content_type=None,
            import_type=kind,
        )
    store.close()
    with ReferenceServer(
        data_dir=data_dir, api_keys=["k"], s3_endpoint_url=s3.endpoint_url
    ) as server:
        api = Api(server)
        url_message = error_of(api.wait(ids["url"]))
        azure_message = error_of(api.wait(ids["azure"]))
    assert "address and password are held in memory only, never stored" in url_message
    assert "connection string is held in memory only" in azure_message
    assert url_message.endswith("start it again")


def test_the_official_python_clients_bodies_succeed(
    local: Api, file_server: Any, azure: Any
) -> None:
    # nexosisapi's imports.import_from_url / import_from_azure send exactly these bodies
    # (its import_from_azure sends "columns": null when no metadata is given).
    url = file_server.add("sales", CSV, "application/octet-stream")
    done = run(local, "url", {"dataSetName": "from-url", "url": url, "contentType": "csv"})
    assert done["status"] == "completed", done
    azure.filesystem().pipe("test-container/in/sales.csv", CSV.encode())
    body = {
        "dataSetName": "from-azure",
        "connectionString": azure.connection_string,
        "container": "test-container",
        "blob": "in/sales.csv",
        "columns": None,
    }
    done = run(local, "azure", body)
    assert done["status"] == "completed", done
    assert [r["units"] for r in local.rows("from-azure")] == [3, 5]
