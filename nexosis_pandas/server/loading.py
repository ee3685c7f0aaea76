"""The one loading path: imports and ``PUT /data/{name}`` both end here.

:func:`load_rows` reads a file as batches of text columns, checks each batch against the
columns' data types (declared, or inferred as the batches go by), writes the batches to
segment files, and publishes them in one transaction together with the import's
``completed`` status: all rows or none.

A CSV file is read by Arrow's streaming CSV reader and checked a batch at a time with
``pyarrow.compute``. Whatever that fast path cannot vouch for (a value Arrow does not parse
the way Python does, a malformed row, quotes used in a way Arrow accepts but CSV does not) sends
the load back to the beginning of the file on the exact path: Python's ``csv`` module and a
value-by-value check whose error names the line, the column and the value. JSON files always
take the exact path.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from nexosis_pandas._wire import LOGICAL_VALUES, DataType, Role
from nexosis_pandas.server.columns import (
    ColumnSpec,
    MetadataError,
    TypeInference,
    all_fit,
    arrow_instants,
    checker,
    complete_metadata,
    keeps_text,
    merge_metadata,
    validate_metadata,
)
from nexosis_pandas.server.parsing import ColumnsAfterData, FileFormatError, gunzipped, records
from nexosis_pandas.server.store import Store
from nexosis_pandas.server.store.segments import KEY, SegmentWriter, merge_keyed, schema_for

__all__ = ["BATCH_ROWS", "ImportCancelled", "LoadResult", "Progress", "load_rows"]

BATCH_ROWS = 20_000
"""Rows checked at a time on the exact path; between batches a stop is noticed."""

CSV_BLOCK = 1 << 20
"""Bytes Arrow's CSV reader parses at a time (a batch's size on the fast path); Arrow reads
several blocks ahead, so this bounds the memory an import's text needs."""

HEADER_LIMIT = 1 << 20
"""A header row longer than this (or spanning lines) is read by the exact path."""

HEADER_PEEK = 64 << 10
"""Bytes read at a time while looking for the end of the header row (small: a source may read
ahead of what is asked, and the first read should not wait for more than the header)."""

Progress = Callable[[int, int], None]
"""Told ``(rows read, bytes read)`` as a load goes (bytes as they come from the source)."""


class ImportCancelled(Exception):  # noqa: N818 - a signal, not an error
    """The worker is stopping; the import stays ``started`` and is resumed on the next start."""


class _Inexact(Exception):  # noqa: N818 - a signal, not an error
    """The fast path cannot vouch for the file: load it again on the exact path."""


@dataclass(frozen=True)
class LoadResult:
    """What a load did: rows appended and replaced, and the columns' final metadata."""

    appended: int
    replaced: int
    columns: dict[str, ColumnSpec]


def _describe_type(data_type: str) -> str:
    return {
        DataType.NUMERIC.value: "a number",
        DataType.NUMERIC_MEASURE.value: "a number",
        DataType.LOGICAL.value: "a logical value (True/False, 1/0, On/Off, Yes/No)",
        DataType.DATE.value: "an ISO-8601 date",
    }.get(data_type, "a single value")


def load_rows(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    open_binary: Callable[[], IO[bytes]],
    kind: str,
    import_id: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> LoadResult:
    """Read every record, check it, and load all of them into the dataset, or none.

    Parameters
    ----------
    store
        Where the dataset lives.
    dataset_name
        The dataset to create or upsert into.
    columns
        The request's column metadata (validated); it overrides the file's and the dataset's.
    open_binary
        Opens the file (gzipped or not) from its beginning; called again when the load has to
        start over (the exact path, or a JSON file whose ``columns`` come after its ``data``).
        The stream is not closed.
    kind
        ``"csv"`` or ``"json"``.
    import_id
        The import to mark ``completed`` in the same transaction as the rows.
    cancelled
        Checked between batches; when true, :class:`ImportCancelled` is raised.
    progress
        Told how far the load has read, after each batch.

    Raises
    ------
    FileFormatError
        The file is malformed, or a value does not fit its column's data type.
    """
    file_columns: Any = None
    for _attempt in range(2):
        try:
            return _load_once(
                store,
                dataset_name=dataset_name,
                columns=columns,
                open_binary=open_binary,
                kind=kind,
                file_columns=file_columns,
                import_id=import_id,
                cancelled=cancelled,
                progress=progress,
            )
        except ColumnsAfterData as late:
            file_columns = late.columns
    raise AssertionError("unreachable")  # pragma: no cover


def _load_once(
    store: Store,
    *,
    dataset_name: str,
    columns: Mapping[str, ColumnSpec],
    open_binary: Callable[[], IO[bytes]],
    kind: str,
    file_columns: Any,
    import_id: str | None,
    cancelled: Callable[[], bool],
    progress: Progress | None,
) -> LoadResult:
    def attempt(read: Callable[[_Load, _Counted], list[str]]) -> LoadResult:
        existing = store.get_dataset(dataset_name)
        load = _Load(
            store,
            dataset_name=dataset_name,
            existing=existing.columns if existing else {},
            request=columns,
            cancelled=cancelled,
            typed=kind == "json",
        )
        counted = _Counted(open_binary(), progress)
        try:
            header = read(load, counted)
            return load.publish(header, import_id)
        finally:
            load.discard()

    if kind == "csv":
        try:
            return attempt(_read_csv_fast)
        except _Inexact:
            pass
    return attempt(
        lambda load, counted: _read_exact(load, counted, kind=kind, file_columns=file_columns)
    )


class _Counted(io.RawIOBase):
    """A binary stream that counts the bytes read through it and reports them."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self._raw = raw
        self._progress = progress
        self.bytes = 0
        self.rows = 0
        self._told = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.bytes += len(data)
        return data

    def add_rows(self, n: int) -> None:
        self.rows += n
        now = time.monotonic()
        if self._progress is not None and now - self._told >= 0.25:
            self._told = now
            self._progress(self.rows, self.bytes)

    def close(self) -> None:
        pass  # the caller owns the source stream


# -- the plan: checks, inference, keys -----------------------------------------------------------
_DATE = (
    r"^\s*\d{4}-\d{2}-\d{2}(?:[T ](?:[01]\d|2[0-3])(?::[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?\s*$"
)
_LOGICAL = pa.array(sorted(LOGICAL_VALUES), pa.string())
_TRUE = pa.array(sorted(k for k, v in LOGICAL_VALUES.items() if v), pa.string())
_NUMERIC_TYPES = (DataType.NUMERIC.value, DataType.NUMERIC_MEASURE.value)


def _arrow_vouches(values: pa.Array, data_type: str) -> bool:
    """Whether ``pyarrow.compute`` shows every value fits (``False``: it cannot tell)."""
    try:
        if data_type in _NUMERIC_TYPES:
            numbers = pc.cast(values, pa.float64())
            return bool(pc.all(pc.is_finite(numbers)).as_py() is not False)
        if data_type == DataType.LOGICAL.value:
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
            return bool(pc.all(pc.is_in(lowered, value_set=_LOGICAL)).as_py() is not False)
        if data_type == DataType.DATE.value:
            try:  # the common case, one form without offsets, parsed by Arrow at once
                stamps = pc.cast(values, pa.timestamp("us"))
                return bool(pc.min(pc.year(stamps)).as_py() >= 1)
            except pa.ArrowInvalid:
                pass
            if pc.all(pc.match_substring_regex(values, _DATE)).as_py() is False:
                return False
            day = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(values), 0, 10)
            return bool(pc.min(pc.year(pc.cast(day, pa.date32()))).as_py() >= 1)
    except pa.ArrowInvalid:
        return False
    return True  # string and text: any scalar


def _fits(values: pa.Array, data_type: str) -> bool:
    """Whether every value fits: Arrow's word when it vouches, else the exact check."""
    present = values.drop_null()
    if not len(present) or _arrow_vouches(present, data_type):
        return True
    return all_fit(present.to_pylist(), data_type)


def _fitting(present: pa.Array) -> Callable[[str], bool]:
    """Which types the values fit, for inference (by the rules of ``TypeInference``)."""

    def fits(data_type: str) -> bool:
        if data_type not in _NUMERIC_TYPES:
            return _fits(present, data_type)
        if _arrow_vouches(present, data_type):
            # Arrow parsed every value, so none has blanks around it: a code like 08123 starts
            # with a zero and a digit, after an optional sign.
            return not _any_leading_zero(present)
        values = present.to_pylist()
        return not any(map(keeps_text, values)) and all_fit(values, data_type)

    return fits


def _any_leading_zero(values: pa.Array) -> bool:
    """Whether a value starts with ``0`` and a digit, after an optional sign (no nulls)."""
    if not len(values):
        return False
    if values.type != pa.string():  # pragma: no cover - the readers make text columns
        values = values.cast(pa.string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    data = np.frombuffer(values.buffers()[2] or b"\0", dtype=np.uint8)
    starts, ends = offsets[:-1].astype(np.int64), offsets[1:].astype(np.int64)
    last = len(data) - 1

    def char(at: np.ndarray) -> np.ndarray:
        return np.where(at < ends, data[np.minimum(at, last)], 0)

    first = char(starts)
    signed = (first == ord("+")) | (first == ord("-"))
    at = starts + signed
    second = char(at + 1)
    return bool(((char(at) == ord("0")) & (second >= ord("0")) & (second <= ord("9"))).any())


class _Plan:
    """Per-column checks for one load: declared types are enforced, the others inferred."""

    def __init__(self, declared: Mapping[str, ColumnSpec], *, typed: bool = False) -> None:
        self.typed = typed  # JSON: values carry their types, which inference keeps
        self.declared = {name: dict(spec) for name, spec in declared.items()}
        for spec in self.declared.values():
            if spec.get("role") == Role.TIMESTAMP.value and not spec.get("dataType"):
                spec["dataType"] = DataType.DATE.value
        self.checks: dict[str, tuple[str, Callable[[Any], bool]]] = {
            name: (str(spec["dataType"]), checker(str(spec["dataType"])))
            for name, spec in self.declared.items()
            if spec.get("dataType")
        }
        self.inferred: dict[str, TypeInference] = {}
        keys = [n for n, s in self.declared.items() if s.get("role") == Role.KEY.value]
        keys += [n for n, s in self.declared.items() if s.get("role") == Role.TIMESTAMP.value]
        self.key_columns = keys

    def check_rows(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        """Check a batch of rows value by value; the error names the line, column and value."""
        names: dict[str, None] = {}
        for row in rows:
            if len(row) != len(names) or row.keys() - names.keys():
                names.update(dict.fromkeys(row))
        for name in names:
            values = [row.get(name) for row in rows]
            present = [v for v in values if v is not None]
            found = self.checks.get(name)
            if found is None:
                self._inference(name).update(present)
            elif not all_fit(present, found[0]):
                bad = next(i for i, v in enumerate(values) if v is not None and not found[1](v))
                raise FileFormatError(
                    f"Malformed row at line {lines[bad]}: the value {values[bad]!r} in column "
                    f"{name!r} does not fit its data type {found[0]} "
                    f"(expected {_describe_type(found[0])})"
                )

    def check_batch(self, batch: pa.RecordBatch) -> None:
        """Check a batch of text columns; :class:`_Inexact` when a declared type is not met."""
        for name, values in zip(batch.schema.names, batch.columns, strict=True):
            found = self.checks.get(name)
            if found is None:
                inference = self._inference(name)
                present = values.drop_null()
                if not inference.settled and len(present):
                    inference.narrow(_fitting(present))
            elif not _fits(values, found[0]):
                raise _Inexact  # the exact path finds the value and its line

    def _inference(self, name: str) -> TypeInference:
        inference = self.inferred.get(name)
        if inference is None:
            inference = self.inferred[name] = TypeInference(typed=self.typed)
        return inference

    def keys(self, batch: pa.RecordBatch) -> pa.Array:
        """Each row's upsert key (null for every row when the dataset has no key columns)."""
        if not self.key_columns:
            return pa.nulls(batch.num_rows, pa.string())
        have = set(batch.schema.names)
        parts = [
            pc.fill_null(
                _key_text(
                    batch.column(n) if n in have else pa.nulls(batch.num_rows, pa.string()),
                    self._type(n),
                ),
                "\x00",
            )
            for n in self.key_columns
        ]
        if len(parts) == 1:
            return parts[0]
        return pc.binary_join_element_wise(*parts, "\x1f")

    def _type(self, name: str) -> str:
        found = self.checks.get(name)
        return found[0] if found else DataType.STRING.value

    def final_metadata(self, header: Sequence[str]) -> dict[str, ColumnSpec]:
        names = list(dict.fromkeys([*header, *self.inferred]))
        final: dict[str, ColumnSpec] = {}
        for name in names:
            spec = dict(self.declared.get(name) or {})
            if not spec.get("dataType"):
                inference = self.inferred.get(name)
                spec["dataType"] = inference.result() if inference else DataType.STRING.value
            final[name] = complete_metadata(spec)
        return final


def _key_text(values: pa.Array, data_type: str) -> pa.Array:
    """One key column's values in a canonical text: ``2``, ``"2.0"`` and ``" 2 "`` are one key.

    Numbers are compared as numbers, dates as instants (UTC when they name no offset), logical
    values as true/false, and text as it is.
    """
    if data_type in _NUMERIC_TYPES:
        trimmed = pc.utf8_trim_whitespace(values)
        try:
            numbers = pc.cast(trimmed, pa.float64())
        except pa.ArrowInvalid:
            numbers = pa.array(
                [None if v is None else float(v) for v in trimmed.to_pylist()], pa.float64()
            )
        whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), 9.2e18))
        as_int = pc.cast(pc.cast(pc.if_else(whole, numbers, 0.0), pa.int64()), pa.string())
        return pc.if_else(whole, as_int, pc.cast(numbers, pa.string()))
    if data_type == DataType.DATE.value:
        return pc.cast(arrow_instants(values), pa.string())
    if data_type == DataType.LOGICAL.value:
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        return pc.cast(pc.is_in(lowered, value_set=_TRUE), pa.string())
    return values


# -- one attempt: stage the batches, then publish them -------------------------------------------
class _Load:
    """One attempt at loading a file: the plan, the staged segments, their publication."""

    def __init__(
        self,
        store: Store,
        *,
        dataset_name: str,
        existing: Mapping[str, ColumnSpec],
        request: Mapping[str, ColumnSpec],
        cancelled: Callable[[], bool],
        typed: bool = False,
    ) -> None:
        self.store = store
        self.typed = typed
        self.dataset_name = dataset_name
        self.existing = existing
        self.request = request
        self.cancelled = cancelled
        self.plan: _Plan | None = None
        self.names: list[str] = []
        self.rows = 0
        self._writer: SegmentWriter | None = None
        self._staged: list[SegmentWriter] = []
        self._outputs: list[SegmentWriter] = []

    def start(self, file_columns: Any) -> _Plan:
        """The plan, made once the file's own column metadata (if any) is known."""
        if self.plan is None:
            try:
                in_file = validate_metadata(file_columns)
            except MetadataError as exc:
                raise FileFormatError(f"The file's column metadata is invalid: {exc}") from None
            declared = merge_metadata(merge_metadata(self.existing, in_file), self.request)
            self.plan = _Plan(declared, typed=self.typed)
        return self.plan

    @property
    def keyed(self) -> bool:
        return bool(self.plan and self.plan.key_columns)

    def add(self, batch: pa.RecordBatch) -> None:
        """Stage a checked batch of text columns."""
        assert self.plan is not None
        if not batch.num_rows:
            return
        names = batch.schema.names
        if self._writer is None or not set(names) <= set(self.names):
            self.names = list(dict.fromkeys([*self.names, *names]))
            self._close_writer()
            directory = self.store.staging_dir if self.keyed else self.store.segments_dir
            self._writer = SegmentWriter(
                directory,
                schema_for(self.names),
                compression=None if self.keyed else "zstd",
            )
        keyed = pa.RecordBatch.from_arrays(
            [*batch.columns, self.plan.keys(batch)], names=[*names, KEY]
        )
        self._writer.write(keyed)
        self.rows += batch.num_rows
        if self.cancelled():
            raise ImportCancelled

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.finish()
            self._staged.append(self._writer)
            self._writer = None

    def publish(self, header: Sequence[str], import_id: str | None) -> LoadResult:
        """Publish the staged rows: appended, or upserted by key; the import completed."""
        plan = self.start(None)
        self._close_writer()
        final = plan.final_metadata(header)
        store = self.store
        with store.dataset_lock(self.dataset_name):
            if self.keyed:
                dataset = store.get_dataset(self.dataset_name)
                parts = store.parts(dataset.id) if dataset else []
                names = list(dict.fromkeys([*(dataset.columns if dataset else {}), *final]))
                self._outputs, appended, replaced = merge_keyed(
                    [p.path for p in parts],
                    [w.path for w in self._staged],
                    schema_for(names),
                    store.segments_dir,
                )
                files = [(w.path, w.rows) for w in self._outputs]
            else:
                files = [(w.path, w.rows) for w in self._staged]
                appended, replaced = self.rows, 0
            store.publish(
                dataset_name=self.dataset_name,
                columns=final,
                files=files,
                replace=self.keyed,
                import_id=import_id,
                messages=[
                    (
                        "informational",
                        f"Imported {self.rows} rows into dataset {self.dataset_name!r}: "
                        f"{appended} appended, {replaced} replaced",
                    )
                ],
            )
        if not self.keyed:
            self._staged = []  # published: they are the dataset's now
        self._outputs = []
        return LoadResult(appended=appended, replaced=replaced, columns=final)

    def discard(self) -> None:
        """Remove every file this attempt wrote that is not part of a dataset."""
        for writer in [*self._staged, *self._outputs, *([self._writer] if self._writer else [])]:
            writer.discard()
        self._staged, self._outputs, self._writer = [], [], None


# -- the fast path: Arrow's CSV reader -----------------------------------------------------------
def _read_csv_fast(load: _Load, counted: _Counted) -> list[str]:
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
    if end < 0 or b'"' in head[:end]:
        raise _Inexact  # no line, a quoted or a very long header: the exact path reads it
    try:
        line = head[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise _Inexact from None
    header = next(csv.reader([line.rstrip("\r")]), [])
    if not header:
        raise _Inexact
    _check_header(header)
    plan = load.start(None)
    checked = _QuoteCheckedStream(head[end + 1 :], stream)
    try:
        _read_checked(checked, header, plan, load, counted)
    finally:
        checked.stop()
    return header


def _read_checked(
    checked: _QuoteCheckedStream, header: list[str], plan: _Plan, load: _Load, counted: _Counted
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
                quoted_strings_can_be_null=True,
            ),
        )
        for batch in reader:
            if checked.suspicious:
                raise _Inexact
            plan.check_batch(batch)
            load.add(batch)
            counted.add_rows(batch.num_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _Inexact from None
    checked.finish()
    if checked.suspicious:
        raise _Inexact


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


# -- the exact path: Python's readers, value by value --------------------------------------------
def _read_exact(load: _Load, counted: _Counted, *, kind: str, file_columns: Any) -> list[str]:
    text = io.TextIOWrapper(gunzipped(counted), encoding="utf-8-sig", newline="")
    try:
        reader = records(text, kind, ignore_file_columns=file_columns is not None)
        lines: list[int] = []
        rows: list[dict[str, Any]] = []
        plan: _Plan | None = None

        def flush(plan: _Plan) -> None:
            plan.check_rows(lines, rows)
            load.add(_text_batch(rows, reader.header))
            counted.add_rows(len(rows))
            lines.clear()
            rows.clear()

        for line, row in reader:
            if plan is None:
                plan = load.start(file_columns if file_columns is not None else reader.file_columns)
            lines.append(line)
            rows.append(row)
            if len(rows) >= BATCH_ROWS:
                flush(plan)
        if plan is None:
            plan = load.start(file_columns if file_columns is not None else reader.file_columns)
        if rows:
            flush(plan)
        # a JSON file without records names no column: the declared ones are the columns
        return list(reader.header) or list(plan.declared)
    finally:
        text.detach()


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text_batch(rows: list[dict[str, Any]], header: Sequence[str]) -> pa.RecordBatch:
    names = list(dict.fromkeys(header))
    for row in rows:
        if row.keys() - set(names):
            names.extend(n for n in row if n not in names)
    arrays = [pa.array([_as_text(row.get(n)) for row in rows], pa.string()) for n in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)
