"""Progress reporting: a reporter protocol with a do-nothing default, and its displays.

Library code always holds a reporter (never ``None``) and calls its methods; what the user sees
is decided once, by :func:`resolve_progress`: a widget in Jupyter, text lines elsewhere, nothing
for ``progress=False``, or the user's own reporter object.

One module per part, in the manner of tqdm: :mod:`~nexosis_pandas.progress.base` (the protocol,
the outcome, the journey both displays follow, and :class:`DisplayedJob`, what a display reads
of the job it reports on), :mod:`~nexosis_pandas.progress.text`,
:mod:`~nexosis_pandas.progress.widget` (with its static HTML summary) and
:mod:`~nexosis_pandas.progress.auto` (the choice), and :mod:`~nexosis_pandas.progress.cell`
(output from a background thread into the cell that started it).
"""

from nexosis_pandas.progress.auto import resolve_progress
from nexosis_pandas.progress.base import (
    DisplayedJob,
    Outcome,
    ProgressArg,
    ProgressReporter,
    ProgressWarning,
)
from nexosis_pandas.progress.text import TextReporter
from nexosis_pandas.progress.widget import WidgetReporter

__all__ = [
    "DisplayedJob",
    "Outcome",
    "ProgressArg",
    "ProgressReporter",
    "ProgressWarning",
    "TextReporter",
    "WidgetReporter",
    "resolve_progress",
]
