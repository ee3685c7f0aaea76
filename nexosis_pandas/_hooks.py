"""Run code once a module is imported, without importing it: how ``ddf.nexosis`` appears.

``import nexosis_pandas`` must not import dask (slow, and optional), yet a Dask user expects
``ddf.nexosis`` as a pandas user gets ``df.nexosis``, whichever of the two was imported first.
:func:`after_import` registers the accessor at once when ``dask.dataframe`` is already
imported, and otherwise right after Python imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["after_import"]


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of one module to call back after it runs."""

    def __init__(self, name: str, callback: Callable[[], object]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and so the real finders answer below
        spec = importlib.util.find_spec(fullname)
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module
        callback = self.callback

        def exec_module(module: ModuleType) -> None:
            run(module)
            callback()

        loader.exec_module = exec_module
        return spec


def after_import(name: str, callback: Callable[[], object]) -> None:
    """Call ``callback`` now if module ``name`` is imported, else right after its import."""
    if name in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _AfterImport(name, callback))
