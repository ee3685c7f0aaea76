"""CellOutput: a background thread's displays go to the cell that started it.

The kernel is replaced by a shell whose display publisher records what it sends: its one
``parent_header`` moves on to the next cell as ipykernel 6.29's does, which is what would send
a thread's output to the wrong cell if the header were read when the output is sent.
"""

from __future__ import annotations

import threading
from typing import Any

import IPython
import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter

import nexosis_pandas  # noqa: F401 - registers df.nexosis
from nexosis_pandas.progress import WidgetReporter
from nexosis_pandas.progress.cell import CellOutput
from nexosis_pandas.progress.widget import summary_cell
from tests.unit.fake_jobs import FakeClient, record
from tests.unit.test_api import FakeFS

WIDGET = "application/vnd.jupyter.widget-view+json"


class FakeSession:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str, str]] = []

    def send(
        self, socket: Any, msg_type: str, content: dict[str, Any], *, parent: Any, ident: Any
    ) -> None:
        self.sent.append((msg_type, content, parent["msg_id"], threading.current_thread().name))


class FakePublisher:
    def __init__(self) -> None:
        self.session = FakeSession()
        self.pub_socket = object()
        self.topic = b"display_data"
        self.parent_header: dict[str, Any] = {"msg_id": "cell-1"}
        self.thread_parents: list[tuple[str, str]] = []

    def set_thread_parent(self, parent: dict[str, Any]) -> None:  # as ipykernel 7.1+ has
        self.thread_parents.append((parent["msg_id"], threading.current_thread().name))


class FakeShell:
    def __init__(self) -> None:
        self.display_pub = FakePublisher()
        self.display_formatter = DisplayFormatter()
        self.execution_count = 1

    def next_cell(self) -> None:
        self.display_pub.parent_header = {"msg_id": "cell-2"}
        self.execution_count = 2


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> FakeShell:
    fake = FakeShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: fake)
    return fake


def test_outside_a_kernel_there_is_no_cell() -> None:
    assert CellOutput.here() is None


def test_a_thread_displays_into_the_cell_it_was_kept_from(shell: FakeShell) -> None:
    cell = CellOutput.here()
    assert cell is not None and cell.number == 1
    shell.next_cell()  # the next cell runs while the thread works

    def work() -> None:
        cell.enter()
        cell.display({"text/html": "<b>done</b>"}, raw=True)
        cell.display(pd.DataFrame({"a": [1]}))

    thread = threading.Thread(target=work, name="worker")
    thread.start()
    thread.join(5)

    sent = shell.display_pub.session.sent
    assert [(t, parent, name) for t, _, parent, name in sent] == [
        ("display_data", "cell-1", "worker"),
        ("display_data", "cell-1", "worker"),
    ]
    assert sent[0][1]["data"] == {"text/html": "<b>done</b>"}
    assert "text/html" in sent[1][1]["data"]  # formatted as IPython's display formats it
    assert shell.display_pub.thread_parents == [("cell-1", "worker")]  # this thread only


def test_a_background_import_draws_its_widget_and_summary_in_its_own_cell(
    shell: FakeShell,
) -> None:
    frame = pd.DataFrame({"units": [3, 5, 2]})
    reporter = WidgetReporter()
    job = frame.nexosis.to_dataset(
        "sales",
        "s3://b/k.csv.gz",
        background=True,
        client=FakeClient([record("started"), record("completed")]),
        fs=FakeFS(),
        progress=reporter,
    )
    shell.next_cell()  # returned at once: the user runs the next cell

    assert job.result(timeout=5).status.value == "completed"
    sent = shell.display_pub.session.sent
    assert [parent for _, _, parent, _ in sent] == ["cell-1", "cell-1"]
    assert all(name.startswith("nexosis import") for _, _, _, name in sent)
    assert WIDGET in sent[0][1]["data"]  # the widget, then the summary
    assert "completed" in sent[1][1]["data"]["text/html"]
    assert reporter.bar.bar_style == "success"
    assert summary_cell(job) == 1  # the starting cell's number, not the running one's
    assert "Timeline" in job._repr_html_()  # in the running cell, cell 2, shown in full
