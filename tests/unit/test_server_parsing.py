"""The server's streaming CSV and JSON readers (no sockets)."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest

from nexosis_pandas.server import parsing
from nexosis_pandas.server.parsing import (
    ColumnsAfterData,
    FileFormatError,
    content_kind,
    open_text,
    records,
)


def read(data: bytes, kind: str) -> list[tuple[int, dict[str, Any]]]:
    return list(records(open_text(io.BytesIO(data)), kind))


@pytest.mark.parametrize(
    ("content_type", "path", "kind"),
    [
        (None, "a.csv", "csv"),
        (None, "dir/A.CSV.GZ", "csv"),
        (None, "a.json.gz", "json"),
        ("JSON", "a.csv", "json"),
        ("text/csv", "a", "csv"),
        ("application/json", "a", "json"),
    ],
)
def test_content_kind(content_type: str | None, path: str, kind: str) -> None:
    assert content_kind(content_type, path) == kind


@pytest.mark.parametrize(
    ("content_type", "path"), [(None, "a.txt"), (None, "a.gz"), ("xml", "a.csv")]
)
def test_content_kind_unknown(content_type: str | None, path: str) -> None:
    with pytest.raises(FileFormatError, match="Couldn't determine the type of content"):
        content_kind(content_type, path)


def test_csv_rfc4180_and_gzip_by_magic() -> None:
    text = '\ufeffa,b\r\n1,"x, ""y"""\r\n2,"multi\r\nline"\r\n\r\n3,\r\n'
    expected = [
        (2, {"a": "1", "b": 'x, "y"'}),
        (3, {"a": "2", "b": "multi\r\nline"}),
        (6, {"a": "3"}),
    ]
    assert read(text.encode(), "csv") == expected
    assert read(gzip.compress(text.encode()), "csv") == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"a,,c\n", "empty column name at 2"),
        (b"a,a\n", "names the column 'a' twice"),
        (b"a,b\n1,2,3\n", "line 2: it has 3 fields"),
        (b'a\n"open\n', "Malformed CSV at line"),
        (b"a\n\xff\n", "not UTF-8"),
    ],
)
def test_csv_errors(data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        read(data, "csv")


def test_json_array_across_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "CHUNK_CHARS", 5)
    rows = [{"a": 123456789, "b": "h\u00e9llo, world", "c": None}, {"a": -1.5e-3, "d": True}]
    text = "[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n"
    reader = records(open_text(io.BytesIO(text.encode())), "json")
    assert list(reader) == [
        (2, {"a": 123456789, "b": "h\u00e9llo, world"}),
        (3, {"a": -1.5e-3, "d": True}),
    ]
    assert reader.header == ["a", "b", "c", "d"]


def test_json_object_shape_and_empty_array() -> None:
    data = json.dumps({"Columns": {"a": {"dataType": "numeric"}}, "extra": [1], "DATA": [{"a": 1}]})
    reader = records(open_text(io.BytesIO(data.encode())), "json")
    assert list(reader) == [(1, {"a": 1})]
    assert reader.file_columns == {"a": {"dataType": "numeric"}}
    assert read(b" [ ] ", "json") == []


def test_json_columns_after_data_are_signalled() -> None:
    data = json.dumps({"data": [{"a": 1}], "columns": {"a": {}}}).encode()
    with pytest.raises(ColumnsAfterData) as caught:
        read(data, "json")
    assert caught.value.columns == {"a": {}}
    again = records(open_text(io.BytesIO(data)), "json", ignore_file_columns=True)
    assert list(again) == [(1, {"a": 1})]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"42", "not a value starting with '4'"),
        (b"[1]", "record 1 is int"),
        (b'[{"a": [1]}]', "nested list"),
        (b'[{"a": 1}\n{"a": 2}]', "line 2: expected ',' or ']'"),
        (b'[{"a": 1},\n\n{"a": tru}]', "Malformed JSON at line 3"),
        (b'[{"a": 1}] x', "unexpected data after"),
        (b'{"columns": {}}', 'no "data" array'),
        (b'{"data": 5}', "'data' must be an array"),
        (b'[{"a": 1}', "expected ',' or ']'"),
    ],
)
def test_json_errors(data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        read(data, "json")
