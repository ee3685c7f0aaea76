"""An import whose object is missing says what happened, by what the bucket shows.

Over moto's S3 server and the reference server on loopback: an upload still open, a key that
was deleted (or never written), a mistyped key beside the real one, and a missing bucket.
"""

from __future__ import annotations

from typing import Any

from tests.integration.server.server_helpers import BUCKET, Api, error_of


def test_an_unfinished_upload_is_named_as_such(api: Api, s3fs_fs: Any) -> None:
    s3fs_fs.call_s3("create_multipart_upload", Bucket=BUCKET, Key="in/pending.csv")
    message = error_of(api.run_import("pending", "in/pending.csv"))
    assert "'in/pending.csv' does not exist in bucket 'test-bucket'" in message
    assert "its upload started but has not finished" in message
    assert "check the path" not in message


def test_a_deleted_object_is_not_blamed_on_the_path(api: Api, put: Any, s3fs_fs: Any) -> None:
    put("nexosis/sales-3f2a.csv.gz", "a\n1\n", gz=True)
    put("nexosis/other.csv", "a\n1\n")
    s3fs_fs.rm(f"{BUCKET}/nexosis/sales-3f2a.csv.gz")
    message = error_of(api.run_import("gone", "nexosis/sales-3f2a.csv.gz"))
    assert "'nexosis/sales-3f2a.csv.gz' does not exist in bucket 'test-bucket'" in message
    assert "it may have been deleted, or never finished uploading" in message
    assert "check the path" not in message


def test_a_mistyped_key_names_the_one_beside_it(api: Api, put: Any) -> None:
    put("data/Sales.csv", "a\n1\n")
    message = error_of(api.run_import("typo", "data/sales.csv"))
    assert "'data/sales.csv' does not exist in bucket 'test-bucket'" in message
    assert "check the path: 'data/Sales.csv' exists" in message
    message = error_of(api.run_import("typo", "data/Sale.csv"))
    assert "check the path: 'data/Sales.csv' exists" in message


def test_a_missing_bucket_is_named(api: Api) -> None:
    body = {"dataSetName": "nobucket", "bucket": "no-such-bucket", "path": "a.csv"}
    response = api.post("/imports/s3", json=body)
    assert response.status_code == 200, response.text
    message = error_of(api.wait(response.json()["importId"]))
    assert "The bucket 'no-such-bucket' does not exist" in message
