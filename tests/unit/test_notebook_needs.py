"""``notebook_needs``: the message, and the cells it skips in IPython (a stand-in shell)."""

from __future__ import annotations

from typing import Any

import pytest

from nexosis_pandas import _notebook, notebook_needs


class Shell:
    def __init__(self) -> None:
        self.input_transformers_cleanup: list[Any] = []

    def run(self, source: str) -> list[str]:
        """The lines IPython would run for a cell of ``source``."""
        lines = source.splitlines(keepends=True)
        for transform in self.input_transformers_cleanup:
            lines = transform(lines)
        return lines


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Shell:
    shell = Shell()
    monkeypatch.setattr(_notebook, "_ipython", lambda: shell)
    return shell


def test_all_importable_skips_nothing(shell: Shell, capsys: pytest.CaptureFixture[str]) -> None:
    assert notebook_needs("json", "csv", install="nothing") is True
    assert capsys.readouterr().out == ""
    assert shell.run("x = 1\n") == ["x = 1\n"]


def test_a_missing_module_is_named_and_the_later_cells_are_empty(
    shell: Shell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert notebook_needs("json", "no_such_module", install="'nexosis-pandas[dask]'") is False
    assert capsys.readouterr().out == (
        "Skipping this notebook: no_such_module cannot be imported. "
        "pip install 'nexosis-pandas[dask]'\n"
    )
    assert shell.run("import no_such_module\nprint(1)\n") == []
    check = 'nxp.notebook_needs("json", install="x")\n'
    assert shell.run(check) == [check]  # the cell that checks again still runs


def test_checking_again_once_installed_runs_the_cells_again(shell: Shell) -> None:
    assert notebook_needs("no_such_module", install="x") is False
    assert notebook_needs("no_such_module", install="x") is False
    assert len(shell.input_transformers_cleanup) == 1  # one skip, however often it checks
    assert notebook_needs("json", install="x") is True
    assert shell.input_transformers_cleanup == []
    assert shell.run("x = 1\n") == ["x = 1\n"]
