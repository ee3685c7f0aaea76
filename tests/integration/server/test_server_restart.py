"""Imports the server left unfinished are finished by the next server on the same data dir."""

from __future__ import annotations

import time
from typing import Any

import pytest

from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.server import ReferenceServer
from nexosis_pandas.server.store import Store
from tests.integration.server.server_helpers import BUCKET, Api


def _server(s3: Any, data_dir: Any, workers: int = 4) -> ReferenceServer:
    return ReferenceServer(
        data_dir=data_dir,
        api_keys=["test-api-key"],
        s3_endpoint_url=s3.endpoint_url,
        s3_storage_options=s3.storage_options,
        workers=workers,
    )


def test_requested_and_started_imports_resume(s3: Any, put: Any, tmp_path: Any) -> None:
    put("one.csv", "k,v\n1,a\n2,b\n")
    data_dir = tmp_path / "data"
    store = Store(data_dir)
    left: dict[ImportStatus, str] = {}
    for status in (ImportStatus.REQUESTED, ImportStatus.STARTED):
        record = store.create_import(
            import_id=f"0000000{len(left)}-0000-4000-8000-000000000000",
            dataset_name=f"left-{status.value}",
            parameters={"bucket": BUCKET, "path": "one.csv", "region": "us-east-1"},
            columns={},
            content_type=None,
        )
        if status is ImportStatus.STARTED:
            store.set_status(record.import_id, status)
        left[status] = record.import_id
    store.close()

    with _server(s3, data_dir) as server:
        api = Api(server)
        for status, import_id in left.items():
            done = api.wait(import_id)
            assert done["status"] == "completed", done
            assert [h["status"] for h in done["statusHistory"]] == [
                "requested",
                "started",
                "completed",
            ]
            assert api.rows(f"left-{status.value}") == [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}]
        restarted = api.get(f"/imports/{left[ImportStatus.STARTED]}").json()
        assert "started again" in restarted["messages"][0]["message"]


def test_stop_in_the_middle_of_an_import(s3: Any, put: Any, tmp_path: Any) -> None:
    rows = 1_000_000
    put("big.csv.gz", "k,v,w\n" + "".join(f"{i},{i * 3},x{i}\n" for i in range(rows)), gz=True)
    data_dir = tmp_path / "data"
    with _server(s3, data_dir, workers=1) as server:
        api = Api(server)
        import_id = api.start_import("big", "big.csv.gz", columns={"k": {"role": "key"}})[
            "importId"
        ]
        deadline = time.monotonic() + 60
        while "rowsRead" not in api.get(f"/imports/{import_id}").json():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # into the file (rows are read and staged), well before its end: stop now
    # The server stopped; nothing reached the dataset and the import waits to be resumed.
    store = Store(data_dir)
    record = store.get_import(import_id)
    assert record is not None
    assert record.status is ImportStatus.STARTED
    assert store.get_dataset("big") is None
    store.close()

    with _server(s3, data_dir) as server:
        api = Api(server)
        done = api.wait(import_id, timeout=180)
        assert done["status"] == "completed", done
        assert [h["status"] for h in done["statusHistory"]] == ["requested", "started", "completed"]
        summary = api.get("/data").json()["items"][0]
        assert (summary["dataSetName"], summary["rowCount"]) == ("big", rows)
        last = api.get("/data/big", params={"page": rows // 1000 - 1, "pageSize": 1000}).json()
        assert last["data"][-1] == {"k": rows - 1, "v": (rows - 1) * 3, "w": f"x{rows - 1}"}
    assert not any((data_dir / "staging").iterdir())


def test_workers_run_before_the_first_request(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST arriving as soon as the server listens must find the workers ready to take it."""
    from nexosis_pandas.server.pool import ImportWorker

    listening_when_workers_started: list[bool] = []
    start = ImportWorker.start

    def recording_start(worker: ImportWorker) -> None:
        listening_when_workers_started.append(server.running)
        start(worker)

    monkeypatch.setattr(ImportWorker, "start", recording_start)
    server = ReferenceServer(data_dir=tmp_path / "data", api_keys=["test-api-key"])
    with server:
        assert server.running
    assert listening_when_workers_started == [False]


def test_one_server_per_data_directory(tmp_path: Any) -> None:
    from nexosis_pandas.server import DataDirInUseError

    data_dir = tmp_path / "data"
    with ReferenceServer(data_dir=data_dir, api_keys=["test-api-key"]):
        second = ReferenceServer(data_dir=data_dir, api_keys=["test-api-key"])
        with pytest.raises(DataDirInUseError) as refused:
            second.start()
        assert not second.running
        message = str(refused.value)
        assert f"running on the data directory {data_dir}" in message
        assert "give this one another data directory" in message
    # The lock went with the server that held it.
    with ReferenceServer(data_dir=data_dir, api_keys=["test-api-key"]) as again:
        assert again.running


_SCHEMA_0_1 = """
CREATE TABLE datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, columns TEXT NOT NULL,
    row_count INTEGER NOT NULL DEFAULT 0, created_date TEXT NOT NULL, updated_date TEXT NOT NULL
);
CREATE TABLE dataset_rows (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    row_key TEXT,
    data TEXT NOT NULL
);
"""


def _data_dir_of_0_1(path: Any, rows: int) -> Any:
    import sqlite3

    path.mkdir()
    conn = sqlite3.connect(path / "nexosis.sqlite3")
    conn.executescript(_SCHEMA_0_1)
    conn.execute(
        "INSERT INTO datasets (name, columns, row_count, created_date, updated_date) "
        "VALUES ('sales', '{}', ?, 'then', 'then')",
        (rows,),
    )
    for i in range(rows):
        conn.execute(
            "INSERT INTO dataset_rows (dataset_id, row_key, data) VALUES (1, NULL, ?)",
            (f'{{"a": "{i}"}}',),
        )
    conn.commit()
    conn.close()
    return path


def test_a_data_directory_of_0_1_with_rows_is_refused_untouched(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from nexosis_pandas.cli import main
    from nexosis_pandas.server.store import OldDataDirError

    data_dir = _data_dir_of_0_1(tmp_path / "old", rows=3)
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    server = ReferenceServer(data_dir=data_dir, api_keys=["test-api-key"])
    with pytest.raises(OldDataDirError) as refused:
        server.start()
    assert not server.running
    message = str(refused.value)
    assert "3 rows of datasets ('sales')" in message
    assert "nexosis-pandas 0.1.0" in message and "nothing in it was changed" in message
    assert "another data directory" in message
    after = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name != "server.lock"}
    assert after == before
    # the lock went with the refusal; the command line says the same and fails
    assert main(["serve", "--port", "0", "--data-dir", str(data_dir)]) != 0
    assert "format of nexosis-pandas 0.1.0" in capsys.readouterr().err


def test_a_data_directory_of_0_1_without_rows_starts(tmp_path: Any) -> None:
    import sqlite3

    data_dir = _data_dir_of_0_1(tmp_path / "old", rows=0)
    with ReferenceServer(data_dir=data_dir, api_keys=["test-api-key"]) as server:
        assert server.running
    conn = sqlite3.connect(data_dir / "nexosis.sqlite3")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "dataset_rows" not in tables and "segments" in tables
