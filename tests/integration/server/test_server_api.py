"""The reference server's HTTP surface: every endpoint, every error envelope, the headers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from tests.integration.server.server_helpers import Api

ACCOUNT_HEADERS = [
    f"Nexosis-Account-{kind}Count-{which}"
    for kind in ("DataSet", "Prediction", "Session")
    for which in ("Allotted", "Current")
]


def assert_envelope(
    response: requests.Response, status: int, error_type: str | None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert body.get("errorType") == error_type
    for header in ACCOUNT_HEADERS:
        assert header in response.headers
    return body


# -- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "", "wrong-key", "test-api-key-and-more"])
def test_missing_or_wrong_key_is_401(reference_server: Any, key: str | None) -> None:
    headers = {} if key is None else {"api-key": key}
    for method, path in [("GET", "/imports"), ("POST", "/imports/s3"), ("GET", "/nowhere")]:
        response = requests.request(
            method, reference_server.url + path, headers=headers, timeout=10
        )
        body = assert_envelope(response, 401, None)
        assert body["message"].startswith("Access denied due to invalid subscription key.")


def test_several_keys_are_accepted(s3: Any, tmp_path: Any) -> None:
    from nexosis_pandas.server import ReferenceServer

    with ReferenceServer(data_dir=tmp_path, api_keys=["one", "two"]) as server:
        assert server.api_key == "one"
        for key in ("one", "two"):
            response = requests.get(f"{server.url}/imports", headers={"api-key": key}, timeout=10)
            assert response.status_code == 200


def test_key_from_environment_or_generated(monkeypatch: Any, tmp_path: Any) -> None:
    from nexosis_pandas.server import ReferenceServer

    monkeypatch.setenv("NEXOSIS_API_KEY", "from-env")
    server = ReferenceServer(data_dir=tmp_path)
    assert (server.api_key, server.api_key_generated) == ("from-env", False)
    monkeypatch.delenv("NEXOSIS_API_KEY")
    generated = ReferenceServer(data_dir=tmp_path)
    assert generated.api_key_generated and len(generated.api_key) >= 24
    assert generated.api_key != ReferenceServer(data_dir=tmp_path).api_key


# -- error envelopes -----------------------------------------------------------------------------
def test_unknown_path_and_wrong_method(api: Api) -> None:
    body = assert_envelope(api.get("/no/such/thing"), 404, "NotFound")
    assert body["errorDetails"]["itemId"] == "/v1/no/such/thing"
    response = api.delete("/imports")
    assert_envelope(response, 405, "MethodNotAllowed")
    assert response.headers["Allow"] == "GET"
    assert_envelope(api.get("/imports/s3"), 400, "RequestValidation")  # "s3" is no GUID
    assert_envelope(api.session.patch(api.url + "/data/x", timeout=10), 405, "MethodNotAllowed")


def test_post_validation_errors(api: Api) -> None:
    body = assert_envelope(api.post("/imports/s3", json={"bucket": "b"}), 400, "RequestValidation")
    assert body["message"] == "Request is invalid"
    assert body["errorDetails"] == {
        "dataSetName": ["The dataSetName field is required."],
        "path": ["The path field is required."],
    }
    body = assert_envelope(
        api.post("/imports/s3", data="{not json", headers={"Content-Type": "application/json"}),
        400,
        "RequestValidation",
    )
    assert list(body["errorDetails"]) == ["body"]
    assert "not valid JSON" in body["errorDetails"]["body"][0]
    body = assert_envelope(api.post("/imports/s3", json=[1, 2]), 400, "RequestValidation")
    assert list(body["errorDetails"]) == ["body"]
    body = assert_envelope(
        api.post(
            "/imports/s3",
            json={"dataSetName": "d", "bucket": "b", "path": "p", "contentType": "xml"},
        ),
        400,
        "RequestValidation",
    )
    assert "contentType" in body["errorDetails"]
    body = assert_envelope(
        api.post(
            "/imports/s3",
            json={"dataSetName": "d", "bucket": "b", "path": "p", "accessKeyId": "AK"},
        ),
        400,
        "RequestValidation",
    )
    assert "secretAccessKey" in body["errorDetails"]


def test_invalid_column_metadata_is_reported_per_column(api: Api) -> None:
    columns = {
        "a": {"dataType": "bogus"},
        "b": {"role": "target"},
        "c": {"role": "target", "dataType": "string", "aggregation": "sum"},
        "d": {"dataType": "date", "imputation": "mean"},
        "e": {"dataType": 42},
        "f": "numeric",
    }
    response = api.post(
        "/imports/s3", json={"dataSetName": "d", "bucket": "b", "path": "p.csv", "columns": columns}
    )
    details = assert_envelope(response, 400, "InvalidColumnMetadata")["errorDetails"]
    assert set(details) == {"a", "b", "c", "d", "e", "f"}
    assert "bogus" in details["a"][0]
    assert any("Only one column may have the role target" in r for r in details["b"])
    assert any("sum needs a numeric column" in r for r in details["c"])
    assert "date column has no imputation" in details["d"][0]
    assert "enum index" in details["e"][0]
    assert api.get("/imports").json()["totalCount"] == 0


def test_get_import_errors(api: Api) -> None:
    body = assert_envelope(api.get("/imports/not-a-guid"), 400, "RequestValidation")
    assert body["errorDetails"] == {"importId": ["The value 'not-a-guid' is not valid for Guid."]}
    missing = str(uuid.uuid4())
    body = assert_envelope(api.get(f"/imports/{missing}"), 404, "NotFound")
    assert body["errorDetails"] == {"itemType": "import", "itemId": missing}


def test_list_filter_errors(api: Api) -> None:
    body = assert_envelope(
        api.get("/imports", params={"requestedAfterDate": "yesterday-ish"}), 400, "InvalidDateRange"
    )
    assert "requestedAfterDate" in body["errorDetails"]
    assert_envelope(
        api.get(
            "/imports",
            params={"requestedAfterDate": "2020-02-01", "requestedBeforeDate": "2020-01-01"},
        ),
        400,
        "InvalidDateRange",
    )
    for params in ({"pageSize": 1001}, {"page": -1}, {"pageSize": "many"}, {"sortBy": "size"}):
        body = assert_envelope(api.get("/imports", params=params), 400, "RequestValidation")
        assert set(body["errorDetails"]) == set(params)


def test_dataset_not_found(api: Api) -> None:
    for response in (api.get("/data/ghost"), api.delete("/data/ghost")):
        body = assert_envelope(response, 404, "NotFound")
        assert body["errorDetails"] == {"itemType": "dataSet", "itemId": "ghost"}


# -- leniency ------------------------------------------------------------------------------------
def test_case_insensitive_paths_properties_and_query(api: Api, put: Any) -> None:
    put("a.csv", "x\n1\n")
    response = api.session.post(
        api.url.replace("/v1", "/V1") + "/Imports/S3/",
        json={
            "DATASETNAME": "Mixed",
            "Bucket": "test-bucket",
            "PATH": "a.csv",
            "Region": None,
            "Columns": None,
            "ContentType": "",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    import_id = response.json()["importId"]
    done = api.wait(import_id.upper())
    assert done["status"] == "completed"
    listed = api.get("/IMPORTS", params={"DataSetName": "Mixed", "PAGESIZE": "1", "sortby": ""})
    assert listed.status_code == 200, listed.text
    assert [i["importId"] for i in listed.json()["items"]] == [import_id]
    assert api.get("/DATA/Mixed").json()["dataSetName"] == "Mixed"
    assert api.get("/data/mixed").status_code == 404  # dataset names are exact


# -- GET /imports --------------------------------------------------------------------------------
def test_list_imports_filters_sorting_and_paging(api: Api, put: Any) -> None:
    put("a.csv", "x\n1\n")
    ids = []
    for name in ("b-set", "a-set", "b-set"):
        ids.append(api.start_import(name, "a.csv")["importId"])
        time.sleep(0.01)
    for import_id in ids:
        api.wait(import_id)
    everything = api.get("/imports").json()
    assert [i["importId"] for i in everything["items"]] == ids
    assert (everything["pageNumber"], everything["pageSize"], everything["totalCount"]) == (
        0,
        50,
        3,
    )
    assert everything["totalPages"] == 1
    assert "Nexosis-Import-Status" not in api.get("/imports").headers
    assert [link["rel"] for link in everything["links"]] == ["self", "first", "last"]

    only_b = api.get("/imports", params={"dataSetName": "b-set"}).json()
    assert [i["importId"] for i in only_b["items"]] == [ids[0], ids[2]]

    by_name = api.get("/imports", params={"sortBy": "dataSetName", "sortOrder": "DESC"}).json()
    assert [i["dataSetName"] for i in by_name["items"]] == ["b-set", "b-set", "a-set"]
    newest = api.get("/imports", params={"sortBy": "requestedDate", "sortOrder": "desc"}).json()
    assert [i["importId"] for i in newest["items"]] == ids[::-1]

    first = everything["items"][0]["requestedDate"]
    last = everything["items"][2]["requestedDate"]
    window = api.get(
        "/imports", params={"requestedAfterDate": first, "requestedBeforeDate": first}
    ).json()
    assert [i["importId"] for i in window["items"]] == ids[:1]
    after = api.get("/imports", params={"requestedAfterDate": last}).json()
    assert [i["importId"] for i in after["items"]] == ids[2:]
    naive = api.get("/imports", params={"requestedBeforeDate": "2000-01-01T00:00:00"}).json()
    assert naive["totalCount"] == 0

    page = api.get("/imports", params={"pageSize": 2, "page": 0}).json()
    assert (page["totalPages"], len(page["items"])) == (2, 2)
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert set(rels) == {"self", "first", "next", "last"}
    following = requests.get(rels["next"], headers={"api-key": api.server.api_key}, timeout=10)
    assert [i["importId"] for i in following.json()["items"]] == ids[2:]
    assert "next" not in {link["rel"] for link in following.json()["links"]}


# -- datasets ------------------------------------------------------------------------------------
def test_put_json_then_read_json_and_csv(api: Api) -> None:
    body = {
        "columns": {
            "when": {"dataType": "date", "role": "timestamp"},
            "n": {"dataType": "numeric"},
        },
        "data": [
            {"when": "2020-01-01", "n": 1, "label": 'a "quoted", value'},
            {"when": "2020-01-02", "n": 2.5, "label": "ünïcode"},
        ],
    }
    response = api.put("/data/direct", json=body)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["dataSetName"], summary["rowCount"], summary["isTimeSeries"]) == (
        "direct",
        2,
        True,
    )
    assert summary["columns"]["label"]["dataType"] == "string"
    page = api.get("/data/direct").json()
    assert page["data"][1] == {"when": "2020-01-02T00:00:00+00:00", "n": 2.5, "label": "ünïcode"}
    assert (page["totalCount"], page["totalPages"], page["pageSize"]) == (2, 1, 50)
    text = api.get("/data/direct", headers={"Accept": "text/csv"})
    assert text.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert text.content.decode("utf-8").splitlines() == [
        '"when","n","label"',
        '"2020-01-01T00:00:00+00:00",1,"a ""quoted"", value"',
        '"2020-01-02T00:00:00+00:00",2.5,"ünïcode"',
    ]  # every text quoted, so that "" is no missing value
    # Same timestamp again: replaced, not appended.
    again = api.put("/data/direct", json={"data": [{"when": "2020-01-02", "n": 3}]})
    assert again.json()["rowCount"] == 2


def test_put_csv_body_and_errors(api: Api) -> None:
    response = api.put(
        "/data/fromcsv",
        data=b'a,b\n1,"x\ny"\n',
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert api.rows("fromcsv") == [{"a": 1, "b": "x\ny"}]
    bad = api.put("/data/fromcsv", data=b"a,b\n1\n", headers={"Content-Type": "text/csv"})
    assert "line 2" in assert_envelope(bad, 400, "RequestValidation")["errorDetails"]["data"][0]
    assert_envelope(api.put("/data/x", data=b"{oops"), 400, "RequestValidation")
    assert_envelope(api.put("/data/x", json={"rows": []}), 400, "RequestValidation")
    bad_columns = api.put("/data/x", json={"columns": {"a": {"role": "boss"}}, "data": []})
    assert assert_envelope(bad_columns, 400, "InvalidColumnMetadata")["errorDetails"]["a"]
    assert api.rows("fromcsv") == [{"a": 1, "b": "x\ny"}]


def test_dataset_paging_listing_and_delete(api: Api) -> None:
    rows = [{"i": i} for i in range(25)]
    assert api.put("/data/paged", json={"data": rows}).status_code == 200
    assert api.put("/data/other", json={"data": [{"z": 1}]}).status_code == 200
    page = api.get("/data/paged", params={"page": 2, "pageSize": 10}).json()
    assert [r["i"] for r in page["data"]] == [20, 21, 22, 23, 24]
    assert (page["pageNumber"], page["totalPages"], page["totalCount"]) == (2, 3, 25)
    listing = api.get("/data").json()
    assert [d["dataSetName"] for d in listing["items"]] == ["other", "paged"]
    assert listing["totalCount"] == 2
    assert api.get("/data", params={"partialName": "PAG"}).json()["totalCount"] == 1
    response = api.get("/imports")
    assert response.headers["Nexosis-Account-DataSetCount-Current"] in ("0", "1", "2")
    deleted = api.delete("/data/paged")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.get("/data/paged").status_code == 404
    assert [d["dataSetName"] for d in api.get("/data").json()["items"]] == ["other"]


# -- documentation -------------------------------------------------------------------------------
def test_openapi_and_offline_docs(reference_server: Any) -> None:
    root = reference_server.url.removesuffix("/v1")
    spec = requests.get(f"{root}/openapi.json", timeout=10).json()
    assert {"/v1/imports/s3", "/v1/imports/{importId}", "/v1/imports", "/v1/data"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "api-key"
    page = requests.get(f"{root}/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "cdn." not in page.text  # works without the internet
    asset = requests.get(f"{root}/docs/static/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert json.loads(json.dumps(spec))["info"]["title"].startswith("Nexosis")
