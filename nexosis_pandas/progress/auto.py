"""Which display a ``progress=`` argument means: tqdm.autonotebook's choice, made once."""

from __future__ import annotations

import sys
import warnings

from nexosis_pandas.progress.base import ProgressArg, ProgressReporter, ProgressWarning
from nexosis_pandas.progress.text import TextReporter
from nexosis_pandas.progress.widget import WidgetReporter

__all__ = ["resolve_progress"]

_warned = False


def _in_kernel() -> bool:
    """Whether this process is an IPython kernel (Jupyter, VS Code, Colab), as tqdm checks."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    if shell is None:
        return False
    return getattr(shell, "kernel", None) is not None or "IPKernelApp" in getattr(
        shell, "config", {}
    )


def _fall_back(reason: str) -> ProgressReporter:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"Cannot show the progress widget ({reason}); showing progress as text instead. "
            "pip install ipywidgets and use JupyterLab, Notebook 7 or VS Code for the widget, "
            'or pass progress="text" to silence this.',
            ProgressWarning,
            stacklevel=3,
        )
    return TextReporter()


def _widget_or_text() -> ProgressReporter:
    try:
        return WidgetReporter()
    except ImportError:
        return _fall_back("ipywidgets is not installed")
    except Exception as error:  # a kernel without a widget front end, a broken comm
        return _fall_back(f"{type(error).__name__}: {error}")


def resolve_progress(arg: ProgressArg) -> ProgressReporter:
    """The reporter for a ``progress=`` argument.

    Parameters
    ----------
    arg
        ``"auto"`` or ``True``: the widget in an IPython kernel (Jupyter, VS Code), text lines
        elsewhere. ``"widget"``: the widget. ``"text"``: text lines. ``False`` or ``None``:
        nothing. A :class:`ProgressReporter`: itself. When the widget cannot be drawn
        (ipywidgets missing, no front end) it falls back to text with one
        :class:`ProgressWarning`.

    Examples
    --------
    >>> type(resolve_progress(False)).__name__
    'ProgressReporter'
    >>> type(resolve_progress("text")).__name__
    'TextReporter'
    """
    if isinstance(arg, ProgressReporter):
        return arg
    if arg is None or arg is False:
        return ProgressReporter()
    if arg is True or arg == "auto":
        return _widget_or_text() if _in_kernel() else TextReporter()
    if arg == "widget":
        return _widget_or_text()
    if arg == "text":
        return TextReporter()
    raise ValueError(
        f'progress must be "auto", "widget", "text", True, False, None or a ProgressReporter, '
        f"not {arg!r}"
    )
