"""Notebooks that need an extra: say so and skip their cells, instead of failing the first one.

A notebook that needs the ``dask`` or ``polars`` extra (or DuckDB) calls :func:`notebook_needs`
in its first cell. When a module cannot be imported (as for a newcomer who installed only
``[local]``), it prints what to install and, in IPython, turns every later cell of the kernel
into an empty one, so that *Run All* ends without an error. Running the first cell again once
the extra is installed checks again and runs the cells as usual.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["notebook_needs"]

_CALL = "notebook_needs("


def notebook_needs(*modules: str, install: str) -> bool:
    """Whether ``modules`` import; if not, say what to install and skip the notebook's cells.

    Parameters
    ----------
    *modules
        The modules the notebook imports (``"dask"``, ``"distributed"``, ``"polars"``...).
    install
        What to ``pip install`` to have them, shown in the message (``"'nexosis-pandas[dask]'"``).

    Returns
    -------
    bool
        ``True`` when every module imported. ``False`` otherwise: the message is printed and,
        in IPython, the kernel's later cells run as empty cells (a cell that calls
        ``notebook_needs`` again still runs, and checks again).

    Examples
    --------
    >>> notebook_needs("json", install="nothing")
    True
    >>> notebook_needs("no_such_module", install="'nexosis-pandas[dask]'")
    Skipping this notebook: no_such_module cannot be imported. pip install 'nexosis-pandas[dask]'
    False
    """
    shell = _ipython()
    if shell is not None:
        _stop_skipping(shell)
    missing = next((name for name in modules if not _imports(name)), None)
    if missing is None:
        return True
    print(f"Skipping this notebook: {missing} cannot be imported. pip install {install}")
    if shell is not None:
        shell.input_transformers_cleanup.append(_skip_cell)
    return False


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _skip_cell(lines: list[str]) -> list[str]:
    """An IPython input transformer: every cell but one that checks again becomes empty."""
    return lines if any(_CALL in line for line in lines) else []


def _stop_skipping(shell: Any) -> None:
    transformers: list[Callable[[list[str]], list[str]]] = shell.input_transformers_cleanup
    while _skip_cell in transformers:
        transformers.remove(_skip_cell)


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
