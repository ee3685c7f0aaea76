"""A dataset's wire rows as a typed DataFrame (no sockets)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from nexosis_pandas._frames import arrow_frame, dataset_frame


def test_metadata_columns_come_first_then_the_rows_others() -> None:
    frame = dataset_frame(
        [{"extra": "x", "a": "1"}, {"b": "2", "late": "y"}],
        {"b": {"dataType": "numeric"}, "a": {"DATATYPE": "numericMeasure"}},
    )
    assert list(frame.columns) == ["b", "a", "extra", "late"]
    assert frame.a.tolist()[0] == 1 and pd.isna(frame.a.iloc[1])


def test_values_that_do_not_fit_become_missing() -> None:
    frame = dataset_frame(
        [{"n": "3", "d": "2024-01-02", "l": "On"}, {"n": "abc", "d": "soon", "l": "maybe"}],
        {"n": {"dataType": "numeric"}, "d": {"dataType": "date"}, "l": {"dataType": "logical"}},
    )
    assert frame.n.tolist()[0] == 3 and pd.isna(frame.n.iloc[1])
    assert frame.d.iloc[0] == pd.Timestamp("2024-01-02", tz="UTC") and pd.isna(frame.d.iloc[1])
    assert frame.l.tolist() == [True, pd.NA]


def test_text_and_unknown_types_stay_as_they_came() -> None:
    frame = dataset_frame(
        [{"s": "007", "t": "1", "u": "2", "m": "1"}, {"s": "8", "t": "x", "u": "3", "m": "z"}],
        {"s": {"dataType": "string"}, "t": {"dataType": "text"}, "u": {"dataType": "nope"}},
    )
    assert frame.s.tolist() == ["007", "8"]
    assert frame.t.tolist() == ["1", "x"]
    assert frame.u.tolist() == [2, 3]  # an unknown type is read like no metadata
    assert frame.m.tolist() == ["1", "z"]


def test_no_rows() -> None:
    frame = dataset_frame([], {"n": {"dataType": "numeric"}, "l": {"dataType": "logical"}})
    assert list(frame.columns) == ["n", "l"]
    assert len(frame) == 0
    assert frame.n.dtype == "float64" and frame.l.dtype == "boolean"


def test_floats_come_back_bit_for_bit() -> None:
    """Found by the round-trip property on pandas 2.2, whose to_numeric rounds this text."""
    frame = dataset_frame(
        [{"x": "21821777623401252.0"}, {"x": "-0.0"}, {"x": None}, {"x": "0.1"}],
        {"x": {"dataType": "numeric"}},
    )
    assert frame.x.tolist()[:2] == [2.1821777623401252e16, -0.0]
    assert str(frame.x.iloc[1]) == "-0.0" and pd.isna(frame.x.iloc[2])
    assert frame.x.dtype == "float64"


COLUMNS_BOTH_WAYS: dict[str, list[str | None]] = {
    "integers": ["1", "-2", "+3", "007", "9223372036854775807"],
    "integers_missing": ["1", None, "", "4", "5"],
    "huge_integers": ["18446744073709551615", "1", "2", "3", "4"],
    "floats": ["0.1", "2.2250738585072014e-308", "1e3", "-0.0", "0.30000000000000004"],
    "floats_17_digits": ["1.0000000000000002", "9007199254740993", "0.1", None, "2.5"],
    "blanks_around_numbers": [" 1", "2 ", "3", "4", "5"],
    "not_numbers": ["1", "x", "1_000", "inf", "5"],
    "logical": ["True", "no", " ON ", "1", "FALSE"],
    "logical_missing": ["yes", None, "", "Off", "0"],
    "logical_odd": ["yes", "maybe", "no", "1", "0"],
    "dates": ["2024-01-02", "2024-01-02 03:04:05", "2024-01-02T03:04:05.123456", None, ""],
    "dates_offsets": ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05+01:00", None, "", None],
    "dates_mixed": ["2024-01-02T03:04:05Z", "2024-01-02", None, "", None],
    "dates_far": ["0001-01-01", "9999-12-31 23:59:59", "2262-04-12", None, "2000-01-01"],
    "dates_nanoseconds": ["2024-01-02T03:04:05.123456789", None, "", None, "2024-01-02"],
    "dates_bad": ["2024-01-02", "soon", None, "", "2024-13-01"],
    "all_missing": [None, None, "", None, None],
    "text": ["a", "", None, "007", "ünïcode"],
}
TYPES = {
    "logical": "logical",
    "dates": "date",
    "text": "text",
    "all_missing": "numeric",
}


def _type_of(name: str) -> str:
    for prefix, data_type in TYPES.items():
        if name.startswith(prefix):
            return data_type
    return "numeric"


def test_the_arrow_stream_gives_the_frame_the_json_pages_give() -> None:
    import pyarrow as pa

    metadata = {name: {"dataType": _type_of(name)} for name in COLUMNS_BOTH_WAYS}
    metadata["all_missing_date"] = {"dataType": "date"}
    metadata["all_missing_logical"] = {"dataType": "logical"}
    columns: dict[str, list[str | None]] = {
        **COLUMNS_BOTH_WAYS,
        "all_missing_date": [None] * 5,
        "all_missing_logical": [None] * 5,
        "untyped": ["1", "2", None, "4", "5"],
    }
    rows = [{name: values[i] for name, values in columns.items()} for i in range(5)]
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    pd.testing.assert_frame_equal(arrow_frame(table, metadata), dataset_frame(rows, metadata))
    # no rows: the JSON pages name only the metadata's columns
    empty = arrow_frame(table.slice(0, 0).drop_columns(["untyped"]), metadata)
    pd.testing.assert_frame_equal(empty, dataset_frame([], metadata))


def test_the_empty_text_stays_apart_from_missing_in_json_pages_and_the_arrow_stream() -> None:
    import pyarrow as pa

    columns = {"note": {"dataType": "text"}, "n": {"dataType": "numeric"}}
    rows: list[dict[str, Any]] = [
        {"note": "", "n": ""},
        {"note": None, "n": 2},
        {"note": "x", "n": None},
    ]
    table = pa.table({"note": ["", None, "x"], "n": ["", "2", None]})
    for frame in (dataset_frame(rows, columns), arrow_frame(table, columns)):
        note = frame["note"].astype(object).tolist()
        assert note[0] == "" and pd.isna(note[1]) and note[2] == "x"
        assert frame["n"].isna().tolist() == [True, False, True]  # "" is no number: missing
