"""Column metadata validation, defaults, inference and value checks of the server (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from nexosis_pandas._wire import parse_logical
from nexosis_pandas.server.columns import (
    MetadataError,
    TypeInference,
    complete_metadata,
    fits,
    merge_metadata,
    normalize_date,
    render_value,
    validate_metadata,
)


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        ("1", "numeric", True),
        (" -2.5e3 ", "numericMeasure", True),
        (3, "numeric", True),
        (True, "numeric", False),
        ("nan", "numeric", False),
        ("inf", "numeric", False),
        ("1_000", "numeric", False),
        ("abc", "numeric", False),
        ("Yes", "logical", True),
        ("off", "logical", True),
        ("0", "logical", True),
        (1, "logical", True),
        ("maybe", "logical", False),
        (2, "logical", False),
        ("2020-01-02", "date", True),
        ("2020-01-02T03:04:05.123456+02:00", "date", True),
        ("2020-01-02 03:04:05Z", "date", True),
        ("02/01/2020", "date", False),
        (20200102, "date", False),
        ("anything", "string", True),
        (5, "text", True),
    ],
)
def test_fits(value: object, data_type: str, expected: bool) -> None:
    assert fits(value, data_type) is expected


def test_parse_logical_and_dates() -> None:
    assert [parse_logical(v) for v in ("TRUE", "no", "On", 0, "x")] == [
        True,
        False,
        True,
        False,
        None,
    ]
    assert normalize_date("2020-01-02T03:04:05+02:00") == "2020-01-02T03:04:05+02:00"
    assert normalize_date("2020-01-02") == "2020-01-02T00:00:00+00:00"
    assert normalize_date(None) is None


def test_render_value_by_type() -> None:
    assert render_value("42", "numeric") == 42
    assert render_value("4.5", "numericMeasure") == 4.5
    assert render_value("Yes", "logical") is True
    assert render_value("2020-01-02", "date") == "2020-01-02T00:00:00+00:00"
    assert render_value(7, "string") == "7"
    assert render_value(False, "text") == "false"
    assert render_value(None, "numeric") is None


def test_validate_metadata_normalises() -> None:
    result = validate_metadata(
        {
            "a": {"DATATYPE": "NumericMeasure", "Role": "target", "imputation": ""},
            "b": {"dataType": 3, "role": "1"},
            "c": None,
            "d": {"dataType": None, "unknownField": "ignored"},
        }
    )
    assert result == {
        "a": {
            "dataType": "numericMeasure",
            "role": "target",
            "imputation": None,
            "aggregation": None,
        },
        "b": {"dataType": "date", "role": "timestamp", "imputation": None, "aggregation": None},
        "c": {"dataType": None, "role": None, "imputation": None, "aggregation": None},
        "d": {"dataType": None, "role": None, "imputation": None, "aggregation": None},
    }
    assert validate_metadata(None) == {} == validate_metadata("")


@pytest.mark.parametrize(
    ("columns", "column", "reason"),
    [
        ({"a": {"dataType": "decimal"}}, "a", "dataType 'decimal' is not one of"),
        ({"a": {"role": 9}}, "a", "not a valid enum index"),
        ({"a": {"imputation": True}}, "a", "imputation True"),
        ({"a": {"dataType": "string", "imputation": "mean"}}, "a", "mean needs a numeric column"),
        ({"a": {"dataType": "text", "aggregation": "mode"}}, "a", "text column is not aggregated"),
        ({"a": {"dataType": "date", "aggregation": "max"}}, "a", "date column has no aggregation"),
        ({"a": ["numeric"]}, "a", "must be an object"),
        ({"": {}}, "", "non-empty string"),
        ({"t": {"role": "timestamp"}, "u": {"role": "timestamp"}}, "u", "Only one column"),
        (["a"], "columns", "must be an object"),
    ],
)
def test_validate_metadata_reasons(columns: object, column: str, reason: str) -> None:
    with pytest.raises(MetadataError) as caught:
        validate_metadata(columns)
    assert any(reason in r for r in caught.value.details[column]), caught.value.details


def test_complete_and_merge_metadata() -> None:
    assert complete_metadata({"dataType": "numeric"}) == {
        "dataType": "numeric",
        "role": "feature",
        "imputation": "zeroes",
        "aggregation": "sum",
    }
    assert complete_metadata({"dataType": "date", "role": "timestamp"})["imputation"] is None
    assert complete_metadata({"dataType": "numeric", "aggregation": "max"})["aggregation"] == "max"
    base = {
        "a": {"dataType": "numeric", "role": "key", "imputation": "zeroes", "aggregation": "sum"}
    }
    merged = merge_metadata(base, {"a": {"dataType": "numericMeasure", "role": None}, "b": {}})
    assert merged["a"] == {
        "dataType": "numericMeasure",
        "role": "key",
        "imputation": None,
        "aggregation": None,
    }
    assert "b" in merged


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2.5", ""], "numeric"),
        (["1", "0"], "numeric"),
        (["true", "No"], "logical"),
        (["2020-01-01", "2020-01-02T00:00:00Z"], "date"),
        (["1", "x"], "string"),
        ([], "string"),
        ([None, ""], "string"),
        ([1, 2.5], "numeric"),
        ([True, False], "logical"),
    ],
)
def test_type_inference(values: list[object], expected: str) -> None:
    inference = TypeInference()
    inference.update(values)
    assert inference.result() == expected
    assert inference.settled is (expected == "string" and any(v not in (None, "") for v in values))


def test_inference_keeps_codes_with_leading_zeros_as_text() -> None:
    for values in (["08123", "1"], ["1", " 007"], ["-01"]):
        inference = TypeInference()
        inference.update(values)
        assert inference.result() == "string", values
    inference = TypeInference()
    inference.update(["0", "0.5", "-0", "10"])
    assert inference.result() == "numeric"


def test_inference_of_json_values_keeps_their_json_types() -> None:
    cases: list[tuple[list[Any], str]] = [(["1", "2"], "string"), ([1, 2.5], "numeric")]
    cases += [([True, False], "logical")]
    cases += [(["true"], "string"), (["2024-01-02"], "date"), ([1, "1"], "string")]
    for values, expected in cases:
        inference = TypeInference(typed=True)
        inference.update(values)
        assert inference.result() == expected, values
