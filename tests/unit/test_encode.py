"""The serialisation rules of ``encode_dataframe``: read back with pandas, no sockets."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nexosis_pandas._encode.encoder import Encoding, Format, encode_dataframe
from nexosis_pandas._frame import validate_column_names
from nexosis_pandas._html import format_bytes
from nexosis_pandas._storage.upload import S3Object
from nexosis_pandas.exceptions import ColumnError
from tests.pandas_compat import EXACT_FLOATS


def _any(value: Any) -> Any:
    """Hands test data to functions whose stubs are narrower than what pandas accepts."""
    return value


def text(df: pd.DataFrame, **kwargs: Any) -> str:
    return b"".join(encode_dataframe(df, compression=None, **kwargs)).decode("utf-8")


def read_back(df: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    back: pd.DataFrame = pd.read_csv(
        io.StringIO(text(df, **kwargs)), keep_default_na=False, na_values=[""], **EXACT_FLOATS
    )
    return back


def every_dtype(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    floats = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n)
    floats[1] = np.nan
    return pd.DataFrame(
        {
            "int": np.arange(n, dtype="int64") - 3,
            "uint8": np.arange(n, dtype="uint8"),
            "nullable_int": pd.array([1, None, 3, 2**62, -5, None], dtype="Int64")[:n],
            "float": floats,
            "float32": np.linspace(0, 1, n, dtype="float32"),
            "bool": [True, False] * (n // 2),
            "nullable_bool": pd.array([True, None, False] * (n // 3), dtype="boolean"),
            "str": ["plain", 'quote "q"', "comma, here", "line\nbreak", "ünïcødé ✓", None][:n],
            "category": pd.Categorical(["red", "green", None, "red", "blue", "green"][:n]),
            "utc": pd.date_range("2024-03-30 23:00", periods=n, freq="h", tz="UTC"),
            "paris": pd.date_range("2024-03-30 23:00", periods=n, freq="h", tz="UTC").tz_convert(
                "Europe/Paris"
            ),
            "naive": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )


def test_every_dtype_round_trips_through_pandas() -> None:
    df = every_dtype()
    df.loc[2, "utc"] = pd.NaT
    back = pd.read_csv(
        io.StringIO(text(df)),
        dtype={"nullable_int": "Int64", "nullable_bool": "boolean", "str": "object"},
        **EXACT_FLOATS,
    )
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_series_equal(back["int"], df["int"])
    assert back["uint8"].tolist() == df["uint8"].tolist()
    pd.testing.assert_series_equal(back["nullable_int"], df["nullable_int"])
    pd.testing.assert_series_equal(back["float"], df["float"], check_exact=True)
    assert back["float32"].astype("float32").tolist() == df["float32"].tolist()
    pd.testing.assert_series_equal(back["bool"], df["bool"])
    pd.testing.assert_series_equal(back["nullable_bool"], df["nullable_bool"])
    assert back["str"].tolist()[:5] == df["str"].tolist()[:5]
    assert pd.isna(back["str"][5])
    assert back["category"].tolist()[:2] == ["red", "green"] and pd.isna(back["category"][2])
    utc = pd.to_datetime(back["utc"], format="ISO8601")
    assert str(utc.dt.tz) == "UTC"
    pd.testing.assert_series_equal(utc, df["utc"], check_dtype=False)
    paris = pd.to_datetime(back["paris"], format="ISO8601", utc=True).dt.tz_convert("Europe/Paris")
    pd.testing.assert_series_equal(paris, df["paris"], check_dtype=False)
    naive = pd.to_datetime(back["naive"], format="ISO8601")
    pd.testing.assert_series_equal(naive, df["naive"], check_dtype=False)


def test_text_follows_the_rules() -> None:
    df = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "s": ['a "b"', None],
            "b": [True, False],
            "f": [0.5, np.nan],
            "t": pd.to_datetime(_any(["2024-01-02 03:04:05", None])).tz_localize("UTC"),
        }
    )
    assert text(df) == (
        '"n","s","b","f","t"\n1,"a ""b""","True",0.5,"2024-01-02T03:04:05+00:00"\n,,"False",,\n'
    )


@pytest.mark.parametrize(
    "value",
    [0.1, 1 / 3, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.123456789, 2.0**60, -1e22],
)
def test_floats_round_trip_exactly(value: float) -> None:
    df = pd.DataFrame({"f": [value, 0.25, np.nan]})
    assert read_back(df)["f"][0] == value


def test_a_float_column_of_whole_numbers_stays_float() -> None:
    df = pd.DataFrame({"f": [1.0, 2.0, -0.0, 1e16, np.nan]})
    back = read_back(df)
    assert back["f"].dtype == np.float64
    assert np.signbit(back["f"][2])
    assert "1.0" in text(df) and "-0.0" in text(df)


def test_negative_zero_keeps_its_sign_in_a_fractional_column() -> None:
    back = read_back(pd.DataFrame({"f": [0.5, -0.0]}))
    assert np.signbit(back["f"][1])


def test_integers_are_never_written_as_floats() -> None:
    df = pd.DataFrame(
        {"n": pd.array([1, None, 3], dtype="Int64"), "u": pd.array([1, 2, None], dtype="UInt32")}
    )
    assert text(df) == '"n","u"\n1,1\n,2\n3,\n'


def test_datetimes_have_one_format_per_column_and_their_offsets() -> None:
    df = pd.DataFrame(
        {
            "frac": pd.to_datetime(
                _any(["2024-01-01 00:00:00", "2024-01-01 00:00:00.25", None]), format="ISO8601"
            ),
            "paris": pd.to_datetime(
                _any(["2024-01-15 12:00", "2024-07-15 12:00", None])
            ).tz_localize("Europe/Paris"),
            "ny": pd.to_datetime(
                ["2024-01-15 12:00", "2024-07-15 12:00", "2024-07-15 00:00"]
            ).tz_localize("America/New_York"),
        }
    )
    lines = text(df).splitlines()
    assert (
        lines[1]
        == '"2024-01-01T00:00:00.000","2024-01-15T12:00:00+01:00","2024-01-15T12:00:00-05:00"'
    )
    assert (
        lines[2]
        == '"2024-01-01T00:00:00.250","2024-07-15T12:00:00+02:00","2024-07-15T12:00:00-04:00"'
    )
    assert lines[3] == ',,"2024-07-15T00:00:00-04:00"'


def test_datetimes_of_years_past_9999_take_the_general_path() -> None:
    # (the upload refuses them; the encoder still writes each value's own width)
    stamps = np.array(["2024-01-01T10:00", "12000-01-01", "NaT"], dtype="datetime64[s]")
    df = pd.DataFrame({"t": pd.Series(stamps).dt.tz_localize("UTC"), "n": pd.Series(stamps)})
    assert text(df).splitlines()[1:] == [
        '"2024-01-01T10:00:00+00:00","2024-01-01T10:00:00"',
        '"12000-01-01T00:00:00+00:00","12000-01-01T00:00:00"',
        ",",
    ]


def test_datetimes_with_nanoseconds_and_arrow_timestamps() -> None:
    df = pd.DataFrame(
        {
            "ns": pd.to_datetime(["2024-01-01 00:00:00.000000001"]),
            "arrow": pd.Series(pd.to_datetime(["2024-01-01 10:00"])).astype(  # type: ignore[call-overload]
                "timestamp[us, tz=UTC][pyarrow]"
            ),
        }
    )
    assert text(df).splitlines()[1] == '"2024-01-01T00:00:00.000000001","2024-01-01T10:00:00+00:00"'


def test_string_flavours_and_mixed_objects() -> None:
    df = pd.DataFrame(
        {
            "obj": pd.Series(["a", None], dtype=object),
            "python": pd.Series(["b", None], dtype="string[python]"),
            "arrow": pd.Series(["c", None], dtype="string[pyarrow]"),
            "mixed": pd.Series([1, "x"], dtype=object),
            "delta": pd.to_timedelta(["1h", None]),
            "dates": pd.Series([pd.Timestamp("2024-01-01").date(), None], dtype=object),
        }
    )
    assert text(df).splitlines()[1:] == [
        '"a","b","c","1","0 days 01:00:00","2024-01-01"',
        ',,,"x",,',
    ]


def test_a_sparse_column_is_written_as_its_dense_values() -> None:
    df = pd.DataFrame(
        {
            "f": pd.arrays.SparseArray([0.0, 1.5, 0.0, np.nan]),
            "i": pd.arrays.SparseArray([0, 0, 7, 0]),
            "b": pd.arrays.SparseArray([False, True, False, False]),
        }
    )
    dense = df.astype({"f": "float64", "i": "int64", "b": bool})
    assert not any(isinstance(t, pd.SparseDtype) for t in dense.dtypes)
    assert text(df) == text(dense)
    assert text(df).splitlines()[1:] == ['0,0,"False"', '1.5,0,"True"', '0,7,"False"', ',0,"False"']
    assert text(df, format="json") == text(dense, format="json")


@pytest.mark.parametrize(
    ("column", "row"),
    [
        (pd.Series([b"\x00\x01", None], dtype=object), 0),
        (pd.Series(["a", 1, b"b"], dtype=object), 2),
        (pd.Series(pd.Categorical(["x", b"y"])), 1),
    ],
    ids=["bytes", "mixed", "category"],
)
@pytest.mark.parametrize("format", ["csv", "json"])
def test_bytes_are_refused_not_written_as_their_repr(
    column: pd.Series, row: int, format: Format
) -> None:
    refused = rf"Column 'b' holds bytes \(row {row}, 1 in all\)"
    with pytest.raises(ColumnError, match=refused) as info:
        text(pd.DataFrame({"n": range(len(column)), "b": column}), format=format)
    assert ".str.decode('utf-8')" in str(info.value) and "base64" in str(info.value)
    assert info.value.column == "b"


def test_categories_are_written_as_their_values() -> None:
    df = pd.DataFrame(
        {
            "ints": pd.Categorical([10, None, 20]),
            "times": pd.Categorical(_any(pd.to_datetime(_any(["2024-01-01", "2024-01-01", None])))),
            "bools": pd.Categorical([True, False, None]),
        }
    )
    assert text(df).splitlines()[1:] == [
        '10,"2024-01-01T00:00:00","True"',
        ',"2024-01-01T00:00:00","False"',
        "20,,",
    ]


# ---------------------------------------------------------------------------------- the index


def test_default_range_index_is_not_written() -> None:
    assert text(pd.DataFrame({"a": [1, 2]})) == '"a"\n1\n2\n'


def test_named_index_is_written() -> None:
    df = pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    assert text(df) == '"key","a"\n"x",1\n"y",2\n'


def test_datetime_index_becomes_a_column() -> None:
    df = pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2024-01-01", periods=2, tz="UTC"))
    assert text(df).splitlines() == [
        '"index","a"',
        '"2024-01-01T00:00:00+00:00",1',
        '"2024-01-02T00:00:00+00:00",2',
    ]


def test_index_true_and_false() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    assert text(df, index=True) == '"index","a"\n0,1\n1,2\n'
    named = df.set_index(pd.Index([5, 6], name="k"))
    assert text(named, index=False) == '"a"\n1\n2\n'


def test_a_sliced_or_filtered_index_is_written() -> None:
    df = pd.DataFrame({"a": [1, 2, 3]})
    assert text(df.iloc[1:]) == '"index","a"\n1,2\n2,3\n'


def test_multiindex_levels_become_columns() -> None:
    df = pd.DataFrame(
        {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", None])
    )
    assert text(df) == '"k","level_1","v"\n"a",1,1\n"b",2,2\n'


def test_index_named_like_a_column_is_an_error() -> None:
    df = pd.DataFrame({"a": [1]}, index=pd.Index([0], name="a"))
    with pytest.raises(ColumnError, match="index=False"):
        encode_dataframe(df)
    assert text(df, index=False) == '"a"\n1\n'


# ---------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("columns", "column", "words"),
    [
        (["a", "a"], "a", "appears 2 times"),
        (["a", 0], 0, "is a int, not a string"),
        (["a", ""], "", "empty"),
        (["a", "  "], "  ", "empty"),
        (["a", 1.5], 1.5, "is a float, not a string"),
    ],
)
def test_bad_column_names(columns: list[Any], column: Any, words: str) -> None:
    df = pd.DataFrame([[1, 2]], columns=columns)
    with pytest.raises(ColumnError, match=words) as info:
        encode_dataframe(df)
    assert info.value.column == column
    assert "rename" in str(info.value).lower()


def test_multiindex_columns_are_an_error() -> None:
    df = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(ColumnError, match="Flatten"):
        validate_column_names(df)


def test_validate_column_names_returns_the_header() -> None:
    df = pd.DataFrame({"a": [1]}, index=pd.Index([3], name="k"))
    assert validate_column_names(df) == ["k", "a"]
    assert validate_column_names(df, index=False) == ["a"]


def test_not_a_dataframe() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        encode_dataframe(pd.Series([1]))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- empty frames


def test_empty_frame_with_columns_is_a_header() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype=str)})
    assert text(df) == '"a","b"\n'
    assert json.loads(text(df, format="json")) == []


def test_frame_without_columns_is_an_error() -> None:
    for df in (pd.DataFrame(), pd.DataFrame(index=range(3))):
        with pytest.raises(ColumnError, match="no columns"):
            encode_dataframe(df)


# ---------------------------------------------------------------------------------- JSON


def test_json_is_an_array_of_flat_objects() -> None:
    df = every_dtype()
    records = json.loads(text(df, format="json"))
    assert len(records) == len(df)
    assert all(list(r) == list(df.columns) for r in records)
    first, second = records[0], records[1]
    assert first["int"] == -3 and isinstance(first["int"], int)
    assert first["bool"] is True and second["bool"] is False
    assert second["nullable_int"] is None and second["float"] is None
    assert first["float"] == df["float"][0]
    assert first["str"] == "plain" and records[3]["str"] == "line\nbreak"
    assert records[4]["str"] == "ünïcødé ✓"
    assert first["utc"] == "2024-03-30T23:00:00+00:00"
    assert records[3]["paris"] == "2024-03-31T04:00:00+02:00"
    assert first["naive"] == "2024-01-01T00:00:00"
    assert first["category"] == "red" and records[2]["category"] is None


def test_json_whole_floats_keep_a_decimal_point() -> None:
    assert text(pd.DataFrame({"f": [1.0, 0.5]}), format="json") == '[\n{"f":1.0},\n{"f":0.5}\n]\n'


def test_json_rejects_infinity() -> None:
    with pytest.raises(ColumnError, match="infinite"):
        encode_dataframe(pd.DataFrame({"f": [1.0, np.inf]}), format="json")


# ---------------------------------------------------------------------------------- bytes


def test_gzip_is_the_plain_text_compressed_with_a_fixed_timestamp() -> None:
    df = every_dtype()
    packed = b"".join(encode_dataframe(df))
    assert packed[:2] == b"\x1f\x8b" and packed[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(packed).decode() == text(df)


def test_identical_frames_give_identical_bytes() -> None:
    assert b"".join(encode_dataframe(every_dtype())) == b"".join(encode_dataframe(every_dtype()))


@pytest.mark.parametrize("format", ["csv", "json"])
def test_chunking_does_not_change_the_bytes(format: Format) -> None:
    n = 5_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "f": rng.random(n),
            "s": rng.choice(_any(["a", "b,c", None]), n),
            "t": pd.date_range("2024-01-01", periods=n, freq="s", tz="Europe/Paris"),
            "c": pd.Categorical(rng.choice(["x", "y"], n)),
        }
    )
    whole = text(df, format=format)
    small = list(Encoding(df, format=format, index=None).chunks(first_rows=7, chunk_bytes=1000))
    assert len(small) > 20  # many chunks, of many sizes
    assert b"".join(data for _, data in small).decode("utf-8") == whole
    assert [rows for rows, _ in small][-1] == n
    if format == "json":
        assert len(json.loads(whole)) == n


def test_bad_options() -> None:
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="format"):
        encode_dataframe(df, format="parquet")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compression"):
        encode_dataframe(df, compression="bz2")  # type: ignore[arg-type]


def test_s3object_reprs() -> None:
    obj = S3Object(
        url="s3://b/k.csv.gz",
        bucket="b",
        key="k.csv.gz",
        region="us-east-1",
        format="csv",
        compression="gzip",
        rows=3,
        columns=("a", "<b>"),
        bytes_uncompressed=2_500_000,
        bytes_written=1_000,
        etag="abc-2",
        sha256="0" * 64,
        seconds=0.5,
    )
    assert "s3://b/k.csv.gz" in repr(obj) and "rows=3" in repr(obj)
    page = obj._repr_html_()
    assert "<table>" in page and "&lt;b&gt;" in page and "2.5 MB uncompressed" in page
    assert obj.mb_per_second == pytest.approx(5.0)
    # sizes read as everywhere else (ImportJob, the progress display): one formatter
    huge = dataclasses.replace(obj, bytes_written=1_500_000_000_000)
    assert format_bytes(huge.bytes_written) == "1.5 TB"
    assert "1.5 TB written" in huge._repr_html_()
