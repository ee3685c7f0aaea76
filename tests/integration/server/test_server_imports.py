"""Imports through the reference server, end to end: S3 (moto) → worker → dataset."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from nexosis_pandas._wire import Import, ImportStatus
from tests.integration.server.server_helpers import Api, error_of

CSV = 'id,city,note\n1,"Columbus, OH","say ""hi"""\n2,Zürich,"two\nlines"\n'


@pytest.mark.parametrize("gz", [False, True])
def test_csv_import_reads_rfc4180_fields(api: Api, put: Any, gz: bool) -> None:
    path = put("cities.csv.gz" if gz else "cities.csv", CSV, gz=gz)
    done = api.run_import("cities", path)
    assert done["status"] == "completed", done
    assert api.rows("cities") == [
        {"id": 1, "city": "Columbus, OH", "note": 'say "hi"'},
        {"id": 2, "city": "Zürich", "note": "two\nlines"},
    ]


def test_import_object_follows_the_lifecycle(api: Api, put: Any) -> None:
    put("a.csv", "x\n1\n")
    started = api.start_import("lifecycle", "a.csv", region="")
    assert started["status"] == "requested"
    assert started["type"] == "s3"
    assert started["parameters"] == {
        "bucket": "test-bucket",
        "path": "a.csv",
        "region": "us-east-1",
    }
    assert [h["status"] for h in started["statusHistory"]] == ["requested"]
    done = api.wait(started["importId"])
    response = api.get(f"/imports/{started['importId']}")
    assert response.headers["Nexosis-Import-Status"] == "Completed"
    assert [h["status"] for h in done["statusHistory"]] == ["requested", "started", "completed"]
    assert done["requestedDate"] == done["statusHistory"][0]["date"]
    rels = {link["rel"]: link["href"] for link in done["links"]}
    assert rels["self"] == f"{api.url}/imports/{started['importId']}"
    assert rels["data"] == f"{api.url}/data/lifecycle"
    # The shared wire model reads what the server writes.
    parsed = Import.from_wire(done)
    assert parsed.status is ImportStatus.COMPLETED
    assert parsed.status_history[0].date <= parsed.status_history[-1].date


@pytest.mark.parametrize("gz", [False, True])
def test_json_array_of_objects(api: Api, put: Any, gz: bool) -> None:
    rows = [{"day": "2020-01-01", "sales": 1.5, "open": True}, {"day": "2020-01-02", "sales": 2}]
    path = put("sales.json.gz" if gz else "sales.json", json.dumps(rows), gz=gz)
    done = api.run_import("sales", path)
    assert done["status"] == "completed", done
    assert done["columns"]["sales"]["dataType"] == "numeric"
    assert done["columns"]["open"]["dataType"] == "logical"
    assert done["columns"]["day"]["dataType"] == "date"
    assert api.rows("sales") == [
        {"day": "2020-01-01T00:00:00+00:00", "sales": 1.5, "open": True},
        {"day": "2020-01-02T00:00:00+00:00", "sales": 2, "open": None},
    ]


@pytest.mark.parametrize("columns_last", [False, True])
def test_json_object_with_columns_and_data(api: Api, put: Any, columns_last: bool) -> None:
    columns = {"code": {"dataType": "string", "role": "key"}, "n": {"dataType": "numericMeasure"}}
    data = [{"code": "007", "n": "1"}, {"code": "008", "n": "2"}, {"code": "007", "n": "3"}]
    body = (
        {"data": data, "columns": columns} if columns_last else {"columns": columns, "data": data}
    )
    put("codes.json", json.dumps(body, indent=2))
    done = api.run_import("codes", "codes.json")
    assert done["status"] == "completed", done
    assert done["columns"]["code"] == {
        "dataType": "string",
        "role": "key",
        "imputation": "mode",
        "aggregation": "mode",
    }
    assert done["columns"]["n"]["aggregation"] == "mean"
    # "007" stays a string (declared), and the key upserts within the file.
    assert api.rows("codes") == [{"code": "007", "n": 3}, {"code": "008", "n": 2}]


def test_content_type_overrides_the_extension(api: Api, put: Any) -> None:
    put("export.txt", "a,b\n1,2\n")
    done = api.run_import("typed", "export.txt", contentType="CSV")
    assert done["status"] == "completed", done
    assert api.rows("typed") == [{"a": 1, "b": 2}]


def test_upsert_by_key_replaces_and_appends(api: Api, put: Any) -> None:
    columns = {"id": {"dataType": "numeric", "role": "key"}}
    put("one.csv", "id,v\n1,a\n2,b\n")
    put("two.csv", "id,v\n2.0,B\n3,c\n")
    assert api.run_import("upsert", "one.csv", columns=columns)["status"] == "completed"
    done = api.run_import("upsert", "two.csv")
    assert done["status"] == "completed", done
    assert "1 appended, 1 replaced" in done["messages"][0]["message"]
    assert api.rows("upsert") == [{"id": 1, "v": "a"}, {"id": 2, "v": "B"}, {"id": 3, "v": "c"}]


def test_upsert_by_timestamp(api: Api, put: Any) -> None:
    columns = {"when": {"role": "timestamp"}}
    put("t1.csv", "when,v\n2020-01-01,1\n2020-01-02,2\n")
    put("t2.csv", "when,v\n2020-01-02T00:00:00Z,20\n2020-01-03,3\n")
    assert api.run_import("ts", "t1.csv", columns=columns)["status"] == "completed"
    assert api.run_import("ts", "t2.csv")["status"] == "completed"
    assert [r["v"] for r in api.rows("ts")] == [1, 20, 3]


def test_without_key_rows_are_appended(api: Api, put: Any) -> None:
    put("p.csv", "v\n1\n2\n")
    for _ in range(2):
        assert api.run_import("append", "p.csv")["status"] == "completed"
    assert [r["v"] for r in api.rows("append")] == [1, 2, 1, 2]


def test_logical_values_and_metadata_defaults(api: Api, put: Any) -> None:
    put("flags.csv", "flag,amount,when,words\nYes,1,2020-01-01,hello there\nOff,2,2020-01-02,x\n")
    columns = {
        "flag": {"DataType": 2},  # .NET clients sent enum values as integers
        "amount": {"dataType": "numericMeasure", "aggregation": ""},
        "words": {"dataType": "TEXT"},
        "when": None,
    }
    done = api.run_import("flags", "flags.csv", columns=columns)
    assert done["status"] == "completed", done
    assert done["columns"] == {
        "flag": {
            "dataType": "logical",
            "role": "feature",
            "imputation": "mode",
            "aggregation": "mode",
        },
        "amount": {
            "dataType": "numericMeasure",
            "role": "feature",
            "imputation": "mean",
            "aggregation": "mean",
        },
        "when": {"dataType": "date", "role": "feature", "imputation": None, "aggregation": None},
        "words": {"dataType": "text", "role": "feature", "imputation": "mode", "aggregation": None},
    }
    assert [r["flag"] for r in api.rows("flags")] == [True, False]


def test_credentials_are_used_but_never_echoed(api: Api, put: Any) -> None:
    put("c.csv", "a\n1\n")
    secret = "very-secret-value"
    started = api.start_import("creds", "c.csv", accessKeyId="AKIDEXAMPLE", secretAccessKey=secret)
    done = api.wait(started["importId"])
    assert done["status"] == "completed", done
    listing = api.get("/imports").text
    for text in (json.dumps(started), json.dumps(done), listing):
        assert secret not in text
        assert "AKIDEXAMPLE" not in text
    store = (api.server.data_dir / "nexosis.sqlite3").read_bytes()
    assert secret.encode() not in store


def test_concurrent_imports(api: Api, put: Any) -> None:
    for n in range(6):
        put(f"c{n}.csv", "k,v\n" + "".join(f"{i},{n}\n" for i in range(500)))
    columns = {"k": {"role": "key"}}
    results: list[dict[str, Any]] = []

    def run(n: int) -> None:
        dataset = "shared" if n < 3 else f"own{n}"
        results.append(api.run_import(dataset, f"c{n}.csv", columns=columns))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["status"] for r in results] == ["completed"] * 6
    summary = {d["dataSetName"]: d["rowCount"] for d in api.get("/data").json()["items"]}
    assert summary == {"shared": 500, "own3": 500, "own4": 500, "own5": 500}


# -- failures ------------------------------------------------------------------------------------
def test_missing_key_fails_naming_it(api: Api) -> None:
    message = error_of(api.run_import("nope", "folder/missing.csv"))
    assert "folder/missing.csv" in message and "does not exist" in message


def test_missing_bucket_fails_naming_it(api: Api) -> None:
    done = api.wait(
        api.post(
            "/imports/s3",
            json={"dataSetName": "nope", "bucket": "no-such-bucket", "path": "a.csv"},
        ).json()["importId"]
    )
    message = error_of(done)
    assert "bucket 'no-such-bucket' does not exist" in message


def test_unknown_content_type_fails(api: Api, put: Any) -> None:
    put("data.parquet", b"PAR1")
    message = error_of(api.run_import("nope", "data.parquet"))
    assert message.startswith("Couldn't determine the type of content (json / csv)")


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        ("short.csv", "a,b\n1,2\n3\n", "line 3: it has 1 fields but the header has 2"),
        ("quote.csv", 'a,b\n1,"x\n', "Malformed CSV at line"),
        ("typed.json", '[{"a": 1},\n {"a": {"nested": 1}}]', "line 2"),
        ("broken.json", '[{"a": 1},\n{"a" 2}]', "Malformed JSON at line 2"),
        ("latin1.csv", "a\ncaf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.csv", "", "empty"),
    ],
)
def test_malformed_file_fails_with_line(
    api: Api, put: Any, path: str, content: str | bytes, expected: str
) -> None:
    put(path, content)
    assert expected in error_of(api.run_import("bad", path))
    assert api.get("/data/bad").status_code == 404


def test_value_not_fitting_declared_type_fails(api: Api, put: Any) -> None:
    put("v.csv", "a,b\n1,x\n2,y\nthree,z\n")
    message = error_of(api.run_import("bad", "v.csv", columns={"a": {"dataType": "numeric"}}))
    assert "line 4" in message and "'three'" in message and "numeric" in message


def test_failed_import_changes_nothing(api: Api, put: Any) -> None:
    columns = {"k": {"dataType": "numeric", "role": "key"}, "v": {"dataType": "numeric"}}
    put("good.csv", "k,v\n1,10\n2,20\n")
    assert api.run_import("atomic", "good.csv", columns=columns)["status"] == "completed"
    # More rows than one staging batch, all valid but the last: nothing may land.
    lines = "".join(f"{i},{i}\n" for i in range(1, 30_000)) + "30000,oops\n"
    put("bad.csv.gz", "k,v\n" + lines, gz=True)
    message = error_of(api.run_import("atomic", "bad.csv.gz"))
    assert "line 30001" in message
    assert api.rows("atomic") == [{"k": 1, "v": 10}, {"k": 2, "v": 20}]
    staging = list((api.server.data_dir / "staging").iterdir())
    assert staging == []


def test_access_denied_fails_naming_it(api: Api, put: Any, s3: Any) -> None:
    put("private.csv", "a\n1\n")
    # moto checks credentials only once told to; restore its default afterwards.
    requests.post(f"{s3.endpoint_url}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        done = api.run_import(
            "private", "private.csv", accessKeyId="AKIAWRONG", secretAccessKey="x"
        )
    finally:
        requests.post(f"{s3.endpoint_url}/moto-api/reset-auth", data=b"inf", timeout=10)
    message = error_of(done)
    assert "Access denied reading s3://test-bucket/private.csv" in message
    assert "AKIAWRONG" not in json.dumps(done)
