"""A dataset's wire rows as a typed DataFrame (no sockets)."""

from __future__ import annotations

import pandas as pd

from nexosis_pandas._frames import dataset_frame


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
