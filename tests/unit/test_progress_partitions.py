"""The one display of a Dask upload: partitions done and the dashboard link, text and widget."""

from __future__ import annotations

import io

from nexosis_pandas.progress import TextReporter, WidgetReporter
from tests.unit.fake_jobs import FakeTime
from tests.unit.test_progress import Shown

URL = "s3://bucket/big.csv.gz"
BOARD = "http://127.0.0.1:8787/status"


def test_text_names_the_partitions_and_the_dashboard() -> None:
    t = FakeTime()
    out = io.StringIO()
    r = TextReporter(out, min_interval=0, clock=t.clock)
    r.upload_start(URL, 1000)
    r.upload_partitions(0, 8, BOARD)
    t.advance(1)
    r.upload_partitions(3, 8, BOARD)
    r.upload_update(375, 4096)
    lines = out.getvalue().splitlines()
    assert lines[1] == f"nexosis: the Dask workers upload 8 partitions; Dask dashboard: {BOARD}"
    assert lines[2].endswith(", 3/8 partitions)")


def test_text_without_a_distributed_client_has_no_dashboard() -> None:
    out = io.StringIO()
    r = TextReporter(out, min_interval=0, clock=FakeTime().clock)
    r.upload_start(URL, 10)
    r.upload_partitions(0, 2)
    assert out.getvalue().splitlines()[1] == "nexosis: the Dask workers upload 2 partitions"


def test_widget_counts_partitions_and_links_the_dashboard() -> None:
    t = FakeTime()
    shown = Shown()
    r = WidgetReporter(display=shown, clock=t.clock)
    r.upload_start(URL, 1000)
    r.upload_partitions(0, 8, BOARD)
    r.upload_partitions(5, 8, BOARD)
    r.upload_update(625, 4096)
    assert r.detail.value.startswith("5 / 8 partitions &middot; 625 / 1,000 rows")
    assert f"<a href='{BOARD}' target='_blank'>Dask dashboard</a>" in r.detail.value
    assert len(shown.items) == 1  # still the one display
