"""Property: the same data held by pandas, by Arrow and by polars gives the same bytes.

Every frame the pandas strategies draw (each column kind, missing values, every datetime unit
and the zones with odd offsets) is turned into the Arrow table ``pyarrow.Table.from_pandas``
makes of it and into the polars frame ``polars.from_arrow`` makes of that; the encoder, which
formats Arrow columns without pandas, must write byte for byte what it writes for the pandas
frame, in CSV and in JSON. No sockets.

A zone's offsets are those of ``zoneinfo`` (pandas 3's zones, and polars'), also after 2037
where the tzdata tables stop and Arrow's own rules with them. pandas 2 holds ``pytz`` zones,
which stop at 2037 too and round a local mean time to the minute, so the pandas frame the
bytes are compared with holds its zones as ``zoneinfo``: the same instants and zones.
"""

from __future__ import annotations

import gzip
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given

from nexosis_pandas._encode.encoder import encode_dataframe
from tests.property.strategies import Case, cases
from tests.property.test_file_round_trip import _lmt, _one, written

pl = pytest.importorskip("polars")


def _text(frame: Any, fmt: str) -> bytes:
    return gzip.decompress(b"".join(encode_dataframe(frame, format=fmt)))  # type: ignore[arg-type]


def _with_zoneinfo(df: pd.DataFrame) -> pd.DataFrame:
    zoned = {c: df[c] for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)}
    return df.assign(
        **{str(c): v.dt.tz_convert(zoneinfo.ZoneInfo(str(v.dt.tz))) for c, v in zoned.items()}
    )


def assert_same_bytes(case: Case, fmt: str) -> None:
    df = written(case)[0].reset_index(drop=True)  # the index as the file writes it: columns
    expected = _text(_with_zoneinfo(df), fmt)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert _text(table, fmt) == expected, "arrow"
    assert _text(pl.from_arrow(table), fmt) == expected, "polars"


@given(cases())
@example(_one("float64", np.array([1.0, -0.0, 5e-324, 0.1, np.nan, 12345678901234567.0])))
@example(_one("Int64", pd.array([2**63 - 1, None, -(2**63)], dtype="Int64")))
@example(_one("object", pd.array(["08123", "", None, "NA", "a\r\nb", ' "q" '], dtype=object)))
@example(_lmt())
def test_csv_bytes_are_the_same_from_pandas_arrow_and_polars(case: Case) -> None:
    assert_same_bytes(case, "csv")


@given(cases())
@example(_one("object", pd.array(["", None, "null", "\u2028", "\x00"], dtype=object)))
@example(_lmt())
def test_json_bytes_are_the_same_from_pandas_arrow_and_polars(case: Case) -> None:
    assert_same_bytes(case, "json")
