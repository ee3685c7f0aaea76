"""A dataset's rows as a typed Arrow table and a polars frame, never through pandas (no sockets)."""

from __future__ import annotations

import math
import sys
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from nexosis_pandas._backends import check_backend, from_rows, from_table
from nexosis_pandas._frames import dataset_frame
from nexosis_pandas._tables import dataset_table, rows_table
from tests.unit.test_frames import COLUMNS_BOTH_WAYS, _type_of

ARROW_TYPE_OF_DTYPE = {
    "int64": pa.int64(),
    "Int64": pa.int64(),
    "uint64": pa.uint64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "boolean": pa.bool_(),
}


def _metadata() -> dict[str, dict[str, str]]:
    metadata = {name: {"dataType": _type_of(name)} for name in COLUMNS_BOTH_WAYS}
    metadata["all_missing_date"] = {"dataType": "date"}
    metadata["all_missing_logical"] = {"dataType": "logical"}
    return metadata


def _columns() -> dict[str, list[str | None]]:
    return {
        **COLUMNS_BOTH_WAYS,
        "all_missing_date": [None] * 5,
        "all_missing_logical": [None] * 5,
        "untyped": ["1", "2", None, "4", "5"],
        "untyped_text": ["1", "x", None, "", "5"],
        "untyped_floats": ["1.5", "2", None, "", "-0.0"],
    }


def _python(value: Any) -> Any:
    """A pandas cell as the value Arrow's ``to_pylist`` gives: missing is ``None``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, datetime) and isinstance(b, datetime):  # pd.Timestamp for nanoseconds
        return pd.Timestamp(a) == pd.Timestamp(b) and str(a.tzinfo) == str(b.tzinfo) == "UTC"
    return bool(a == b) and type(a) is type(b)


def test_the_arrow_table_holds_the_pandas_frames_values_in_arrow_types() -> None:
    """The same rule for every column as :func:`dataset_frame`, row by row, sign of zero too."""
    columns, metadata = _columns(), _metadata()
    rows = [{name: values[i] for name, values in columns.items()} for i in range(5)]
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    frame = dataset_frame(rows, metadata)
    typed = dataset_table(table, metadata)
    assert typed.column_names == list(frame.columns)
    for name in frame.columns:
        dtype, arrow_type = str(frame[name].dtype), typed.schema.field(name).type
        if dtype in ARROW_TYPE_OF_DTYPE:
            assert arrow_type == ARROW_TYPE_OF_DTYPE[dtype], name
        elif dtype.startswith("datetime64"):
            assert pa.types.is_timestamp(arrow_type) and arrow_type.tz == "UTC", name
        else:
            assert arrow_type == pa.string(), name
        expected = [_python(v) for v in frame[name].tolist()]
        got = typed.column(name).to_pylist()
        assert all(_same(g, e) for g, e in zip(got, expected, strict=True)), (name, got, expected)


def test_the_json_rows_give_the_table_the_arrow_stream_gives() -> None:
    columns, metadata = _columns(), _metadata()
    rows = [{name: values[i] for name, values in columns.items()} for i in range(5)]
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    assert rows_table(rows, metadata).equals(dataset_table(table, metadata))
    # the JSON pages name only the metadata's columns when there are no rows
    assert rows_table([], metadata).column_names == list(metadata)
    assert rows_table([], metadata).schema.field("integers").type == pa.float64()


def test_json_numbers_and_booleans_are_read_as_their_text() -> None:
    table = rows_table(
        [{"n": 3, "f": 2.5, "l": True, "u": 7}, {"n": 4, "f": 3.0, "l": False, "u": None}],
        {"n": {"dataType": "numeric"}, "f": {"dataType": "numeric"}, "l": {"dataType": "logical"}},
    )
    assert table.column("n").to_pylist() == [3, 4] and table.schema.field("n").type == pa.int64()
    assert table.column("f").to_pylist() == [2.5, 3.0]
    assert table.schema.field("f").type == pa.float64()
    assert table.column("l").to_pylist() == [True, False]
    assert table.column("u").to_pylist() == [7, None]


def test_dates_finer_than_a_microsecond_keep_their_nanoseconds() -> None:
    table = dataset_table(
        pa.table({"d": ["2024-01-02T03:04:05.123456789", "2024-01-02", None]}),
        {"d": {"dataType": "date"}},
    )
    assert table.schema.field("d").type == pa.timestamp("ns", "UTC")
    assert table.column("d").cast(pa.int64()).to_pylist()[0] % 1000 == 789


def test_columns_of_other_arrow_types_are_read_as_their_text() -> None:
    numbers = pa.table({"n": pa.array([1, 2], pa.int32())})
    table = dataset_table(numbers, {"n": {"dataType": "string"}})
    assert table.column("n").to_pylist() == ["1", "2"]


def test_polars_is_made_from_the_arrow_table() -> None:
    pl = pytest.importorskip("polars")
    columns, metadata = _columns(), _metadata()
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    frame = from_table(table, metadata, "polars")
    assert isinstance(frame, pl.DataFrame)
    assert frame.schema["integers_missing"] == pl.Int64
    assert frame.schema["logical_missing"] == pl.Boolean
    assert frame.schema["dates"] == pl.Datetime("us", "UTC")
    assert frame.schema["text"] == pl.String
    typed = dataset_table(table, metadata)
    assert frame.to_arrow().cast(typed.schema).equals(typed)  # polars' strings are large
    rows = [{name: values[i] for name, values in columns.items()} for i in range(5)]
    assert from_rows(rows, metadata, "polars").equals(frame)


def test_the_pandas_backend_is_the_pandas_reader() -> None:
    table = pa.table({"n": ["1", None]})
    frame = from_table(table, {"n": {"dataType": "numeric"}}, "pandas")
    assert isinstance(frame, pd.DataFrame) and str(frame.n.dtype) == "Int64"
    assert isinstance(from_table(table, {}, "pyarrow"), pa.Table)


def test_a_backend_that_is_none_of_the_three_is_refused() -> None:
    named = r"backend must be one of 'pandas', 'polars', 'pyarrow', not 'arrow'"
    with pytest.raises(ValueError, match=named):
        check_backend("arrow")


def test_polars_missing_is_an_import_error_that_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"pip install polars"):
        check_backend("polars")
