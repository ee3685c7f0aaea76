"""The embedded demo: the whole journey, offline, in a sandbox (``nexosis-pandas demo``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["check_read_back", "run_demo", "sample_sales"]


def sample_sales(
    start: str = "2026-01-01", end: str = "2026-03-31", *, stores: int = 3, seed: int = 7
) -> pd.DataFrame:
    """Daily unit sales of a few stores: a timestamp, a key, a target and some missing values.

    Parameters
    ----------
    start, end
        The first and last day (inclusive).
    stores
        How many stores.
    seed
        The random seed; the same arguments give the same frame.

    Examples
    --------
    >>> sample_sales(stores=2).head(2)  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    frames = []
    for number in range(1, stores + 1):
        n = len(days)
        weekday = days.day_of_week.to_numpy()
        promo = rng.random(n) < 0.15
        temperature = np.round(rng.normal(5 + number, 6, n), 1)
        temperature[rng.random(n) < 0.08] = np.nan
        base = 40 * number + 12 * (weekday >= 5) + 25 * promo - 0.4 * np.nan_to_num(temperature)
        units = np.maximum(0, np.round(base + rng.normal(0, 6, n))).astype("int64")
        frames.append(
            pd.DataFrame(
                {
                    "date": days,
                    "store": f"store-{number}",
                    "units": units,
                    "price": np.round(rng.uniform(9.5, 12.5, n), 2),
                    "promo": promo,
                    "temperature": temperature,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def check_read_back(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Check that a dataset read back holds the data imported, row for row.

    Both frames must be in the same row order. The column names and the row count must match,
    and every column's values; the dtypes may differ (numbers may come back as floats, flags
    as the nullable ``boolean``, text as ``object``), and naive datetimes compare as UTC, as
    the API reads them.

    Raises
    ------
    AssertionError
        Naming the first difference: the columns, the row count, or the column whose values
        differ.

    Examples
    --------
    >>> sent = pd.DataFrame({"day": pd.to_datetime(["2026-01-01"]), "units": [3]})
    >>> back = pd.DataFrame({"day": pd.to_datetime(["2026-01-01"], utc=True), "units": [3.0]})
    >>> check_read_back(back, sent)
    """
    assert list(got.columns) == list(expected.columns), (
        f"expected the columns {list(expected.columns)}, read back {list(got.columns)}"
    )
    assert len(got) == len(expected), f"expected {len(expected)} rows, read back {len(got)}"
    for name in expected.columns:
        want, have = expected[name].reset_index(drop=True), got[name].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(want):
            want = want.dt.tz_localize("UTC") if want.dt.tz is None else want.dt.tz_convert("UTC")
            have = pd.to_datetime(have, utc=True)
        elif pd.api.types.is_numeric_dtype(want):  # ints, floats and bools
            want = want.astype("float64")
            have = pd.to_numeric(have.astype("object"), errors="coerce").astype("float64")
        else:
            want, have = want.astype("object"), have.astype("object")
        try:
            pd.testing.assert_series_equal(have, want, check_dtype=False, check_names=False)
        except AssertionError as exc:
            raise AssertionError(f"column {name!r} differs from the data imported: {exc}") from None


def run_demo(*, echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Run the demo end to end in a sandbox; return the dataset as read back.

    Builds a sample frame, imports January and February, then imports March with a correction
    of the last week of February into the same dataset (an upsert on store and date), shows the
    import history, reads the dataset back and checks every column (:func:`check_read_back`).

    Raises
    ------
    AssertionError
        The dataset read back is not the data imported.
    """
    import nexosis_pandas as nxp

    started = time.monotonic()
    sales = sample_sales()
    first = sales[sales["date"] < "2026-03-01"]
    corrected = sales[sales["date"] >= "2026-02-22"].copy()
    corrected.loc[corrected["date"] < "2026-03-01", "units"] += 100

    with nxp.Sandbox() as sb:  # its own: a running sandbox of the user is left alone
        echo(f"Sandbox: reference server at {sb.api_url}, local S3 at {sb.s3_endpoint_url}")
        roles = {"target": "units", "timestamp": "date", "key": "store"}
        echo(f"\n1. Importing {len(first)} rows (January and February) into 'store-sales'")
        job = first.nexosis.to_dataset("store-sales", progress="text", **roles)
        echo(f"   {job!r}")
        echo(f"\n2. Importing {len(corrected)} rows (March, and a corrected last week of February)")
        job = corrected.nexosis.to_dataset("store-sales", progress="text", **roles)
        echo(f"   {job!r}")

        history = nxp.import_history(dataset_name="store-sales")
        echo("\n3. Import history")
        echo(history[["import_id", "status", "path", "duration"]].to_string())

        echo("\n4. Reading the dataset back")
        data = sb.client.read_dataset("store-sales")
        expected = (
            pd.concat([first[first["date"] < "2026-02-22"], corrected])
            .sort_values(["store", "date"])
            .reset_index(drop=True)
        )
        got = data.sort_values(["store", "date"]).reset_index(drop=True)
        check_read_back(got, expected)
        echo(
            f"   {len(got)} rows, {got['store'].nunique()} stores, "
            f"{got['date'].min():%Y-%m-%d} to {got['date'].max():%Y-%m-%d}: as imported"
        )
    echo(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    return data
