"""Property: a polars frame, or an Arrow table, sent to a dataset comes back equal in its library.

polars frames are drawn by polars' own strategies (``polars.testing.parametric.dataframes``:
every integer width, floats with NaN, booleans, strings, categoricals, dates, datetimes with
and without a zone, nulls and chunked columns); Arrow tables are the tables
``pyarrow.Table.from_pandas`` makes of the frames the pandas strategies draw. Each goes
through moto's S3 and the reference server over HTTP, and ``read_dataset(backend=...)`` must
give the frame that went in, with the types of the guide's "What round-trips exactly" table
(:func:`expected_polars`, :func:`expected_arrow`). One S3 server and one reference server serve
the module; every example imports into a dataset of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings

import nexosis_pandas as nxp
from nexosis_pandas import Client
from tests.property.strategies import Case, Options, cases

pl = pytest.importorskip("polars")
from polars.testing import assert_frame_equal  # noqa: E402
from polars.testing.parametric import dataframes  # noqa: E402

BUCKET = "frames-property-bucket"
POLARS_TYPES = [
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.Float64,
    pl.Boolean,
    pl.String,
    pl.Categorical,
    pl.Date,
    pl.Datetime("ms"),
    pl.Datetime("us"),
    pl.Datetime("us", "UTC"),
    pl.Datetime("us", "Europe/Paris"),
    pl.Datetime("ms", "America/St_Johns"),
]
_names = itertools.count()


def examples(share: float) -> settings:
    """This test's examples: a share of the profile's (an import costs a round of HTTP)."""
    return settings(max_examples=max(5, int(settings().max_examples * share)))


class Sandbox:
    def __init__(self, s3: Any, server: Any) -> None:
        self.s3 = s3
        self.client = Client(server.api_key, server.url, timeout=30)

    def round_trip(self, frame: Any, backend: str, fmt: str) -> Any:
        dataset = f"frames-{next(_names)}"
        nxp.import_dataframe(
            frame,
            dataset,
            f"s3://{BUCKET}/{dataset}.{fmt}.gz",
            client=self.client,
            storage_options=self.s3.storage_options,
            progress=False,
            timeout=60,
        )
        read: Any = nxp.read_dataset  # backend= is one of its literal overloads
        return read(dataset, backend=backend, client=self.client)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from nexosis_pandas._local_s3 import LocalS3
    from nexosis_pandas.server import ReferenceServer

    with LocalS3() as s3:
        s3.create_bucket(BUCKET)
        with ReferenceServer(
            data_dir=tmp_path_factory.mktemp("server-data"),
            api_keys=["property-key"],
            s3_endpoint_url=s3.endpoint_url,
            s3_storage_options=s3.storage_options,
        ) as server:
            sb = Sandbox(s3, server)
            yield sb
            sb.client.close()


def expected_polars(frame: Any) -> Any:
    """The polars frame ``read_dataset(backend="polars")`` gives for ``frame``: the guide's
    table. Integers are ``Int64`` (``Float64`` when no value says they are integers), floats
    ``Float64`` with NaN missing, categoricals ``String``, dates and datetimes UTC ``us``."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_integer():
            empty = frame[name].null_count() == frame.height
            exprs.append(col.cast(pl.Float64 if empty else pl.Int64))
        elif dtype.is_float():
            exprs.append(col.cast(pl.Float64).fill_nan(None))
        elif dtype == pl.Categorical:
            exprs.append(col.cast(pl.String))
        elif dtype == pl.Date:
            exprs.append(col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        elif isinstance(dtype, pl.Datetime):
            utc = (
                col.dt.replace_time_zone("UTC")
                if dtype.time_zone is None
                else col.dt.convert_time_zone("UTC")
            )
            exprs.append(utc.dt.cast_time_unit("us"))
        else:
            exprs.append(col)
    return frame.select(exprs)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@examples(0.5)
@given(
    frame=dataframes(
        allowed_dtypes=POLARS_TYPES,
        max_cols=6,
        max_size=8,
        allow_infinity=False,  # refused before upload, as for pandas
        allow_time_zones=False,  # the zones are those of POLARS_TYPES
    )
)
def test_a_polars_frame_comes_back_as_the_same_polars_frame(
    sandbox: Sandbox, fmt: str, frame: Any
) -> None:
    sent = frame.with_row_index("row")
    back = sandbox.round_trip(sent, "polars", fmt).sort("row")
    assert isinstance(back, pl.DataFrame)
    expected = expected_polars(sent)
    assert back.columns == expected.columns
    assert_frame_equal(back, expected, check_exact=True)


def _expected_array(values: pa.ChunkedArray) -> pa.Array:
    t = values.type
    array = values.combine_chunks()
    empty = array.null_count == len(array)
    if pa.types.is_integer(t):
        return pc.cast(array, pa.float64() if empty else pa.int64())
    if pa.types.is_floating(t):
        floats = pc.cast(array, pa.float64())
        return pc.if_else(pc.is_nan(floats), pa.scalar(None, pa.float64()), floats)
    if pa.types.is_null(t):  # no value, no type: sent as text
        return pa.nulls(len(array), pa.string())
    if pa.types.is_dictionary(t) or pa.types.is_large_string(t):
        return pc.cast(array, pa.string())
    if pa.types.is_date(t):
        return pc.cast(pc.cast(array, pa.timestamp("us")), pa.timestamp("us", "UTC"))
    if pa.types.is_timestamp(t):
        return pc.cast(array, pa.timestamp("us", "UTC"))  # the same instants, in UTC
    return array


def expected_arrow(table: pa.Table) -> pa.Table:
    """The table ``read_dataset(backend="pyarrow")`` gives for ``table``: the guide's table.
    Integers are ``int64`` (``double`` when no value says they are integers), floats
    ``double``, dictionaries and the ``null`` type ``string``, dates and timestamps
    ``timestamp[us, tz=UTC]``."""
    return pa.table({name: _expected_array(table.column(name)) for name in table.column_names})


@pytest.mark.parametrize("fmt", ["csv", "json"])
@examples(0.5)
@given(case=cases(Options(sub_micro=False)))
def test_an_arrow_table_comes_back_as_the_same_arrow_table(
    sandbox: Sandbox, fmt: str, case: Case
) -> None:
    df = case.frame.reset_index(drop=case.index not in ("named", "datetime", "labels"))
    table = pa.Table.from_pandas(df, preserve_index=False)
    back = sandbox.round_trip(table, "pyarrow", fmt)
    assert isinstance(back, pa.Table)
    back = back.sort_by("row")
    expected = expected_arrow(table.sort_by("row"))
    assert back.column_names == expected.column_names
    for name in expected.column_names:
        got, want = back.column(name).combine_chunks(), expected.column(name).combine_chunks()
        assert got.type == want.type, f"{name}: {got.type} came back, expected {want.type}"
        assert got.equals(want), f"{name}: {got.to_pylist()} came back for {want.to_pylist()}"
