"""Property 1: the bytes ``encode_dataframe`` writes read back as the same values.

CSV is read with ``pandas.read_csv`` and the reader settings the guide's "What round-trips
exactly" page documents (each column's dtype given, ``keep_default_na=False,
na_values=[""]``, exact floats); JSON with the standard library's ``json``, which keeps every
integer and every double exact. Dates are parsed with ``pandas.to_datetime(format="ISO8601")``.
No sockets: this is the encoder alone, over every column kind the upload accepts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import example, given

from nexosis_pandas._encode.encoder import encode_dataframe
from nexosis_pandas._frame import writes_index
from tests.pandas_compat import EXACT_FLOATS, PANDAS_2
from tests.property.expect import assert_column
from tests.property.strategies import TEXT_KINDS, Case, Kind, Options, cases

_READ_AS: dict[str, Any] = {
    "int64": "int64",
    "Int64": "Int64",
    "float64": "float64",
    "bool": "bool",
    "boolean": "boolean",
}
"""The dtype to give ``read_csv`` for a column of each kind; text and dates are read as str."""


def written(case: Case) -> tuple[pd.DataFrame, dict[str, Kind], dict[str, str]]:
    """The columns the file holds (the index first when the upload writes it), and kinds."""
    df, kinds, units = case.frame, dict(case.kinds), dict(case.units)
    if writes_index(df):
        name = str(df.index.name or "index")
        kind: Kind = {"datetime": "datetime", "labels": "object"}.get(case.index, "int64")  # type: ignore[assignment]
        kinds = {name: kind, **kinds}
        if kind == "datetime":
            units[name] = "ns"
        df = df.reset_index()
    return df, kinds, units


def parse_dates(values: pd.Series, kind: Kind) -> pd.Series:
    text = pd.Series(values.astype(object).where(values.notna(), None))
    try:
        return pd.to_datetime(text, format="ISO8601", utc=kind == "datetime_tz")
    except pd.errors.OutOfBoundsDatetime:  # pandas 2 parses to ns, which ends in 2262
        assert PANDAS_2
    stamps = [None if v is None else dt.datetime.fromisoformat(v) for v in text]
    if kind == "datetime_tz":
        stamps = [None if s is None else s.astimezone(dt.UTC).replace(tzinfo=None) for s in stamps]
    return pd.Series(pd.array(stamps, dtype="datetime64[us]"))


def file_bytes(df: pd.DataFrame, format: str) -> bytes:
    return gzip.decompress(b"".join(encode_dataframe(df, format=format)))  # type: ignore[arg-type]


def csv_case(case: Case) -> None:
    df, kinds, units = written(case)
    data = file_bytes(case.frame, "csv")
    dtypes = {name: _READ_AS.get(kind, str) for name, kind in kinds.items()}
    back = pd.read_csv(
        io.BytesIO(data), dtype=dtypes, keep_default_na=False, na_values=[""], **EXACT_FLOATS
    )
    assert list(back.columns) == list(df.columns)
    assert len(back) == len(df)
    for name, kind in kinds.items():
        sent = df[name]
        got = back[name]
        if kind in ("datetime", "datetime_tz", "date"):
            got = parse_dates(got, kind)
        if kind in TEXT_KINDS:
            # pandas cannot tell "" (quoted) from an empty field: both are missing to it.
            sent = sent.astype(object).where(sent.astype(object) != "", None)
        assert_column(got, sent, kind, name, units.get(name, "us"))


def json_case(case: Case) -> None:
    df, kinds, units = written(case)
    records = json.loads(file_bytes(case.frame, "json"))
    assert isinstance(records, list) and len(records) == len(df)
    assert all(list(record) == list(df.columns) for record in records)
    for name, kind in kinds.items():
        got = pd.Series([record[name] for record in records], dtype=object)
        if kind in ("datetime", "datetime_tz", "date"):
            got = parse_dates(got, kind)
        elif kind in ("int64", "Int64"):
            assert all(v is None or type(v) is int for v in got), f"{name}: {got.tolist()}"
        elif kind in ("bool", "boolean"):
            assert all(v is None or type(v) is bool for v in got), f"{name}: {got.tolist()}"
        elif kind == "float64":
            assert all(v is None or type(v) is float for v in got), f"{name}: {got.tolist()}"
        else:
            assert all(v is None or type(v) is str for v in got), f"{name}: {got.tolist()}"
        assert_column(got, df[name].reset_index(drop=True), kind, name, units.get(name, "us"))


def _one(kind: Kind, values: Any, unit: str = "") -> Case:
    name = f"{kind}_0"
    frame = pd.DataFrame({"row": np.arange(len(values), dtype="int64"), name: values})
    return Case(frame, {"row": "int64", name: kind}, {name: unit} if unit else {})


def _lmt() -> Case:
    """Local mean time before standard time: offsets with seconds, which ISO 8601 lacks."""
    stamps = pd.DatetimeIndex(["1935-03-30 03:30:51", "1900-01-01 12:00:00", None], tz="UTC")
    case = _one("datetime_tz", pd.array(stamps), "s")
    case.frame["datetime_tz_0"] = case.frame["datetime_tz_0"].dt.tz_convert("America/St_Johns")
    return case


@given(cases())
@example(_one("float64", np.array([1.0, -0.0, 5e-324, 0.1, 12345678901234567.0])))
@example(_one("Int64", pd.array([2**63 - 1, None, -(2**63)], dtype="Int64")))
@example(_one("object", pd.array(["08123", "", None, "NA", "a\r\nb", ' "q" '], dtype=object)))
@example(_lmt())
def test_csv_reads_back_with_pandas(case: Case) -> None:
    csv_case(case)


@given(cases())
@example(_one("float64", np.array([1.0, -0.0, 5e-324, np.nan])))
@example(_one("object", pd.array(["", None, "null", "\u2028", "\x00"], dtype=object)))
@example(_lmt())
def test_json_reads_back_with_the_json_module(case: Case) -> None:
    json_case(case)


@given(cases(Options(kinds=TEXT_KINDS)))
@example(_one("object", pd.array(["", None, '""', " ", "x"], dtype=object)))
def test_csv_keeps_the_empty_text_apart_for_a_reader_that_honours_quotes(case: Case) -> None:
    """Arrow's reader, quoted texts never null: ``""`` comes back ``""``, missing missing."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    df, kinds, _ = written(case)
    texts = [name for name, kind in kinds.items() if kind in TEXT_KINDS]
    table = pa_csv.read_csv(
        io.BytesIO(file_bytes(case.frame, "csv")),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in df.columns},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    for name in texts:
        got = pd.Series(table.column(name).to_pylist(), dtype=object)
        assert_column(got, df[name].reset_index(drop=True), kinds[name], name)
