"""``""`` and a missing value stay apart through a load: both CSV paths, JSON, the store, upserts.

An unquoted empty CSV field is missing (as ``pandas.read_csv`` reads it, and as ``df.to_csv``
writes both), a quoted one (``""``, as nexosis-pandas writes an empty string) the empty text;
in a file of one column ``""`` is missing. The fast path (Arrow) and the exact path (Python's
``csv``, taken here for a header across lines) must read every file alike.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexosis_pandas.server.columns import render_value
from nexosis_pandas.server.loading import load_rows
from nexosis_pandas.server.parsing import FileFormatError, quoted_empty
from nexosis_pandas.server.store import Store

HEADERS = {"fast": ('"id","note","n"', "note", 1), "exact": ('"id","no\nte","n"', "no\nte", 2)}
"""A header as nexosis-pandas writes it (read by Arrow), and one across lines (read by ``csv``)."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "data")
    yield opened
    opened.close()


def load(store: Store, name: str, data: str, *, kind: str = "csv", **options: Any) -> int:
    """Load ``data`` into ``name``; the number of times the file was opened (1: fast path)."""
    opened: list[int] = []

    def open_binary() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(data.encode())

    load_rows(store, dataset_name=name, open_binary=open_binary, kind=kind, **options)
    return len(opened)


def rows(store: Store, name: str) -> list[dict[str, Any]]:
    dataset = store.get_dataset(name)
    assert dataset is not None
    return store.dataset_rows(dataset.id, offset=0, limit=1000)


def rendered(store: Store, name: str) -> list[dict[str, Any]]:
    dataset = store.get_dataset(name)
    assert dataset is not None
    types = {n: str(s.get("dataType") or "string") for n, s in dataset.columns.items()}
    return [{n: render_value(r.get(n), types[n]) for n in types} for r in rows(store, name)]


@pytest.mark.parametrize("path", HEADERS)
def test_a_quoted_empty_field_is_the_empty_text_and_an_unquoted_one_missing(
    store: Store, path: str
) -> None:
    header, note, passes = HEADERS[path]
    # as nexosis-pandas writes "" (quoted) and a missing value (empty), then a quote at the end
    body = '1,"",\n2,,7\n3,"x",\n4,"",""\n5,"say ""hi""",\n'
    assert load(store, "d", f"{header}\n{body}", columns={}) == passes
    assert [r[note] for r in rows(store, "d")] == ["", None, "x", "", 'say "hi"']
    assert [r["n"] for r in rendered(store, "d")] == [None, 7, None, None, None], (
        "a quoted empty field in a numeric column is missing"
    )
    assert [r[note] for r in rendered(store, "d")] == ["", None, "x", "", 'say "hi"']


@pytest.mark.parametrize("path", HEADERS)
def test_a_file_of_pandas_to_csv_has_no_empty_text(store: Store, path: str) -> None:
    header, note, passes = HEADERS[path]
    # df.to_csv writes "" and a missing value alike, as an empty field: both read back missing
    assert load(store, "p", f"{header}\n1,,\n2,x,3\n", columns={}) == passes
    assert [r[note] for r in rows(store, "p")] == [None, "x"]


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_in_a_file_of_one_column_a_quoted_empty_field_is_missing(store: Store, path: str) -> None:
    header = '"note"' if path == "fast" else '"no\nte"'
    assert load(store, "one", f'{header}\n"a"\n""\n"b"\n', columns={}) == (
        1 if path == "fast" else 2
    )
    assert [next(iter(r.values())) for r in rows(store, "one")] == ["a", None, "b"]


def test_json_keeps_the_empty_text_apart_from_null(store: Store) -> None:
    data = '[{"note": "", "n": 1}, {"note": null, "n": ""}, {"n": 2}, {"note": "x", "n": null}]'
    load(store, "j", data, kind="json", columns={})
    assert [r["note"] for r in rows(store, "j")] == ["", None, None, "x"]
    assert [r["n"] for r in rendered(store, "j")] == [1, None, 2, None]


@pytest.mark.parametrize("path", HEADERS)
def test_the_empty_text_keeps_inference_and_declared_types(store: Store, path: str) -> None:
    header, note, _ = HEADERS[path]
    body = '1,"a",""\n2,"",3\n3,,""\n'
    load(store, "t", f"{header}\n{body}", columns={"n": {"dataType": "numeric"}})
    dataset = store.get_dataset("t")
    assert dataset is not None
    assert dataset.columns["id"]["dataType"] == "numeric"
    assert dataset.columns[note]["dataType"] == "string"
    assert [r["n"] for r in rendered(store, "t")] == [None, 3, None]
    # inferred: "" is no value, so "", 3 and "" is a numeric column
    load(store, "u", f"{header}\n{body}", columns={})
    dataset = store.get_dataset("u")
    assert dataset is not None and dataset.columns["n"]["dataType"] == "numeric"


@pytest.mark.parametrize("path", HEADERS)
def test_a_value_that_does_not_fit_is_still_refused(store: Store, path: str) -> None:
    header, _, _ = HEADERS[path]
    with pytest.raises(FileFormatError, match="the value 'x' in column 'n'"):
        load(store, "bad", f'{header}\n1,"",""\n2,"","x"\n', columns={"n": {"dataType": "numeric"}})


@pytest.mark.parametrize("path", HEADERS)
def test_an_upsert_replaces_a_text_with_the_empty_text_or_missing(store: Store, path: str) -> None:
    header, note, _ = HEADERS[path]
    keyed = {"id": {"dataType": "numeric", "role": "key"}}
    load(store, "k", f'{header}\n1,"a",1\n2,"b",2\n3,"",3\n', columns=keyed)
    load(store, "k", f'{header}\n1,"",1\n2,,2\n3,"c",3\n4,"",4\n', columns=keyed)
    got = sorted((r["id"], r[note]) for r in rendered(store, "k"))
    assert got == [(1, ""), (2, None), (3, "c"), (4, "")]


def test_a_text_key_tells_the_empty_text_from_missing(store: Store) -> None:
    keyed = {"code": {"dataType": "string", "role": "key"}}
    load(store, "s", '"code","v"\n"",1\n,2\n', columns=keyed)
    load(store, "s", '"code","v"\n"",3\n', columns=keyed)
    assert sorted(rendered(store, "s"), key=lambda r: r["v"]) == [
        {"code": None, "v": 2},
        {"code": "", "v": 3},
    ]


@pytest.mark.parametrize(
    ("record", "width", "expected"),
    [
        ('"",,"a"\n', 3, [True, False, False]),
        (',""\r\n', 2, [False, True]),
        ('"a,""b""","",x""y\n', 3, [False, True, False]),
        ('"two\nlines",""\n', 2, [False, True]),
        ('""""\n', 1, [False]),
    ],
)
def test_quoted_empty_reads_the_record_as_written(
    record: str, width: int, expected: list[bool]
) -> None:
    assert quoted_empty(record, width) == expected
