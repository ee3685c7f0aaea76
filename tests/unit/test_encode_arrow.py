"""One encoder for every frame: the same data from pandas, polars and Arrow gives the same bytes
(no sockets)."""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import ColumnError
from nexosis_pandas._encode.encoder import Encoding, encode_dataframe
from nexosis_pandas._inputs import recognise

pl = pytest.importorskip("polars")

N = 3_000  # more rows than the encoder's first chunk, so tables are cut in several places

NAIVE = [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 31, 1, 59, 59, 250_000), None]
ZONED_UTC = [dt.datetime(2024, 3, 31, 0, 30), dt.datetime(2024, 10, 27, 0, 30), None]
DAYS = [dt.date(2024, 1, 31), None, dt.date(1999, 12, 31)]


def _repeat(values: list[Any]) -> list[Any]:
    return (values * (N // len(values) + 1))[:N]


def pandas_frame() -> pd.DataFrame:
    zoned = pd.Series(pd.to_datetime(_repeat(ZONED_UTC))).dt.tz_localize("UTC")
    return pd.DataFrame(
        {
            "ints": pd.array(_repeat([1, None, -3, 2**40]), dtype="Int64"),
            "small_ints": pd.array(_repeat([1, None, 7]), dtype="Int8"),
            "floats": _repeat([1.5, -0.0, None, 3.0, 1e20, 0.1]),
            "whole_floats": _repeat([1.0, 2.0, None, -0.0]),
            "bools": pd.array(_repeat([True, None, False]), dtype="boolean"),
            "strings": pd.Series(_repeat(['say "hi"', "a,b", "", None, "ünï\ncode"]), dtype=object),
            "categories": pd.Categorical(_repeat(["north", None, "south, east"])),
            "days": pd.Series(_repeat(DAYS), dtype=object),
            "naive": pd.Series(pd.to_datetime(_repeat(NAIVE))),
            "zoned": zoned.dt.tz_convert("Europe/Paris"),
        }
    )


def polars_frame() -> Any:
    return pl.DataFrame(
        {
            "ints": pl.Series(_repeat([1, None, -3, 2**40]), dtype=pl.Int64),
            "small_ints": pl.Series(_repeat([1, None, 7]), dtype=pl.Int8),
            "floats": pl.Series(_repeat([1.5, -0.0, float("nan"), 3.0, 1e20, 0.1])),
            "whole_floats": pl.Series(_repeat([1.0, 2.0, None, -0.0])),
            "bools": pl.Series(_repeat([True, None, False]), dtype=pl.Boolean),
            "strings": pl.Series(_repeat(['say "hi"', "a,b", "", None, "ünï\ncode"])),
            "categories": pl.Series(
                _repeat(["north", None, "south, east"]), dtype=pl.Enum(["north", "south, east"])
            ),
            "days": pl.Series(_repeat(DAYS), dtype=pl.Date),
            "naive": pl.Series(_repeat(NAIVE), dtype=pl.Datetime("us")),
            "zoned": pl.Series(
                _repeat(ZONED_UTC), dtype=pl.Datetime("us", "UTC")
            ).dt.convert_time_zone("Europe/Paris"),
        }
    )


def arrow_table() -> pa.Table:
    categories = pa.array(_repeat(["north", None, "south, east"])).dictionary_encode()
    table = pa.table(
        {
            "ints": pa.array(_repeat([1, None, -3, 2**40]), pa.int64()),
            "small_ints": pa.array(_repeat([1, None, 7]), pa.int8()),
            "floats": pa.array(_repeat([1.5, -0.0, None, 3.0, 1e20, 0.1]), pa.float64()),
            "whole_floats": pa.array(_repeat([1.0, 2.0, None, -0.0]), pa.float64()),
            "bools": pa.array(_repeat([True, None, False]), pa.bool_()),
            "strings": pa.array(
                _repeat(['say "hi"', "a,b", "", None, "ünï\ncode"]), pa.large_string()
            ),
            "categories": categories,
            "days": pa.array(_repeat(DAYS), pa.date32()),
            "naive": pa.array(_repeat(NAIVE), pa.timestamp("ms")),
            "zoned": pa.array(_repeat(ZONED_UTC), pa.timestamp("ns", "UTC")).cast(
                pa.timestamp("ns", "Europe/Paris")
            ),
        }
    )
    # several chunks, cut where the encoder does not cut
    return pa.concat_tables([table.slice(0, 1_001), table.slice(1_001, 999), table.slice(2_000)])


def _bytes(frame: Any, fmt: str, compression: str | None) -> bytes:
    return b"".join(encode_dataframe(frame, format=fmt, compression=compression))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_same_data_from_pandas_polars_and_arrow_gives_the_same_bytes(fmt: str) -> None:
    expected = _bytes(pandas_frame(), fmt, "gzip")
    assert _bytes(polars_frame(), fmt, "gzip") == expected
    assert _bytes(arrow_table(), fmt, "gzip") == expected
    text = _bytes(arrow_table(), fmt, None).decode()
    if fmt == "csv":  # the rules the pandas path keeps, as the reader of the file sees them
        assert text.splitlines()[0] == (
            '"ints","small_ints","floats","whole_floats","bools","strings","categories",'
            '"days","naive","zoned"'
        )
        first = (
            '1,1,"1.5","1.0","True","say ""hi""","north","2024-01-31","2024-01-01T00:00:00.000",'
        )
        assert text.splitlines()[1].startswith(first)
        assert '"2024-03-31T01:30:00+01:00"' in text and '"2024-10-27T02:30:00+02:00"' in text
        assert ',"-0.0",' in text and ',"",' in text and "1e+20" in text


def test_the_bytes_do_not_depend_on_how_the_encoder_cuts_the_rows() -> None:
    def cut(frame: Any) -> bytes:
        blocks = Encoding(frame, format="csv", index=None).blocks(
            None, first_rows=7, chunk_bytes=5_000
        )
        return b"".join(data for _, data in blocks)

    assert cut(arrow_table()) == cut(pandas_frame()) == _bytes(pandas_frame(), "csv", None)


def test_lazy_frames_record_batches_readers_datasets_and_arrow_streams_are_taken() -> None:
    expected = _bytes(arrow_table(), "csv", None)
    table = arrow_table()

    class Stream:  # any object that exports the Arrow C stream
        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            return table.__arrow_c_stream__(requested_schema)

    for frame in (
        polars_frame().lazy(),
        table.to_reader(),
        ds.dataset(table),
        Stream(),
    ):
        assert _bytes(frame, "csv", None) == expected, type(frame)
    batch = table.slice(0, 10).combine_chunks().to_batches()[0]
    assert _bytes(batch, "csv", None) == _bytes(pandas_frame().iloc[:10], "csv", None)


def test_a_duckdb_relation_is_taken_through_its_arrow_stream() -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    relation = con.sql(
        "SELECT i::BIGINT AS n, 'x' || i AS s, i % 2 = 0 AS even FROM range(5) t(i) ORDER BY i"
    )
    expected = pd.DataFrame(
        {"n": range(5), "s": [f"x{i}" for i in range(5)], "even": [i % 2 == 0 for i in range(5)]}
    )
    assert _bytes(relation, "csv", None) == _bytes(expected, "csv", None)


def test_nan_in_a_polars_float_column_is_missing_as_in_pandas() -> None:
    frame = pl.DataFrame({"x": [1.5, float("nan"), None]})
    same = pd.DataFrame({"x": [1.5, np.nan, None]})
    assert _bytes(frame, "csv", None) == _bytes(same, "csv", None) == b'"x"\n"1.5"\n""\n""\n'
    assert _bytes(frame, "json", None) == b'[\n{"x":1.5},\n{"x":null},\n{"x":null}\n]\n'


@pytest.mark.parametrize(
    ("column", "words"),
    [
        (pl.Series("d", [dt.timedelta(seconds=1)]), "is a duration"),
        (pl.Series("d", [b"\x00"]), "is binary"),
        (pl.Series("d", [[1, 2]]), "is nested"),
        (pl.Series("d", [{"a": 1}]), "is nested"),
        (pl.Series("d", [dt.time(12)]), "is a time of day"),
    ],
)
def test_types_no_dataset_holds_are_refused_naming_the_column(column: Any, words: str) -> None:
    frame = pl.DataFrame([column, pl.Series("ok", [1])])
    with pytest.raises(
        ColumnError, match=rf"Column 'd' {words}.*: its Arrow type is .*pl.col\('d'\)"
    ):
        Encoding(frame.to_arrow(), format="csv", index=None)
    with pytest.raises(ColumnError, match=rf"Column 'd' {words}"):
        nxp.infer_column_metadata(frame)


@pytest.mark.parametrize("thing", [pd.Series([1]), [1, 2], {"a": [1]}, "a.csv", np.arange(3)])
def test_a_thing_that_is_no_frame_gets_one_short_type_error(thing: Any) -> None:
    with pytest.raises(
        TypeError, match=r"^Expected a DataFrame, got [\w.]+; nexosis_pandas takes a pandas"
    ):
        recognise(thing)
    with pytest.raises(TypeError, match=r"^Expected a DataFrame, got"):
        nxp.upload_dataframe(thing, "s3://bucket/x.csv")


def test_a_polars_series_is_no_frame() -> None:
    with pytest.raises(TypeError, match=r"got polars\.series\.series\.Series"):
        recognise(pl.Series("x", [1]))


def test_repeated_and_empty_names_of_an_arrow_table_are_refused() -> None:
    with pytest.raises(ColumnError, match=r"'a' appears 2 times \(positions 0, 1\)"):
        Encoding(pa.table([[1], [2]], names=["a", "a"]), format="csv", index=None)
    with pytest.raises(ColumnError, match="is empty"):
        Encoding(pa.table([[1]], names=[" "]), format="csv", index=None)
    with pytest.raises(ColumnError, match="no columns"):
        Encoding(pa.table({}), format="csv", index=None)


def test_importing_nexosis_pandas_does_not_import_polars() -> None:
    code = "import sys, nexosis_pandas; assert 'polars' not in sys.modules, 'polars imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_zone_offsets_after_2037_follow_the_zones_rule() -> None:
    """Arrow's zone tables stop in 2037; the offsets go on as zoneinfo and polars give them."""
    utc = [dt.datetime(2038, 7, 1), dt.datetime(2262, 1, 15), dt.datetime(2100, 7, 1, 12)]
    frame = pl.DataFrame({"t": pl.Series(utc, dtype=pl.Datetime("us", "UTC"))}).with_columns(
        pl.col("t").dt.convert_time_zone("Europe/Paris")
    )
    shown = [v.isoformat() for v in frame["t"].to_list()]  # polars' own offsets
    assert shown == [
        "2038-07-01T02:00:00+02:00",
        "2262-01-15T01:00:00+01:00",
        "2100-07-01T14:00:00+02:00",
    ]
    text = _bytes(frame, "csv", None).decode()
    assert text == '"t"\n' + "".join(f'"{s}"\n' for s in shown)


def test_decimals_are_written_as_their_digits_as_pandas_writes_decimal_objects() -> None:
    digits = [decimal.Decimal("1.25"), None, decimal.Decimal("-3.10")]
    pandas = pd.DataFrame({"d": pd.Series(digits, dtype=object), "x": [1, 2, 3]})
    table = pa.table({"d": pa.array(digits, pa.decimal128(5, 2)), "x": [1, 2, 3]})
    for fmt in ("csv", "json"):
        assert _bytes(table, fmt, None) == _bytes(pandas, fmt, None)
    assert _bytes(table, "csv", None) == b'"d","x"\n"1.25",1\n,2\n"-3.10",3\n'


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"note": ["a", "", None]}),
        pa.table({"note": pa.array(["a", "", None]).dictionary_encode()}),
    ],
)
def test_an_empty_string_alone_in_a_csv_is_refused_as_for_pandas(table: pa.Table) -> None:
    with pytest.raises(ColumnError, match=r"Column 'note' holds an empty string \(row 1\)"):
        Encoding(table, format="csv", index=None)
    json_text = b"".join(encode_dataframe(table, format="json", compression=None)).decode()
    assert '"note":""' in json_text.replace(" ", "") and '"note":null' in json_text.replace(" ", "")
    two = table.append_column("n", pa.array([1, 2, 3]))
    csv_text = b"".join(encode_dataframe(two, format="csv", compression=None)).decode()
    assert csv_text.splitlines()[1:] == ['"a",1', '"",2', ",3"]
