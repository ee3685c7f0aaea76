"""The notebooks in ``notebooks/`` run from top to bottom and show what they teach.

Each is executed with nbclient in a ``python3`` kernel (this interpreter's ipykernel), offline:
the notebooks start their own sandbox on loopback ports. The committed files carry no outputs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat as _nbformat
import pytest
from nbclient import NotebookClient

nbformat: Any = _nbformat  # its functions carry no annotations

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT = 120  # seconds per cell; a whole notebook takes a few seconds

# Text each notebook must print or display once run: the lines that show it did its job.
EXPECTED: dict[str, list[str]] = {
    "quickstart.ipynb": [
        "completed\n",
        "Imported 84 rows into dataset 'store-sales': 84 appended, 0 replaced",
        "completed - Imported 42 rows into dataset 'store-sales': 21 appended, 21 replaced",
        "105 rows; 2026-01-01 to 2026-02-04",
        "3 background imports: ['completed', 'completed', 'completed']",
        "<Sandbox stopped>",
    ],
    "import-history.ipynb": [
        "ImportFailedError: Import ",
        "ended failed: Malformed CSV at line 2",
        "raw/no-such-file.csv: The object 'raw/no-such-file.csv' does not exist",
        "<ImportStatus.COMPLETED: 'completed'>",
        "7 imports: {'completed': 5, 'failed': 2}",
    ],
    "dask.ipynb": [
        "2 workers",
        "8 partitions",
        "'order_id': {'dataType': 'numeric', 'role': 'key'}",
        "completed\n80000 rows in s3://nexosis-sandbox/nexosis/sales-",
        "True completed",
        "80000 rows in the dataset",
        "json 80000 rows",
        "<Sandbox stopped>",
    ],
    "import-sources.ipynb": [
        "completed {'url': 'http://127.0.0.1:",
        "response status code does not indicate success: 404 (File not found)",
        "az://nexosis-sandbox/nexosis/sales.csv.gz {'connectionString': 'redacted', "
        "'container': 'nexosis-sandbox', 'blob': 'nexosis/sales.csv.gz'}",
        "60 rows back; units sum 1770",
        "sales-azure",
        "<Sandbox stopped>",
    ],
    "polars.ipynb": [
        "'units': {'dataType': 'numeric', 'role': 'target'}",
        "completed\n240 rows in s3://nexosis-sandbox/nexosis/orders-",
        "nexosis: dataset 'daily-orders' · completed · 30 rows",
        "DataFrame (240, 5)",
        "('day', Datetime(time_unit='us', time_zone='UTC'))",
        "the same frame back: True",
        "Table 30 rows; orders 240",
        "completed 80 rows",
        "['daily-orders', 'north-orders', 'orders']",
        "<Sandbox stopped>",
    ],
    "column-metadata.ipynb": [
        "long free text",
        "Did you mean 'units'?",
        "'store' with 'date' is unique: pass timestamp='date'",
        "categories such as 'north', not numbers. Choose another column as the target",
        "numericMeasure",
        "BadRequestError: POST ",
        "InvalidColumnMetadata",
    ],
}

# A newcomer who installed only the `local` extra has none of these (nor Azurite): a notebook
# that needs them says so and skips its cells, or its section, instead of failing.
NOT_INSTALLED = ("dask", "distributed", "adlfs", "polars", "duckdb")
SKIPPED = {
    "dask.ipynb": "Skipping this notebook: dask cannot be imported. "
    "pip install 'nexosis-pandas[dask]'\n",
    "polars.ipynb": "Skipping this notebook: polars cannot be imported. "
    "pip install 'nexosis-pandas[polars]' duckdb\n",
    "import-sources.ipynb": "Skipping the Azure section: sandbox(azure=True) needs the 'azure' "
    "extra: pip install 'nexosis-pandas[azure]'\n",
}
# Put first on the kernel's PYTHONPATH, it makes those imports fail as they do where the
# packages are not installed.
NOT_INSTALLED_SITE = """
import os
import sys

BLOCKED = set(os.environ["NEXOSIS_TEST_NOT_INSTALLED"].split(","))


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""

# Each mistake the column-metadata notebook makes, in order: a ColumnError naming this column.
COLUMN_ERRORS = [
    "'unit'",  # a role names a missing column
    "'store'",  # a text target
    "'price'",  # a timestamp that is not datetimes
    "'units'",  # one column, two roles
    "'store'",  # a key that repeats
    "'store'",  # a key with a missing value
    "0",  # a column name that is not a string
    "'a'",  # a repeated name
    "' '",  # an empty name
    "('a', 'x')",  # MultiIndex columns
    "'z'",  # complex numbers
    "'wait'",  # timedeltas
    "'price'",  # a data type the API does not have
]


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def output_text(nb: Any) -> str:
    """Everything the executed notebook printed or displayed as text, in order."""
    parts: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                # One print may arrive as several stream messages: they join as written.
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.data.get("text/plain", "") + "\n")
        parts.append("\n")
    return "".join(parts)


def execute(nb: Any, cwd: Path) -> Any:
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def test_every_notebook_has_expectations() -> None:
    names = [path.name for path in notebook_paths()]
    assert names == sorted(EXPECTED), "add the new notebook's expected output to EXPECTED"


def test_kernel_is_this_interpreter(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    )
    execute(nb, tmp_path)
    assert output_text(nb).strip() == sys.executable


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    nb = nbformat.read(path, as_version=4)
    if "azure=True" in path.read_text("utf-8"):
        request.getfixturevalue("local_azure")  # Azurite installed (or it skips/fails)
    execute(nb, tmp_path)  # raises CellExecutionError, naming the cell, if one fails
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = output_text(nb)
    missing = [expected for expected in EXPECTED[path.name] if expected not in text]
    assert missing == [], f"{path.name} did not show {missing}; it showed:\n{text}"
    if path.name == "column-metadata.ipynb":
        shown = re.findall(r"^ColumnError on column (.+):$", text, flags=re.MULTILINE)
        assert shown == COLUMN_ERRORS
    if path.name == "import-history.ipynb":
        images = [
            o
            for c in nb.cells
            for o in c.get("outputs", [])
            if o.output_type == "display_data" and "image/png" in o.data
        ]
        assert len(images) == 1, "the durations plot is drawn once, inline"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_runs_with_only_the_local_extra(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "not-installed"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NOT_INSTALLED_SITE, "utf-8")
    paths = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("NEXOSIS_TEST_NOT_INSTALLED", ",".join(NOT_INSTALLED))
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "import importlib\n"
        f"for name in {NOT_INSTALLED!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        print('not installed:', name)\n"
    )
    nb.cells.append(probe)  # the last cell, which a skipped notebook skips too

    execute(nb, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = output_text(nb)
    skipped = SKIPPED.get(path.name)
    if path.name in ("dask.ipynb", "polars.ipynb"):
        assert skipped is not None and skipped in text
        assert "<Sandbox" not in text and "not installed" not in text  # no later cell ran
        return
    expected = EXPECTED[path.name] if skipped is None else [skipped, *EXPECTED[path.name][:2]]
    expected.append("".join(f"not installed: {name}\n" for name in NOT_INSTALLED))
    missing = [line for line in expected if line not in text]
    assert missing == [], f"{path.name} did not show {missing}; it showed:\n{text}"
    if skipped is not None:
        assert "sales-azure" not in text  # the Azure section did nothing


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code teaches nothing here"
    assert [c.execution_count for c in code] == [None] * len(code)
    assert [c.outputs for c in code] == [[]] * len(code)
    assert "widgets" not in nb.metadata, "saved widget state is an output too"
    assert nb.metadata.kernelspec.name == "python3"
