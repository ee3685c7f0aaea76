"""The columnar store seen from outside: bulk reads, date filters, progress, start-up clean-up."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import requests

from nexosis_pandas._client import ARROW_STREAM, Client
from nexosis_pandas._frames import dataset_frame
from nexosis_pandas._wire import ImportStatus
from nexosis_pandas.server.loading import load_rows
from nexosis_pandas.server.store import Store
from tests.integration.server.server_helpers import Api

CSV = (
    "code,when,amount,flag,note\n"
    '08123,2020-01-01,1.5,Yes,"a, b"\n'
    "00042,2020-01-02T03:04:05Z,2,no,\n"
    ',2020-01-03 00:00:00+01:00,,,"say ""hi"""\n'
)


def test_bulk_read_equals_the_json_pages(api: Api, put: Any) -> None:
    put("mixed.csv", CSV)
    done = api.run_import("mixed", "mixed.csv", columns={"when": {"role": "timestamp"}})
    assert done["status"] == "completed", done
    assert done["columns"]["code"]["dataType"] == "string"  # leading zeros: a code
    response = api.get("/data/mixed", headers={"Accept": ARROW_STREAM})
    assert response.headers["Content-Type"] == ARROW_STREAM
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.column("code").to_pylist() == ["08123", "00042", None]
    assert json.loads(table.schema.metadata[b"nexosis.columns"]) == done["columns"]

    client = Client(api_key=api.server.api_key, base_url=api.url)
    bulk = client.read_dataset("mixed")
    page = api.get("/data/mixed", params={"pageSize": 1000}).json()
    pd.testing.assert_frame_equal(bulk, dataset_frame(page["data"], page["columns"]))
    assert bulk["code"].tolist() == ["08123", "00042", None] or bulk["code"].isna().iloc[2]


class JsonOnlySession(requests.Session):
    """A session to a server that only speaks JSON: it drops the Accept header it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        self.sent.append(dict(headers))
        headers.pop("Accept", None)
        return super().request(method, url, headers=headers, **kwargs)


def test_a_server_without_the_bulk_format_is_read_page_by_page(api: Api, put: Any) -> None:
    put("plain.csv", "k,v\n" + "".join(f"{i},{i * 2}\n" for i in range(2500)))
    assert api.run_import("plain", "plain.csv")["status"] == "completed"
    session = JsonOnlySession()
    client = Client(api_key=api.server.api_key, base_url=api.url, session=session)
    frame = client.read_dataset("plain")
    assert frame["v"].tolist() == [i * 2 for i in range(2500)]
    assert ARROW_STREAM in session.sent[0]["Accept"]
    assert len(session.sent) == 3  # the first JSON page is used, not asked for again


def test_date_filters_on_the_timestamp_column(api: Api, put: Any) -> None:
    put("days.csv", "day,v\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 11)))
    assert (
        api.run_import("days", "days.csv", columns={"day": {"role": "timestamp"}})["status"]
        == "completed"
    )
    window = {"startDate": "2020-01-03", "endDate": "2020-01-05T00:00:00Z", "pageSize": 2}
    first = api.get("/data/days", params=window).json()
    assert [r["v"] for r in first["data"]] == [3, 4]
    assert first["totalCount"] == 3
    second = api.get("/data/days", params={**window, "page": 1}).json()
    assert [r["v"] for r in second["data"]] == [5]
    bulk = api.get("/data/days", params=window, headers={"Accept": ARROW_STREAM})
    assert pa.ipc.open_stream(bulk.content).read_all().column("v").to_pylist() == ["3", "4", "5"]

    backwards = api.get("/data/days", params={"startDate": "2020-02-01", "endDate": "2020-01-01"})
    assert backwards.status_code == 400
    assert backwards.json()["errorType"] == "InvalidDateRange"
    put("plain.csv", "v\n1\n")
    assert api.run_import("plain", "plain.csv")["status"] == "completed"
    untimed = api.get("/data/plain", params={"startDate": "2020-01-01"})
    assert untimed.status_code == 400
    assert "no timestamp column" in untimed.json()["errorDetails"]["startDate"][0]


def test_an_import_shows_how_far_it_read(api: Api, put: Any) -> None:
    put("rows.csv", "k\n" + "".join(f"{i}\n" for i in range(1000)))
    done = api.run_import("rows", "rows.csv")
    assert done["rowsRead"] == 1000
    assert done["bytesRead"] == done["bytesTotal"] > 0


def test_quotes_arrow_would_accept_are_still_refused(api: Api, put: Any) -> None:
    lines = "".join(f"{i},plain\n" for i in range(50_000))
    put("late.csv", f'a,b\n{lines}1,"x"y\n')
    done = api.run_import("late", "late.csv")
    assert done["status"] == "failed"
    assert "Malformed CSV at line 50002" in done["messages"][-1]["message"]
    assert api.get("/data/late").status_code == 404


@pytest.mark.parametrize(
    ("header", "name", "passes"),
    [
        ('"id","name","day"', "name", 1),  # as nexosis-pandas writes it: one pass, Arrow's
        ('"id","a ""quoted"" name","day"', 'a "quoted" name', 1),
        ('"id","two\nlines","day"', "two\nlines", 2),  # across lines: read again, exactly
    ],
)
def test_a_quoted_header_is_read_on_the_fast_path(
    tmp_path: Any, header: str, name: str, passes: int
) -> None:
    store = Store(tmp_path)
    body = "".join(f'{i},"n{i}","2024-01-0{i % 9 + 1}T00:00:00+00:00"\n' for i in range(1000))
    opened: list[int] = []

    def open_binary() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(f"{header}\n{body}".encode())

    load_rows(store, dataset_name="q", columns={}, open_binary=open_binary, kind="csv")
    dataset = store.get_dataset("q")
    assert dataset is not None
    last = store.dataset_rows(dataset.id, offset=999, limit=1)
    assert last == [{"id": "999", name: "n999", "day": "2024-01-01T00:00:00+00:00"}]
    assert len(opened) == passes
    store.close()


def test_files_no_dataset_lists_are_removed_at_start(tmp_path: Any) -> None:
    store = Store(tmp_path)
    load_rows(
        store,
        dataset_name="kept",
        columns={},
        open_binary=lambda: io.BytesIO(b"a\n1\n"),
        kind="csv",
    )
    kept = sorted(p.name for p in store.segments_dir.iterdir())
    store.close()
    (tmp_path / "segments" / "0123.arrow.tmp").write_bytes(b"half")
    (tmp_path / "segments" / f"{'f' * 32}.arrow").write_bytes(b"orphan")
    (tmp_path / "staging" / "left.arrow").write_bytes(b"staged")
    again = Store(tmp_path)
    assert sorted(p.name for p in again.segments_dir.iterdir()) == kept
    assert list(again.staging_dir.iterdir()) == []
    dataset = again.get_dataset("kept")
    assert dataset is not None
    assert again.dataset_rows(dataset.id, offset=0, limit=10) == [{"a": "1"}]
    again.close()


def test_the_last_page_of_a_large_dataset(tmp_path: Any) -> None:
    store = Store(tmp_path)
    rows = 200_000
    data = "k,v\n" + "".join(f"{i},v{i}\n" for i in range(rows))
    load_rows(
        store,
        dataset_name="big",
        columns={"k": {"role": "key"}},
        open_binary=lambda: io.BytesIO(data.encode()),
        kind="csv",
    )
    dataset = store.get_dataset("big")
    assert dataset is not None
    last = store.dataset_rows(dataset.id, offset=rows - 3, limit=1000)
    assert last == [{"k": str(i), "v": f"v{i}"} for i in range(rows - 3, rows)]
    across = store.dataset_rows(dataset.id, offset=65_530, limit=10)  # two record batches
    assert [r["k"] for r in across] == [str(i) for i in range(65_530, 65_540)]
    store.close()


def _upserted_rows(tmp_path: Any, name: str) -> list[dict[str, Any]]:
    store = Store(tmp_path / name)
    files = [
        "k,t,v\n1,2024-01-01,a\n2,2024-01-01,b\n3,2024-01-02,c\n2,2024-01-01,b2\n",
        "k,t,v\n3,2024-01-02,C\n4,2024-01-03,d\n1,2024-01-01 00:00:00,A\n5,,e\n4,2024-01-03,D\n",
        "v,k\nx,6\ny,5\n",
        "k,t,v\n",  # no rows: nothing changes
    ]
    for text in files:
        load_rows(
            store,
            dataset_name="keyed",
            columns={"k": {"role": "key"}, "t": {"role": "timestamp"}},
            open_binary=lambda text=text: io.BytesIO(text.encode()),  # type: ignore[misc]
            kind="csv",
        )
    dataset = store.get_dataset("keyed")
    assert dataset is not None
    rows = store.dataset_rows(dataset.id, offset=0, limit=100)
    store.close()
    return rows


def test_keys_that_share_a_hash_are_still_told_apart(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from nexosis_pandas.server.store import upsert

    expected = _upserted_rows(tmp_path, "hashed")
    assert [r["v"] for r in expected] == ["A", "b2", "C", "D", "y", "x"]
    hashes = upsert._key_hashes

    def few_hashes(keys: Any) -> Any:
        return hashes(keys) % 2  # distinct keys collide, in the staged rows and across

    monkeypatch.setattr(upsert, "_key_hashes", few_hashes)
    assert _upserted_rows(tmp_path, "few") == expected
    monkeypatch.setattr(upsert, "_key_hashes", lambda keys: np.zeros(len(keys), np.int64))
    assert _upserted_rows(tmp_path, "one") == expected


def test_integer_keys_beyond_float64_stay_apart(tmp_path: Any) -> None:
    store = Store(tmp_path)
    big, huge = 2**53, 2**64 - 2
    files = [
        f"k,v\n{big},a\n{big + 1},b\n{huge},c\n{huge + 1},d\n",
        f"k,v\n{big + 1},B\n{huge},C\n",
    ]
    for text in files:
        load_rows(
            store,
            dataset_name="big-keys",
            columns={"k": {"role": "key", "dataType": "numeric"}},
            open_binary=lambda text=text: io.BytesIO(text.encode()),  # type: ignore[misc]
            kind="csv",
        )
    dataset = store.get_dataset("big-keys")
    assert dataset is not None
    rows = store.dataset_rows(dataset.id, offset=0, limit=10)
    store.close()
    assert [r["v"] for r in rows] == ["a", "B", "C", "d"]


class RecordingSession(requests.Session):
    """A session that keeps the media type of every answer."""

    def __init__(self) -> None:
        super().__init__()
        self.types: list[str] = []

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, **kwargs: Any
    ) -> requests.Response:
        response = super().request(method, url, **kwargs)
        self.types.append(response.headers.get("Content-Type", ""))
        return response


def test_the_history_in_one_arrow_answer_is_the_history_of_the_pages(api: Api, put: Any) -> None:
    put("ok.csv", "k,v\n1,a\n2,b\n")
    put("bad.csv", 'k,v\n1,"x"y\n')
    put("late.csv", "k,v\n3,c\n")
    assert api.run_import("one", "ok.csv")["status"] == "completed"
    assert api.run_import("two", "bad.csv")["status"] == "failed"
    assert api.run_import("one", "late.csv", columns={"k": {"role": "key"}})["status"]
    assert api.run_import("two", "missing.csv")["status"] == "failed"
    store = api.server._store
    for n in (1, 2):  # never started (no dates but its own), and failed with two errors
        store.create_import(
            import_id=f"00000000-0000-4000-8000-00000000abc{n}",
            dataset_name="three",
            parameters={"url": "https://example.com/x.csv"},
            columns={},
            content_type=None,
        )
    messages = [("error", "first"), ("warning", "note"), ("error", "second")]
    store.set_status("00000000-0000-4000-8000-00000000abc2", ImportStatus.FAILED, messages=messages)
    session = RecordingSession()
    bulk = Client(api_key=api.server.api_key, base_url=api.url, session=session)
    paged = Client(api_key=api.server.api_key, base_url=api.url, session=JsonOnlySession())
    for kwargs in (
        {},
        {"page_size": 2},
        {"limit": 3, "sort_by": "requested_date", "sort_order": "desc"},
        {"dataset_name": "two"},
    ):
        session.types.clear()
        frame = bulk.import_history(**kwargs)
        assert session.types == [ARROW_STREAM], kwargs  # one answer, whatever the page size
        pd.testing.assert_frame_equal(frame, paged.import_history(**kwargs))
    everything = bulk.import_history()
    assert everything["status"].tolist() == [
        *["completed", "failed"] * 2,
        *["requested", "failed"],
    ]
    assert everything["error"].tolist()[4:] == ["", "first; second"]
    assert everything["n_messages"].tolist() == [1, 1, 1, 1, 0, 3]
    assert everything["url"].tolist()[4:] == ["https://example.com/x.csv"] * 2
    assert everything["started"].isna().tolist() == [False] * 4 + [True] * 2
    assert everything["finished"].isna().tolist() == [False] * 4 + [True, False]
