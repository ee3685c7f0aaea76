"""Progress reporting: a reporter protocol with a do-nothing default.

Library code always holds a reporter (never ``None``) and calls its methods; what the user sees
is decided once, by :func:`resolve_progress`: a widget in Jupyter, text lines elsewhere, nothing
for ``progress=False``, or the user's own reporter object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from nexosis_pandas.job import ImportJob
    from nexosis_pandas.s3 import S3Object

__all__ = ["ProgressArg", "ProgressReporter"]


class ProgressReporter:
    """Receives the stages of an upload and an import; every method does nothing by default.

    Subclass it and override what you need. Calls arrive in this order: ``upload_start``,
    ``upload_update`` (repeatedly), ``upload_end``; then ``import_update`` (for each report of the
    import's state, the first right after it was requested), and ``import_end`` once, or
    ``interrupted`` when the user stops the wait. A reporter used only for an upload, or only for
    a wait, sees only that part.
    """

    def upload_start(self, url: str, total_rows: int) -> None:
        """The upload of ``total_rows`` rows to ``url`` begins."""

    def upload_update(self, rows_done: int, bytes_sent: int) -> None:
        """``rows_done`` rows are encoded and ``bytes_sent`` compressed bytes sent, so far."""

    def upload_end(self, obj: S3Object | None, error: BaseException | None = None) -> None:
        """The upload ended: ``obj`` describes the object written, or ``error`` says why not."""

    def import_update(self, job: ImportJob) -> None:
        """The server reported the import's current state (``job.status``)."""

    def import_end(self, job: ImportJob, error: BaseException | None = None) -> None:
        """Waiting ended: the import completed, or ``error`` (failure, timeout) says otherwise."""

    def interrupted(self, job: ImportJob) -> None:
        """The user interrupted the wait; the import goes on on the server."""


ProgressArg = Union[ProgressReporter, bool, Literal["auto", "widget", "text"], None]  # noqa: UP007
"""``"auto"``, ``"widget"``, ``"text"``, ``True`` (same as ``"auto"``), ``False``/``None``
(nothing), or a :class:`ProgressReporter`."""
