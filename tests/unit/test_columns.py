from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nexosis_pandas._wire import DataType
from nexosis_pandas.columns import (
    TEXT_MIN_MEDIAN_LENGTH,
    infer_column_metadata,
    infer_data_type,
    merge_column_metadata,
)
from nexosis_pandas.exceptions import ColumnError

SENTENCE = "The delivery arrived two days late and the box was damaged on one side."
assert len(SENTENCE) >= TEXT_MIN_MEDIAN_LENGTH

CASES: dict[str, tuple[Any, DataType]] = {
    "int64": (pd.Series([1, 2, 3]), DataType.NUMERIC),
    "int8": (pd.Series([1, 2], dtype="int8"), DataType.NUMERIC),
    "uint32": (pd.Series([1, 2], dtype="uint32"), DataType.NUMERIC),
    "float64": (pd.Series([1.5, np.nan]), DataType.NUMERIC),
    "float32": (pd.Series([1.5], dtype="float32"), DataType.NUMERIC),
    "Int64": (pd.Series([1, None], dtype="Int64"), DataType.NUMERIC),
    "Float64": (pd.Series([1.5, None], dtype="Float64"), DataType.NUMERIC),
    "int[pyarrow]": (pd.Series([1], dtype=pd.ArrowDtype(pa.int64())), DataType.NUMERIC),
    "sparse": (pd.Series(pd.arrays.SparseArray([0.0, 1.0])), DataType.NUMERIC),
    "bool": (pd.Series([True, False]), DataType.LOGICAL),
    "boolean": (pd.Series([True, None], dtype="boolean"), DataType.LOGICAL),
    "bool[pyarrow]": (pd.Series([True], dtype=pd.ArrowDtype(pa.bool_())), DataType.LOGICAL),
    "datetime64": (pd.Series(pd.date_range("2024-01-01", periods=2)), DataType.DATE),
    "datetime64 tz": (
        pd.Series(pd.date_range("2024-01-01", periods=2, tz="Europe/Paris")),
        DataType.DATE,
    ),
    "timestamp[pyarrow]": (
        pd.Series(pd.date_range("2024-01-01", periods=2)).astype(pd.ArrowDtype(pa.timestamp("us"))),
        DataType.DATE,
    ),
    "default str": (pd.Series(["red", "blue", None]), DataType.STRING),
    "string": (pd.Series(["red", None], dtype="string"), DataType.STRING),
    "string[pyarrow]": (pd.Series(["red"], dtype=pd.ArrowDtype(pa.string())), DataType.STRING),
    "object str": (pd.Series(["red", np.nan], dtype=object), DataType.STRING),
    "category": (pd.Series(["a", "b", "a"], dtype="category"), DataType.STRING),
    "numeric category": (pd.Series([1, 2, 1], dtype="category"), DataType.STRING),
    "period": (pd.Series(pd.period_range("2024-01", periods=2, freq="M")), DataType.STRING),
    "interval": (pd.Series(pd.interval_range(0, 2)), DataType.STRING),
    "object bool": (pd.Series([True, None, False], dtype=object), DataType.LOGICAL),
    "object int": (pd.Series([1, None, 3], dtype=object), DataType.NUMERIC),
    "object float": (pd.Series([1, 2.5], dtype=object), DataType.NUMERIC),
    "object decimal": (pd.Series([decimal.Decimal("1.10")], dtype=object), DataType.NUMERIC),
    "object datetime": (pd.Series([dt.datetime(2024, 1, 1)], dtype=object), DataType.DATE),
    "object date": (pd.Series([dt.date(2024, 1, 1)], dtype=object), DataType.DATE),
    "object mixed": (pd.Series([1, "a"], dtype=object), DataType.STRING),
    "all missing": (pd.Series([None, None], dtype=object), DataType.STRING),
    "free text": (pd.Series([SENTENCE, SENTENCE + " Again.", None]), DataType.TEXT),
    "free text string": (pd.Series([SENTENCE] * 3, dtype="string"), DataType.TEXT),
    "long ids": (pd.Series(["x" * 80, "y" * 80]), DataType.STRING),
    "short labels": (pd.Series(["blue sky", "red sun"]), DataType.STRING),
}


@pytest.mark.parametrize("case", CASES)
def test_every_dtype_gets_a_data_type(case: str) -> None:
    series, expected = CASES[case]
    assert infer_data_type(series.rename("col")) is expected


def test_text_decision_on_a_large_column_uses_a_sample() -> None:
    many = pd.Series([SENTENCE] * 30_000 + ["x"] * 10)
    assert infer_data_type(many) is DataType.TEXT


@pytest.mark.parametrize(
    ("series", "fix"),
    [
        (pd.Series([1 + 2j]), ".real"),
        (pd.Series(pd.to_timedelta([1, 2], unit="s")), ".dt.total_seconds()"),
    ],
)
def test_unsendable_dtypes_name_the_column_and_the_fix(series: pd.Series, fix: str) -> None:
    with pytest.raises(ColumnError, match="'odd'") as info:
        infer_column_metadata(pd.DataFrame({"odd": series}))
    assert fix in str(info.value)
    assert info.value.column == "odd"


_BYTES_FIX = ".str.decode('utf-8')"
_TEXT_FIX = ".astype(str)"


@pytest.mark.parametrize(
    ("series", "what", "fix"),
    [
        (pd.Series([b"\x00\x01", None], dtype=object), "holds bytes (row 0, 1 in all)", _BYTES_FIX),
        (pd.Series(["a", None, b"b"], dtype=object), "holds bytes (row 2, 1 in all)", "base64"),
        (pd.Series([b"x"], dtype=pd.ArrowDtype(pa.binary())), "holds bytes (row 0", _BYTES_FIX),
        (
            pd.Series([decimal.Decimal("1.5"), decimal.Decimal("12345678901234567890.123")]),
            "holds Decimal('12345678901234567890.123') (row 1), which a numeric column",
            _TEXT_FIX,
        ),
        (
            pd.Series([decimal.Decimal("0.1000000000000000055511151231257827")]),
            "holds Decimal('0.1000000000000000055511151231257827') (row 0)",
            "it would come back as 0.1. Send it as text",
        ),
        (
            pd.Series([1, 2**70], dtype=object),
            "holds the integer 1180591620717411303424 (row 1), beyond",
            _TEXT_FIX,
        ),
        (
            pd.Series([-1, 2**63], dtype=object),
            "holds the integer 9223372036854775808 (row 1), beyond",
            _TEXT_FIX,
        ),
        (
            pd.Series([-(2**63) - 1], dtype=object),
            "holds the integer -9223372036854775809 (row 0)",
            _TEXT_FIX,
        ),
        (
            pd.Series([2.5, None, 2**53 + 1], dtype=object),
            "holds the integer 9007199254740993 (row 2), which a numeric column (of doubles) "
            "does not keep to the last digit: it would come back as 9007199254740992.0",
            ".astype(float)",
        ),
    ],
    ids=[
        "bytes",
        "bytes among text",
        "binary[pyarrow]",
        "decimal",
        "decimal of many digits",
        "int over 64 bits",
        "int64 and uint64",
        "int under int64",
        "int among floats",
    ],
)
def test_values_that_would_come_back_changed_are_refused(
    series: pd.Series, what: str, fix: str
) -> None:
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(pd.DataFrame({"odd": series}))
    message = str(info.value)
    assert f"Column 'odd' {what}" in message, message
    assert fix in message, message
    assert info.value.column == "odd"


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([decimal.Decimal("1.50"), decimal.Decimal("0.1"), None]),
        pd.Series([decimal.Decimal("NaN"), decimal.Decimal("-2E+3")]),
        pd.Series([2**63 - 1, -(2**63), None], dtype=object),
        pd.Series([0, 2**64 - 1], dtype=object),
        pd.Series([2.5, 2**60, None], dtype=object),
    ],
    ids=["decimals a double holds", "decimal nan", "int64 ends", "uint64 ends", "exact doubles"],
)
def test_numbers_that_come_back_exactly_are_accepted(series: pd.Series) -> None:
    assert infer_column_metadata(pd.DataFrame({"n": series})) == {"n": {"dataType": "numeric"}}


@pytest.fixture
def sales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=4),
            "store": ["a", "b", "a", "c"],
            "units": [3, 5, 2, 7],
            "promo": [True, False, True, False],
            "order_id": ["o1", "o2", "o3", "o4"],
        }
    )


def test_roles_and_types(sales: pd.DataFrame) -> None:
    metadata = infer_column_metadata(sales, target="units", timestamp="day", key="order_id")
    assert metadata == {
        "day": {"dataType": "date", "role": "timestamp"},
        "store": {"dataType": "string"},
        "units": {"dataType": "numeric", "role": "target"},
        "promo": {"dataType": "logical"},
        "order_id": {"dataType": "string", "role": "key"},
    }
    assert list(metadata) == list(sales.columns)


def test_logical_target_and_composite_key(sales: pd.DataFrame) -> None:
    metadata = infer_column_metadata(sales, target="promo", key=["store", "day"])
    assert metadata["promo"]["role"] == "target"
    assert metadata["store"]["role"] == metadata["day"]["role"] == "key"


@pytest.mark.parametrize("argument", ["target", "timestamp", "key"])
def test_a_named_column_that_does_not_exist(sales: pd.DataFrame, argument: str) -> None:
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(sales, **{argument: "unit"})
    message = str(info.value)
    assert f"{argument}='unit' is not a column" in message
    assert "Did you mean 'units'?" in message
    assert info.value.column == "unit"


def test_target_must_be_numeric_or_logical(sales: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="target='store' must be numeric or logical") as info:
        infer_column_metadata(sales, target="store")
    message = str(info.value)
    assert "to_numeric" not in message  # 'a', 'b', 'c' are not numbers
    assert "categories such as 'a', not numbers. Choose another column as the target" in message
    assert "df['store_code'] = df['store'].map({'a': 0, 'b': 1, ...}).astype(float)" in message
    with pytest.raises(ColumnError, match="target='day'") as info:
        infer_column_metadata(sales, target="day")
    assert "choose another column as the target" in str(info.value)
    assert "pass it as timestamp='day'" in str(info.value)
    assert "astype(float)" not in str(info.value)


@pytest.mark.parametrize(
    "store",
    [
        pd.Series(["north", "south", "north", "east"]),
        pd.Series(["north", "south", "north", "east"], dtype="category"),
        pd.Series(["north", None, "north", "1"], dtype="string"),
    ],
)
def test_a_categorical_target_is_not_told_to_convert(sales: pd.DataFrame, store: Any) -> None:
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(sales.assign(store=store), target="store")
    message = str(info.value)
    assert "to_numeric" not in message and "categories such as 'north'" in message
    advice = re.search(
        r"df\['store_code'\] = (df\['store'\]\.map\(\{.*?\}\)\.astype\(float\))", message
    )
    assert advice is not None
    mapped = eval(advice.group(1).replace(", ...", ""), {"df": sales.assign(store=store)})
    assert infer_data_type(mapped) is DataType.NUMERIC  # the advice, followed, gives a target


@pytest.mark.parametrize(
    ("values", "fix"),
    [
        (["3", "5", "2", "7"], "df['units'] = pd.to_numeric(df['units']),"),
        (
            ["3", "5", "n/a", "7.5"],
            "pd.to_numeric(df['units'], errors='coerce') (the 1 value(s) that are not numbers, "
            "e.g. 'n/a', become missing)",
        ),
    ],
)
def test_a_target_of_numbers_stored_as_text_is_told_to_convert(
    sales: pd.DataFrame, values: list[str], fix: str
) -> None:
    with pytest.raises(ColumnError, match="look like numbers stored as text") as info:
        infer_column_metadata(sales.assign(units=values), target="units")
    assert fix in str(info.value)


def test_timestamp_must_be_datetime_like(sales: pd.DataFrame) -> None:
    frame = sales.assign(day=sales["day"].dt.strftime("%Y-%m-%d"))
    with pytest.raises(ColumnError, match="timestamp='day' must hold dates") as info:
        infer_column_metadata(frame, timestamp="day")
    assert "pd.to_datetime(df['day'])" in str(info.value)


def test_key_with_duplicates(sales: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="key='store' must identify each row") as info:
        infer_column_metadata(sales.drop(columns="day"), key="store")
    message = str(info.value)
    assert "2 of 4 rows share their key value with another row" in message
    assert "there are 3 distinct key values (e.g. 'a' is in 2 rows)" in message
    assert "Find the repeated rows with df[df.duplicated(['store'], keep=False)]" in message
    assert "timestamp=" not in message and "drop_duplicates" not in message
    infer_column_metadata(sales, key=["store", "day"])  # unique together


def test_a_key_that_repeats_over_time_suggests_the_timestamp_first() -> None:
    days = pd.date_range("2026-01-01", periods=67)
    daily = pd.DataFrame(
        {
            "date": np.tile(days, 3)[:200],
            "store": np.repeat(["east", "north", "west"], 67)[:200],
            "units": range(200),
        }
    )
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(daily, key="store")
    message = str(info.value)
    assert "200 of 200 rows share their key value" in message
    assert "there are 3 distinct key values (e.g. 'east' is in 67 rows)" in message
    suggestion = message.index("pass timestamp='date'")
    assert suggestion < message.index("df[df.duplicated(['store'], keep=False)]")
    assert "drop_duplicates" not in message
    assert info.value.column == "store"
    infer_column_metadata(daily, key="store", timestamp="date")  # as suggested: unique


def test_a_key_with_its_timestamp_that_repeats_names_the_combination() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"]),
            "when": pd.date_range("2026-01-01", periods=3),
            "store": ["a", "a", "a"],
        }
    )
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(frame, key="store", timestamp="date")
    message = str(info.value)
    assert "key='store' with timestamp='date' must identify each row" in message
    assert "2 of 3 rows share their (store, date) combination" in message
    assert "there are 2 distinct (store, date) combinations" in message
    assert "df[df.duplicated(['store', 'date'], keep=False)]" in message
    assert "pass timestamp=" not in message  # the user chose one


def test_key_with_missing_values(sales: pd.DataFrame) -> None:
    frame = sales.assign(order_id=pd.Series(["o1", None, "o3", "o4"], dtype=object))
    with pytest.raises(ColumnError, match="key='order_id' has 1 missing value") as info:
        infer_column_metadata(frame, key="order_id")
    assert "dropna(subset=['order_id'])" in str(info.value)


def test_one_column_in_two_roles(sales: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match="both target and key"):
        infer_column_metadata(sales, target="units", key="units")


def test_duplicate_column_names() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(ColumnError, match="'a' appears 2 times") as info:
        infer_column_metadata(frame)
    assert "df.columns.duplicated()" in str(info.value)
    assert info.value.column == "a"


@pytest.mark.parametrize("name", [0, 1.5, None, pd.Timestamp("2024-01-01")])
def test_non_string_column_names(name: Any) -> None:
    frame = pd.DataFrame({"ok": [1]})
    frame.columns = pd.Index([name], dtype=object)
    with pytest.raises(ColumnError, match="not a string") as info:
        infer_column_metadata(frame)
    assert "df.columns.astype(str)" in str(info.value)


def test_multiindex_columns() -> None:
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(ColumnError, match="MultiIndex"):
        infer_column_metadata(frame)


def test_empty_column_name() -> None:
    with pytest.raises(ColumnError, match="empty"):
        infer_column_metadata(pd.DataFrame({" ": [1]}))


def test_not_a_frame() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        infer_column_metadata([1, 2])  # type: ignore[arg-type]


def test_errors_are_value_errors(sales: pd.DataFrame) -> None:
    with pytest.raises(ValueError):
        infer_column_metadata(sales, target="nope")


def test_merge_lays_the_users_fields_over_the_inferred(sales: pd.DataFrame) -> None:
    inferred = infer_column_metadata(sales)
    merged = merge_column_metadata(sales, inferred, {"units": {"dataType": "numericMeasure"}})
    assert merged["units"] == {"dataType": "numericMeasure"}
    assert inferred["units"]["dataType"] == "numeric"  # not modified
    with pytest.raises(ColumnError) as info:
        merge_column_metadata(sales, inferred, {"unitz": {"role": "none"}})
    message = str(info.value)
    assert message.startswith(
        "columns= names 'unitz', which is not a column of the DataFrame. Did you mean 'units'? "
        "The columns are: 'day', 'store', 'units', 'promo', 'order_id'."
    )
    assert "columns='unitz'" not in message and "Pass columns= one of them" not in message
    assert info.value.column == "unitz"


def test_merge_checks_the_users_values_before_anything_is_sent(sales: pd.DataFrame) -> None:
    inferred = infer_column_metadata(sales)
    with pytest.raises(ColumnError, match=r"dataType='money', which is not one of: string") as e:
        merge_column_metadata(sales, inferred, {"units": {"dataType": "money"}})
    assert e.value.column == "units"
    assert "Did you mean" not in str(e.value)  # nothing is close to 'money'
    with pytest.raises(ColumnError, match="unknown field 'kind'"):
        merge_column_metadata(sales, inferred, {"units": {"kind": "numeric"}})
    merged = merge_column_metadata(
        sales, inferred, {"units": {"data_type": "NUMERICMEASURE", "imputation": "Mean"}}
    )
    assert merged["units"] == {
        "dataType": "numericMeasure",
        "imputation": "mean",
    }


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ({"dataType": "numberic"}, "dataType='numberic', which is not one of: string, numeric"),
        ({"dataType": "NumericMesure"}, "Did you mean 'numericMeasure'?"),
        ({"role": "targt"}, "Did you mean 'target'?"),
    ],
)
def test_a_misspelt_value_gets_a_suggestion(
    sales: pd.DataFrame, spec: dict[str, str], suggestion: str
) -> None:
    with pytest.raises(ColumnError) as info:
        merge_column_metadata(sales, infer_column_metadata(sales), {"units": spec})
    assert suggestion in str(info.value)
    if spec.get("dataType") == "numberic":
        assert str(info.value).endswith("Did you mean 'numeric'?")


@pytest.mark.parametrize(
    ("values", "fix"),
    [
        (["13/01/2024", "14/01/2024"], "pd.to_datetime(df['day'], format='%d/%m/%Y')"),
        (["01/13/2024", "01/14/2024"], "pd.to_datetime(df['day'], format='%m/%d/%Y')"),
        (["13.01.24", "02.02.24"], "pd.to_datetime(df['day'], format='%d.%m.%y')"),
        (["01/02/2024", "03/02/2024"], "may be day-first or month-first"),
        (["2024-01-13", "2024-01-14"], "pd.to_datetime(df['day'])."),
    ],
)
def test_the_timestamp_hint_works_for_the_strings_it_sees(values: list[str], fix: str) -> None:
    frame = pd.DataFrame({"day": values, "units": [1, 2]})
    with pytest.raises(ColumnError) as info:
        infer_column_metadata(frame, timestamp="day")
    assert fix in str(info.value)
    suggested = re.search(r"format='([^']+)'", str(info.value))
    if suggested:  # the suggestion itself converts the values
        assert pd.to_datetime(frame["day"], format=suggested.group(1)).notna().all()
