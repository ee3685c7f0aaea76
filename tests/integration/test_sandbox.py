"""The sandbox and the demo: local S3 + reference server, made the defaults while they run."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import cli, config
from nexosis_pandas._demo import run_demo, sample_sales


def test_the_sandbox_is_the_default_while_it_runs() -> None:
    before = config.get_defaults()
    with nxp.sandbox() as sb:
        assert config.get_defaults().client is sb.client
        assert sb.api_url.startswith("http://127.0.0.1:") and sb.api_url.endswith("/v1")
        assert sb.api_key not in repr(sb) and sb.api_key not in sb._repr_html_()
        frame = pd.DataFrame({"x": [1, 2, 3]})
        job = frame.nexosis.to_dataset("numbers", progress=False)
        assert job.upload is not None and job.upload.url.startswith(sb.s3_prefix)
        assert nxp.import_history()["dataset_name"].tolist() == ["numbers"]
    assert config.get_defaults() == before
    assert repr(sb) == "<Sandbox stopped>"


def test_sandboxes_stopped_in_any_order_leave_no_dead_default() -> None:
    before = config.get_defaults()
    first = nxp.Sandbox().start()
    second = nxp.Sandbox().start()
    assert second is not first
    first.stop()  # the second is still the default and still answers
    assert config.get_defaults().client is second.client
    assert nxp.import_history().empty
    second.stop()
    assert config.get_defaults() == before


def test_calling_sandbox_again_returns_the_running_one_with_its_data() -> None:
    before = config.get_defaults()
    sb = nxp.sandbox()
    try:
        pd.DataFrame({"x": [1, 2, 3]}).nexosis.to_dataset("numbers", progress=False)
        again = nxp.sandbox()  # a notebook cell run a second time
        assert again is sb and sb.running
        assert config.get_defaults().client is sb.client
        assert sb.client.read_dataset("numbers")["x"].tolist() == [1, 2, 3]
        with nxp.sandbox(bucket="other") as other:  # other options: another sandbox
            assert other is not sb
    finally:
        sb.stop()
    assert config.get_defaults() == before


def test_without_the_local_extra_the_sandbox_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    with pytest.raises(nxp.ConfigurationError, match=r"pip install 'nexosis-pandas\[local\]'"):
        nxp.sandbox()


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "270 rows, 3 stores, 2026-01-01 to 2026-03-31: as imported" in out
    assert out.count("completed") >= 2


def test_the_demo_dataset_holds_the_sample_columns() -> None:
    back = run_demo(echo=lambda line: None)
    assert list(back.columns) == list(sample_sales().columns)


def test_the_demo_fails_with_a_sentence_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nexosis-pandas demo failed: ") and "Traceback" not in err


def test_sample_sales_is_reproducible_and_messy() -> None:
    sales = sample_sales()
    pd.testing.assert_frame_equal(sales, sample_sales())
    assert sales["temperature"].isna().any()
    assert not sales.duplicated(["store", "date"]).any()
    assert len(run_demo(echo=lambda line: None)) == len(sales)
