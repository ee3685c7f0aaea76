"""The fast path of a CSV load: Arrow's streaming CSV reader, with a watch on the quotes.

:func:`read_csv_fast` reads the file in batches of text columns, has the plan check each batch
and the load stage it. Whatever Arrow accepts that Python's ``csv`` (strict) refuses, and any
batch Arrow cannot vouch for, raises :class:`~nexosis_pandas.server.plan.Inexact`: the load
starts again on the exact path. Both paths read a value alike: an unquoted empty field is
missing, a quoted one (``""``) the empty text, except in a file of one column, where ``""`` is
how a writer spells a missing value.
"""

from __future__ import annotations

import csv
import io
import threading
from typing import IO, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from nexosis_pandas.server.parsing import Counted, FileFormatError, gunzipped
from nexosis_pandas.server.plan import Inexact, Plan

__all__ = ["CSV_BLOCK", "Staging", "read_csv_fast"]

CSV_BLOCK = 1 << 20
"""Bytes Arrow's CSV reader parses at a time (a batch's size on the fast path); Arrow reads
several blocks ahead, so this bounds the memory an import's text needs."""

HEADER_LIMIT = 1 << 20
"""A header row longer than this (or spanning lines) is read by the exact path."""

HEADER_PEEK = 64 << 10
"""Bytes read at a time while looking for the end of the header row (small: a source may read
ahead of what is asked, and the first read should not wait for more than the header)."""


class Staging(Protocol):
    """Where the rows of a load go once checked (the load of :mod:`.loading` is one)."""

    def start(self, file_columns: Any) -> Plan:
        """The load's plan, made once the file's own column metadata (if any) is known."""
        ...

    def add(self, batch: pa.RecordBatch) -> None:
        """Stage a checked batch of text columns."""
        ...


def read_csv_fast(load: Staging, counted: Counted) -> list[str]:
    stream = gunzipped(counted)
    head = stream.read(HEADER_PEEK)
    while b"\n" not in head and len(head) < HEADER_LIMIT:
        more = stream.read(HEADER_PEEK)
        if not more:
            break
        head += more
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    end = head.find(b"\n")
    if end < 0 or head.count(b'"', 0, end) % 2:
        raise Inexact  # no line, a very long header, or a quoted name across lines
    try:
        line = head[:end].decode("utf-8")
        header = next(csv.reader([line.rstrip("\r")], strict=True), [])
    except (UnicodeDecodeError, csv.Error):
        raise Inexact from None
    if not header:
        raise Inexact
    _check_header(header)
    plan = load.start(None)
    checked = _QuoteCheckedStream(head[end + 1 :], stream)
    try:
        _read_checked(checked, header, plan, load, counted)
    finally:
        checked.stop()
    return header


def _read_checked(
    checked: _QuoteCheckedStream, header: list[str], plan: Plan, load: Staging, counted: Counted
) -> None:
    try:
        reader = pa_csv.open_csv(
            checked,
            read_options=pa_csv.ReadOptions(
                column_names=header, block_size=CSV_BLOCK, use_threads=True
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,  # "" is the empty text, as the exact path says
            ),
        )
        for batch in reader:
            if checked.suspicious:
                raise Inexact
            if len(header) == 1:
                batch = _one_column(batch)
            plan.check_batch(batch)
            load.add(batch)
            counted.add_rows(batch.num_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise Inexact from None
    checked.finish()
    if checked.suspicious:
        raise Inexact


def _one_column(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A file of one column writes a missing value ``""`` (a blank line would be skipped)."""
    values = batch.column(0)
    missing = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    return pa.RecordBatch.from_arrays([missing], names=batch.schema.names)


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise FileFormatError(f"The header row (line 1) has an empty column name at {position}")
        if name in seen:
            raise FileFormatError(f"The header row (line 1) names the column {name!r} twice")
        seen.add(name)


_DELIMITERS = np.array([ord(","), ord("\n"), ord("\r")], dtype=np.uint8)


class _QuoteCheckedStream(io.RawIOBase):
    """The CSV's bytes on their way to Arrow, with a watch on how its quotes are used.

    Arrow's parser reads ``"x"y`` as ``xy`` and an unclosed quote at the end as a value;
    Python's ``csv`` (strict) rejects both. This looks at runs of quote characters: a run
    between two ordinary characters must be of even length (escaped quotes), a run after a
    delimiter followed by an ordinary character must be odd (an opening quote), and the file
    must hold an even number of quotes. Anything else (including a literal quote inside an
    unquoted value, and NUL bytes) makes the load ``suspicious``: the exact path decides.
    """

    def __init__(self, initial: bytes, rest: IO[bytes]) -> None:
        self._initial = initial
        self._rest = rest
        self._lock = threading.Lock()
        self._stopped = False
        self._carry = b"\n"  # the character before the data: the header's line end
        self._quotes = 0
        self.suspicious = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = size if size and size > 0 else CSV_BLOCK
        with self._lock:  # Arrow reads ahead on threads of its own
            if self._stopped:
                return b""
            if self._initial:
                data, self._initial = self._initial[:want], self._initial[want:]
            else:
                data = self._rest.read(want)
            if data:
                self._scan(data)
            return data

    def stop(self) -> None:
        """Let go of the source: a read under way ends first, later ones read nothing.

        Arrow's read-ahead may still be reading when the fast path gives up; the exact path
        must not share the source with it.
        """
        with self._lock:
            self._stopped = True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _scan(self, data: bytes) -> None:
        if self.suspicious:
            return
        if b"\x00" in data:
            self.suspicious = True
            return
        region = self._carry + data
        quotes = region.count(b'"') - self._carry.count(b'"')
        self._quotes += quotes
        stop = len(region.rstrip(b'"'))  # a run at the very end waits for its next character
        if quotes:
            self.suspicious |= _bad_runs(np.frombuffer(region, np.uint8)[: stop + 1], stop)
        self._carry = region[max(stop - 1, 0) :]

    def finish(self) -> None:
        """The end of the file: judge the last run and the number of quotes."""
        if not self.suspicious:
            region = self._carry + b"\n"
            self.suspicious |= _bad_runs(np.frombuffer(region, np.uint8), len(region) - 1)
            self.suspicious |= self._quotes % 2 == 1


def _bad_runs(chars: np.ndarray, stop: int) -> bool:
    """Whether a quote run starting after index 0 and ending before ``stop`` is out of place."""
    is_quote = (chars == ord('"')).astype(np.int8)
    edges = np.diff(is_quote)
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    if not len(starts):
        return False
    ends = ends[ends > starts[0]][: len(starts)]
    starts = starts[: len(ends)]
    keep = ends < min(stop, len(chars))
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return False
    odd = (ends - starts) % 2 == 1
    after_delimiter = np.isin(chars[starts - 1], _DELIMITERS)
    before_delimiter = np.isin(chars[ends], _DELIMITERS)
    mid_text = ~after_delimiter & ~before_delimiter & odd
    opened_then_text = after_delimiter & ~before_delimiter & ~odd
    return bool(mid_text.any() or opened_then_text.any())
