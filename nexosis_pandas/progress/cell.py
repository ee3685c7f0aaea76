"""Output from a background thread into the notebook cell that started it.

A kernel sends each output with a *parent header*, the request of the cell it belongs to, and
the front end puts the output under that cell. A thread started by a cell outlives it, so what
it displays would go under whichever cell runs at the time (ipywidgets #4020). The remedy is
to keep the starting cell's parent header, in the cell, and to send the thread's output with
it. Two kernels differ in where the header lives:

- ipykernel 6.29 keeps one header for the whole process: setting it from a thread would move
  the running cell's own output. So :meth:`CellOutput.display` never sets it: it formats the
  object as IPython's ``display`` does and sends the ``display_data`` message itself, with the
  kept header. This works on every ipykernel from 6.29.
- ipykernel 7.1 and later also keep a header per thread (a context variable; 7.0 lost the
  output of threads that had none, ipykernel #1450, fixed by #1451). :meth:`CellOutput.enter`
  sets it for the calling thread only, so that what the thread prints (a text display, a
  user's callback) lands in the starting cell too. On 6.29 there is no per-thread header and
  printed text goes to the running cell.

Widget updates are comm messages, which the front end routes by the widget's id whatever the
header says, so the bar moves in its cell in every case. Outside a kernel there is no cell:
:meth:`CellOutput.here` returns ``None`` and displays go through ``IPython.display`` as before.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["CellOutput"]


class CellOutput:
    """The cell running now, kept so that a background thread can write into it.

    Create it with :meth:`here` in the cell's own thread; call :meth:`enter` first thing in
    the background thread and :meth:`display` to show an object there.

    Parameters
    ----------
    shell
        The IPython kernel shell (its ``display_pub`` sends, its ``display_formatter`` formats).
    parent
        The parent header of the cell's ``execute_request``.
    number
        The cell's execution count, if known.
    """

    def __init__(self, shell: Any, parent: dict[str, Any], number: int | None = None) -> None:
        self._shell = shell
        self.parent = parent
        self.number = number

    @classmethod
    def here(cls) -> CellOutput | None:
        """The cell running in this thread, or ``None`` outside an ipykernel (or no cell runs).

        Examples
        --------
        >>> CellOutput.here() is None  # not in a kernel
        True
        """
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        publisher = getattr(shell, "display_pub", None)
        if publisher is None or getattr(publisher, "session", None) is None:
            return None
        parent = dict(getattr(publisher, "parent_header", None) or {})
        if not parent.get("msg_id"):
            return None
        count = getattr(shell, "execution_count", None)
        return cls(shell, parent, count if isinstance(count, int) else None)

    def enter(self) -> None:
        """Make the kept cell this thread's parent, where the kernel keeps one per thread.

        ipykernel 7.1+ (``set_thread_parent`` on the display publisher and the output
        streams): only the calling thread changes. Older kernels are left alone: their one
        header belongs to the cell running now.
        """
        for target in (self._shell.display_pub, sys.stdout, sys.stderr):
            set_thread_parent = getattr(target, "set_thread_parent", None)
            if set_thread_parent is not None:
                set_thread_parent(self.parent)

    def display(self, obj: Any, *, raw: bool = False) -> None:
        """Show ``obj`` in the kept cell, from any thread, as ``IPython.display.display`` would.

        Parameters
        ----------
        obj
            The object; with ``raw=True``, a mime bundle (``{"text/html": ...}``) as it is.
        """
        if raw:
            data, metadata = dict(obj), {}
        else:
            data, metadata = self._shell.display_formatter.format(obj)
        publisher = self._shell.display_pub
        content = {"data": data, "metadata": metadata, "transient": {}}
        publisher.session.send(
            publisher.pub_socket,
            "display_data",
            content,
            parent=self.parent,
            ident=publisher.topic,
        )
