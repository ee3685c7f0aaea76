"""``background=True`` end to end: moto's S3 and the reference server on loopback, real threads.

Every wait has a timeout, so a lost thread fails the test rather than hanging it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import nexosis_pandas as nxp
from nexosis_pandas import Client, ImportFailedError, ImportStatus, ImportTimeoutError
from nexosis_pandas.progress import ProgressReporter, WidgetReporter

BUCKET = "test-bucket"


@pytest.fixture
def client(reference_server: Any) -> Iterator[Client]:
    with Client(reference_server.api_key, reference_server.url, timeout=10) as c:
        yield c


def month(number: int, rows: int = 2_000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"m{number:02d}-{i:05d}" for i in range(rows)],
            "day": pd.date_range(f"2024-{number:02d}-01", periods=rows, freq="min"),
            "units": [(i * number) % 17 for i in range(rows)],
        }
    )


class Times(ProgressReporter):
    """When the journey began (in the background thread) and when it ended."""

    def __init__(self) -> None:
        self.began: float | None = None
        self.ended: float | None = None

    def upload_start(self, url: str, total_rows: int | None) -> None:
        self.began = time.monotonic()

    def import_end(self, job: Any, error: BaseException | None = None) -> None:
        self.ended = time.monotonic()


def test_eight_background_imports_all_complete_concurrently(client: Client, s3: Any) -> None:
    reporters = [Times() for _ in range(8)]
    began = time.monotonic()
    jobs = [
        month(m).nexosis.to_dataset(
            f"sales-{m:02d}",
            f"s3://{BUCKET}/bg/{m:02d}.csv.gz",
            key="order_id",
            client=client,
            storage_options=s3.storage_options,
            progress=reporters[m - 1],
            background=True,
            timeout=120,
        )
        for m in range(1, 9)
    ]
    returned = time.monotonic() - began

    done, not_done = nxp.wait(jobs, timeout=120)
    assert not_done == set() and done == set(jobs)
    assert [j.result(timeout=0).status for j in jobs] == [ImportStatus.COMPLETED] * 8
    assert len({j.import_id for j in jobs}) == 8
    for m, job in enumerate(jobs, start=1):
        back = client.read_dataset(job.dataset_name)
        assert job.dataset_name == f"sales-{m:02d}"
        assert len(back) == 2_000 and set(back["order_id"]) == set(month(m)["order_id"])
    # Each ran in its own thread at the same time: every upload began before any import ended.
    assert max(r.began for r in reporters if r.began) < min(r.ended for r in reporters if r.ended)
    print(f"eight background calls returned in {returned:.3f} s")


def test_a_failure_is_raised_by_result_and_shown_in_the_display(client: Client, s3: Any) -> None:
    shown: list[Any] = []
    reporter = WidgetReporter(display=lambda obj, **kw: shown.append(obj))
    frame = pd.DataFrame({"when": ["2024-01-01", "not a date"], "units": [1, 2]})
    job = frame.nexosis.to_dataset(
        "bad",
        f"s3://{BUCKET}/bg-bad.csv.gz",
        columns={"when": {"dataType": "date"}},
        client=client,
        storage_options=s3.storage_options,
        progress=reporter,
        background=True,
    )
    with pytest.raises(ImportFailedError, match="when") as info:
        job.result(timeout=60)
    assert info.value.job is job and job.status is ImportStatus.FAILED
    assert reporter.bar.bar_style == "danger"
    assert "when" in reporter.detail.value
    assert shown[0] is reporter.container
    assert "failed" in shown[-1]["text/html"]


def test_the_timeout_passes_the_import_goes_on_and_get_import_follows_it_again(
    client: Client, s3: Any
) -> None:
    job = month(1, rows=50_000).nexosis.to_dataset(
        "slow",
        f"s3://{BUCKET}/bg-slow.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        background=True,
        timeout=0,  # the wait gives up at its first look; the import goes on
    )
    with pytest.raises(ImportTimeoutError):
        job.result(timeout=60)
    assert job.requested and not job.status.is_terminal

    again = nxp.get_import(job.import_id, client=client)
    assert again.result(timeout=60).status is ImportStatus.COMPLETED
    assert len(client.read_dataset("slow")) == 50_000


def test_cancel_wait_leaves_the_import_running_on_the_server(client: Client, s3: Any) -> None:
    job = month(2, rows=50_000).nexosis.to_dataset(
        "left",
        f"s3://{BUCKET}/bg-left.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        background=True,
    )
    deadline = time.monotonic() + 60
    while not job.requested and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.cancel_wait()
    with pytest.raises(cf.CancelledError):
        job.result(timeout=0)
    assert nxp.get_import(job.import_id, client=client).result(timeout=60).status is (
        ImportStatus.COMPLETED
    )


def test_callbacks_once_and_await(client: Client, s3: Any) -> None:
    calls: list[str] = []
    job = month(3).nexosis.to_dataset(
        "called",
        f"s3://{BUCKET}/bg-called.csv.gz",
        client=client,
        storage_options=s3.storage_options,
        progress=False,
        background=True,
    )
    job.add_done_callback(lambda j: calls.append(j.status.value))

    async def main() -> tuple[Any, Any]:
        other = nxp.import_url(
            "by-url",
            "http://127.0.0.1:9/x.csv",  # refused: a server open to others fetches no loopback
            client=client,
            progress=False,
            background=True,
        )
        return await asyncio.gather(job, other, return_exceptions=True)

    first, second = asyncio.run(asyncio.wait_for(main(), timeout=60))
    assert first is job and job.status is ImportStatus.COMPLETED
    assert isinstance(second, ImportFailedError)
    job.add_done_callback(lambda j: calls.append("again"))  # already done: called at once
    assert calls == ["completed", "again"]


def test_in_a_kernel_the_display_goes_to_the_starting_cell_and_nowhere_else(
    tmp_path: Any,
) -> None:
    """A real ipykernel (nbclient): a cell starts a background import and returns; the next
    cell sleeps while the import runs; a last one waits for it. nbclient files each output
    under the cell whose request it answers, and keeps only what arrives while that cell runs:
    whatever the thread sent with the wrong parent header would show in the later cells."""
    import nbformat as _nbformat
    from nbclient import NotebookClient

    nbformat: Any = _nbformat  # its functions carry no annotations

    cells = [
        "import numpy as np, pandas as pd, nexosis_pandas as nxp\nsb = nxp.sandbox()",
        "frame = pd.DataFrame({'a': np.arange(400_000), 'b': np.arange(400_000) * 0.5})\n"
        "job = frame.nexosis.to_dataset('bg', background=True)",
        "import time\ntime.sleep(4)\nprint('slept')",
        "from nexosis_pandas.progress.widget import summary_cell\n"
        "print(job.result(timeout=120).status.value, summary_cell(job))\nsb.stop()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [cell.outputs for cell in nb.cells]
    assert [o.output_type for o in outputs[2]] == ["stream"] and outputs[2][0].text == "slept\n"
    assert [o.output_type for o in outputs[3]] == ["stream"]
    # Summarised in the second cell, where it started: IPython counts a cell while it runs as
    # the next number (3), the same count ImportJob._repr_html_ compares with.
    assert outputs[3][0].text == "completed 3\n"


def test_a_process_killed_during_its_background_import_loses_nothing(
    client: Client, s3: Any, reference_server: Any
) -> None:
    """As a kernel restart does: the process that followed the import dies (SIGKILL, so no
    handler runs); the import goes on on the server and ``get_import`` follows it again."""
    script = (
        "import time, numpy as np, pandas as pd, nexosis_pandas as nxp\n"
        f"client = nxp.Client({reference_server.api_key!r}, {reference_server.url!r})\n"
        "frame = pd.DataFrame({'a': np.arange(300_000)})\n"
        f"job = frame.nexosis.to_dataset('killed', 's3://{BUCKET}/killed.csv.gz', client=client, "
        f"storage_options={s3.storage_options!r}, background=True, progress=False)\n"
        "while not job.requested:\n    time.sleep(0.01)\n"
        "print(job.import_id, job.status.value, flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        import_id, status = process.stdout.readline().split()
    finally:
        process.kill()
        process.wait(30)
    assert status == "requested"  # it had not ended when its process died

    job = nxp.get_import(import_id, client=client)
    assert job.result(timeout=60).status is ImportStatus.COMPLETED
    assert len(client.read_dataset("killed")) == 300_000


def test_the_sandbox_takes_eight_background_imports_at_once() -> None:
    """The sandbox (its S3 and server in their background process), with its defaults: the
    objects named by content under its prefix, the one default client shared by the threads."""
    with nxp.sandbox() as sb:
        jobs = [
            month(m).nexosis.to_dataset(f"sandbox-{m}", progress=False, background=True)
            for m in range(1, 9)
        ]
        assert nxp.wait(jobs, timeout=120).not_done == set()
        assert {j.result(timeout=0).status for j in jobs} == {ImportStatus.COMPLETED}
        assert len({j.upload.url for j in jobs if j.upload is not None}) == 8
        history = nxp.import_history()
        assert sorted(history["dataset_name"]) == [f"sandbox-{m}" for m in range(1, 9)]
        assert len(sb.client.read_dataset("sandbox-8")) == 2_000
