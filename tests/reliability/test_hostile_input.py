"""Hostile and odd requests: names, filters, bodies and content types.

Every answer is 2xx or an error envelope below 500; user input never reaches SQL text (every
statement the store runs is recorded); nothing is written outside the data directory.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from nexosis_pandas._client import Client
from nexosis_pandas.exceptions import BadRequestError
from nexosis_pandas.server import ReferenceServer
from tests.reliability.reliability_helpers import BUCKET, fast_client, put_csv

pytestmark = pytest.mark.reliability

MARK = "ZQXJ"  # in every hostile value, so it can be looked for in SQL text
NAMES = [
    f"{MARK} quote's",
    f'{MARK} double"quote',
    f"{MARK}'); DROP TABLE datasets; --",
    f"{MARK} OR 1=1",
    f"../../{MARK}/etc/passwd",
    f"{MARK}/nested/name",
    f"{MARK} 名前 ünïcödé 🚀",
    f"{MARK} %2F%00 ?query#fragment&x=1",
    f"{MARK} back\\slash",
    f" {MARK} spaced ",
    MARK + "L" * 995,
]


class RecordingConnection(sqlite3.Connection):
    """A connection that keeps the text of every statement it runs (before binding)."""

    statements: ClassVar[list[str]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def _record(self, sql: str) -> None:
        with self.lock:
            self.statements.append(sql)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._record(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._record(sql)
        return super().executemany(sql, *args)

    def executescript(self, sql: str) -> sqlite3.Cursor:
        self._record(sql)
        return super().executescript(sql)


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.fixture
def server(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReferenceServer]:
    """A reference server whose store's statements are recorded; checks its files afterwards."""
    RecordingConnection.statements = []
    monkeypatch.setattr(
        sqlite3, "connect", functools.partial(sqlite3.connect, factory=RecordingConnection)
    )
    root = tmp_path / "sandbox"
    data_dir = root / "data"
    root.mkdir()
    (root / "neighbour.txt").write_text("untouched")
    with ReferenceServer(
        data_dir=data_dir,
        api_keys=["key"],
        s3_endpoint_url=s3.endpoint_url,
        s3_storage_options=s3.storage_options,
    ) as running:
        yield running
    assert RecordingConnection.statements, "no statement was recorded"
    leaked = [sql for sql in RecordingConnection.statements if MARK in sql]
    assert leaked == [], "user input reached SQL text"
    written = _files(root) - {Path("neighbour.txt"), Path("data")}
    assert all(p.parts[0] == "data" for p in written), written
    inside = {p.relative_to("data") for p in written}
    allowed = {
        "nexosis.sqlite3",
        "nexosis.sqlite3-wal",
        "nexosis.sqlite3-shm",
        "server.lock",
        "staging",
        "segments",
    }
    named_by_us = re.compile(r"segments/[0-9a-f]{32}\.arrow")  # never a name from a request
    assert {str(p) for p in inside if not named_by_us.fullmatch(str(p))} <= allowed, inside
    assert list((data_dir / "staging").iterdir()) == []
    assert (root / "neighbour.txt").read_text() == "untouched"


@pytest.fixture
def client(server: ReferenceServer) -> Iterator[Client]:
    with fast_client(server.url, "key") as made:
        yield made


@pytest.fixture
def http(server: ReferenceServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["api-key"] = "key"
        yield session


def assert_envelope(response: requests.Response, status: int | None = None) -> dict[str, Any]:
    """A JSON error envelope below 500, with the status it says."""
    assert response.status_code < 500, response.text[:500]
    if status is not None:
        assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["statusCode"] == response.status_code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_hostile_dataset_names_round_trip(client: Client, s3fs_fs: Any) -> None:
    put_csv(s3fs_fs, "names.csv", 3)
    jobs = [client.import_from_s3(name, BUCKET, "names.csv") for name in NAMES]
    for job in jobs:
        job.wait(timeout=120, poll_interval=0.02, progress=False)
    assert sorted(client.list_datasets()) == sorted(NAMES)
    for name in NAMES:
        frame = client.read_dataset(name)
        assert frame["id"].tolist() == [0, 1, 2], name
        history = client.import_history(dataset_name=name)
        assert history["dataset_name"].tolist() == [name]
    for name in NAMES:
        client.delete_dataset(name)
    assert client.list_datasets() == []
    assert len(client.import_history()) == len(NAMES)


def test_names_that_cannot_be_datasets_are_refused(client: Client, http: requests.Session) -> None:
    with pytest.raises(BadRequestError, match="at most 1000 characters"):
        client.import_from_s3("x" * 1001, BUCKET, "a.csv")
    for value in ("", None, 5, ["a"], {"a": 1}):
        body = {"dataSetName": value, "bucket": BUCKET, "path": "a.csv"}
        response = http.post(f"{client.base_url}/imports/s3", json=body, timeout=30)
        assert "dataSetName" in assert_envelope(response, 400)["errorDetails"]
    response = http.put(f"{client.base_url}/data/{'y' * 1001}", json={"data": []}, timeout=30)
    assert_envelope(response, 400)
    assert client.import_history().empty


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"requestedAfterDate": f"2024-01-01' OR 1=1 -- {MARK}"}, "requestedAfterDate"),
        ({"requestedBeforeDate": "99999-99-99"}, "requestedBeforeDate"),
        ({"requestedAfterDate": "2024-01-01T00:00:00+25:00"}, "requestedAfterDate"),
        ({"sortBy": f"requested_date; DROP TABLE imports; {MARK}"}, "sortBy"),
        ({"sortOrder": f"desc, (SELECT 1) {MARK}"}, "sortOrder"),
        ({"page": "-1"}, "page"),
        ({"page": str(10**30)}, "page"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "100000"}, "pageSize"),
        ({"pageSize": "1e3"}, "pageSize"),
    ],
)
def test_hostile_filters_are_refused_with_the_field_named(
    client: Client, http: requests.Session, params: dict[str, str], field: str
) -> None:
    response = http.get(f"{client.base_url}/imports", params=params, timeout=30)
    assert field in assert_envelope(response, 400)["errorDetails"]


def test_hostile_filters_that_are_just_values_match_nothing(
    client: Client, http: requests.Session, s3fs_fs: Any
) -> None:
    put_csv(s3fs_fs, "f.csv", 1)
    client.import_from_s3("plain", BUCKET, "f.csv").wait(timeout=60, progress=False)
    for value in (f"' OR '1'='1 {MARK}", f"%{MARK}%", "%", "_", "*"):
        assert client.import_history(dataset_name=value).empty
        listed = http.get(f"{client.base_url}/data", params={"partialName": value}, timeout=30)
        assert listed.status_code == 200 and listed.json()["items"] == []
    response = http.get(f"{client.base_url}/imports/'; DROP TABLE imports; --{MARK}", timeout=30)
    assert "importId" in assert_envelope(response, 400)["errorDetails"]
    assert len(client.import_history()) == 1 and client.list_datasets() == ["plain"]


BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("truncated", b'{"dataSetName": "a", "bucket":', "application/json"),
    ("not utf-8", b'{"dataSetName": "\xff\xfe"}', "application/json"),
    ("a json array", b"[1, 2, 3]", "application/json"),
    ("a json string", b'"hello"', "application/json"),
    ("nested 100k deep", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ("20 MB of name", b'{"dataSetName": "' + b"a" * 20_000_000 + b'"}', "application/json"),
    ("plain text", b"dataSetName=a&bucket=b&path=c", "text/plain"),
    ("a form", b"dataSetName=a&bucket=b&path=c", "application/x-www-form-urlencoded"),
    ("xml", b"<import><dataSetName>a</dataSetName></import>", "application/xml"),
    ("gzip bytes", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", "application/octet-stream"),
    ("empty", b"", "application/json"),
]
BAD_IDS = [what for what, _, _ in BAD_BODIES]


@pytest.mark.parametrize(("what", "body", "content_type"), BAD_BODIES, ids=BAD_IDS)
def test_malformed_import_requests_get_a_400_envelope(
    client: Client, http: requests.Session, what: str, body: bytes, content_type: str
) -> None:
    response = http.post(
        f"{client.base_url}/imports/s3",
        data=body,
        headers={"content-type": content_type},
        timeout=60,
    )
    envelope = assert_envelope(response, 400)
    assert envelope["errorType"] == "RequestValidation"
    assert client.import_history().empty


@pytest.mark.parametrize(("what", "body", "content_type"), BAD_BODIES, ids=BAD_IDS)
def test_malformed_dataset_bodies_get_a_400_envelope(
    client: Client, http: requests.Session, what: str, body: bytes, content_type: str
) -> None:
    if content_type == "text/plain":
        content_type = "text/csv"  # a CSV body with a header and no rows is a valid upload
        body = b"a,a\n1,2\n"
    response = http.put(
        f"{client.base_url}/data/{MARK}", data=body, headers={"content-type": content_type}
    )
    assert_envelope(response, 400)
    assert client.list_datasets() == []


def test_a_20_mb_dataset_body_is_loaded(client: Client, http: requests.Session) -> None:
    rows = [{"id": i, "text": f"{MARK} 'quoted' \"row\" {i} " + "x" * 60} for i in range(200_000)]
    body = json.dumps({"data": rows}).encode()
    assert len(body) > 20_000_000
    response = http.put(
        f"{client.base_url}/data/{MARK} big",
        data=body,
        headers={"content-type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["rowCount"] == 200_000
    page = http.get(
        f"{client.base_url}/data/{MARK} big", params={"page": 199, "pageSize": 1000}, timeout=30
    ).json()
    assert page["data"][-1] == rows[-1]


def test_unknown_paths_methods_and_keys_answer_with_the_envelope(
    client: Client, http: requests.Session
) -> None:
    base = client.base_url
    assert_envelope(http.get(f"{base}/nothing/here", timeout=30), 404)
    assert_envelope(http.patch(f"{base}/imports", timeout=30), 405)
    assert_envelope(http.delete(f"{base}/imports/s3", timeout=30), 405)
    for key in ("", "wrong", "k" * 100_000, "ключ".encode()):
        response = requests.get(f"{base}/imports", headers={"api-key": key}, timeout=30)
        assert_envelope(response, 401)
