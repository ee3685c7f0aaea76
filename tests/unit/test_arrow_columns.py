"""Column metadata from Arrow and polars types, checked as a pandas frame's is (no sockets)."""

from __future__ import annotations

import datetime as dt
import decimal

import pandas as pd
import pyarrow as pa
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import ColumnError

pl = pytest.importorskip("polars")


def test_the_data_types_of_polars_and_arrow_are_those_of_pandas_for_the_same_data() -> None:
    sentence = "a long sentence of free text that a person wrote about the sale, say"
    pandas = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "units": pd.array([1, None, 3], dtype="Int64"),
            "price": [1.5, 2.0, None],
            "promo": pd.array([True, None, False], dtype="boolean"),
            "store": pd.Categorical(["n", "s", None]),
            "day": pd.to_datetime(pd.Series(["2024-01-01", "2024-01-02", None])),
            "zoned": pd.to_datetime(pd.Series(["2024-01-01", None, None])).dt.tz_localize("UTC"),
            "note": [sentence, sentence + " again", None],
        }
    )
    polars = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "units": pl.Series([1, None, 3], dtype=pl.Int64),
            "price": [1.5, 2.0, None],
            "promo": [True, None, False],
            "store": pl.Series(["n", "s", None], dtype=pl.Categorical),
            "day": pl.Series([dt.date(2024, 1, 1), dt.date(2024, 1, 2), None]),
            "zoned": pl.Series(
                [dt.datetime(2024, 1, 1), None, None], dtype=pl.Datetime("us", "UTC")
            ),
            "note": [sentence, sentence + " again", None],
        }
    )
    roles = {"target": "units", "timestamp": "day", "key": "id"}
    expected = nxp.infer_column_metadata(pandas, **roles)
    assert nxp.infer_column_metadata(polars, **roles) == expected
    assert nxp.infer_column_metadata(polars.to_arrow(), **roles) == expected
    assert expected["note"] == {"dataType": "text"} and expected["store"] == {"dataType": "string"}


def test_decimals_are_numbers_when_a_double_holds_them() -> None:
    table = pa.table({"d": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2))})
    assert nxp.infer_column_metadata(table) == {"d": {"dataType": "numeric"}}
    exact = pa.table(
        {"d": pa.array([decimal.Decimal("0.10000000000000000001")], pa.decimal128(21, 20))}
    )
    with pytest.raises(
        ColumnError, match=r"Column 'd' holds a decimal a double does not hold \(row 0\)"
    ):
        nxp.infer_column_metadata(exact)


def test_empty_strings_are_text_kept_apart_from_missing() -> None:
    frame = pl.DataFrame({"s": ["a", "", None], "n": [1, 2, 3]})
    assert nxp.infer_column_metadata(frame)["s"] == {"dataType": "string"}


def test_a_column_of_nulls_sends_no_data_type() -> None:
    assert nxp.infer_column_metadata(pl.DataFrame({"x": [None, None]})) == {"x": {}}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"f": [1.0, float("inf")]}), r"Column 'f' holds an infinite value at row 1"),
        (
            pl.DataFrame({"t": pl.Series([1_000_000_001], dtype=pl.Datetime("ns"))}),
            r"Column 't' holds a datetime with nanoseconds \(row 0\)",
        ),
        (
            pa.table({"t": pa.array([-62135596800 - 1], pa.timestamp("s"))}),
            r"Column 't' holds a datetime outside the years 1 to 9999 \(row 0\)",
        ),
    ],
)
def test_values_a_dataset_would_change_are_refused(frame: object, message: str) -> None:
    with pytest.raises(ColumnError, match=message):
        nxp.infer_column_metadata(frame)  # type: ignore[arg-type]


def test_the_roles_are_checked_against_the_table() -> None:
    frame = pl.DataFrame({"id": ["a", "a", None], "day": ["x", "y", "z"], "n": [1, 2, 3]})
    with pytest.raises(ColumnError, match=r"target='id' must be numeric or logical"):
        nxp.infer_column_metadata(frame, target="id")
    with pytest.raises(ColumnError, match=r"timestamp='day' must hold dates or datetimes"):
        nxp.infer_column_metadata(frame, timestamp="day")
    with pytest.raises(ColumnError, match=r"key='id' has 1 missing value\(s\) \(first at row 2\)"):
        nxp.infer_column_metadata(frame, key="id")
    with pytest.raises(
        ColumnError, match=r"key='id' must identify each row, but the table's 2 rows"
    ):
        nxp.infer_column_metadata(frame.head(2), key="id")
    with pytest.raises(
        ColumnError, match=r"target='unit' is not a column .* The columns are: 'id', 'day', 'n'"
    ):
        nxp.infer_column_metadata(frame, target="unit")
    assert nxp.infer_column_metadata(frame.head(2), key=["id", "day"])["day"] == {
        "dataType": "string",
        "role": "key",
    }
