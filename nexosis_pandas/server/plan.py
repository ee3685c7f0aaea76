"""The plan of one load: each column's check (declared type) or inference, and the upsert keys.

A batch of text columns is checked at once with ``pyarrow.compute`` where Arrow can vouch for
every value (:meth:`Plan.check_batch`); rows read value by value are checked by the exact rules
of :mod:`~nexosis_pandas.server.columns`, whose error names the line, the column and the value
(:meth:`Plan.check_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nexosis_pandas._wire import DATA_TYPE, LOGICAL_VALUES, DataType, Role
from nexosis_pandas.server.columns import (
    ColumnSpec,
    TypeInference,
    all_fit,
    arrow_instants,
    arrow_stamp_types,
    checker,
    complete_metadata,
    keeps_text,
)
from nexosis_pandas.server.parsing import FileFormatError

__all__ = ["Inexact", "Plan"]


class Inexact(Exception):  # noqa: N818 - a signal, not an error
    """The fast path cannot vouch for the file: load it again on the exact path."""


def _describe_type(data_type: str) -> str:
    return {
        DataType.NUMERIC.value: "a number",
        DataType.NUMERIC_MEASURE.value: "a number",
        DataType.LOGICAL.value: "a logical value (True/False, 1/0, On/Off, Yes/No)",
        DataType.DATE.value: "an ISO-8601 date",
    }.get(data_type, "a single value")


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
            try:  # the common case, one form (with offsets or without), parsed by Arrow at once
                stamps = pc.cast(values, arrow_stamp_types(values[0].as_py())[0])
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


def _present(values: pa.Array) -> pa.Array:
    """The values that are there: neither null nor ``""`` (a missing number, date or flag)."""
    present = values.drop_null()
    if len(present) and pc.any(pc.equal(present, "")).as_py():
        present = present.filter(pc.not_equal(present, ""))
    return present


def _key_values(values: pa.Array, data_type: str) -> pa.Array:
    """A key column's values, ``""`` missing unless the column holds text (as when rendered)."""
    if data_type in (DataType.STRING.value, DataType.TEXT.value):
        return values
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _fits(values: pa.Array, data_type: str) -> bool:
    """Whether every value fits: Arrow's word when it vouches, else the exact check."""
    present = _present(values)
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


class Plan:
    """Per-column checks for one load: declared types are enforced, the others inferred."""

    def __init__(self, declared: Mapping[str, ColumnSpec], *, typed: bool = False) -> None:
        self.typed = typed  # JSON: values carry their types, which inference keeps
        self.declared = {name: dict(spec) for name, spec in declared.items()}
        for spec in self.declared.values():
            if spec.get("role") == Role.TIMESTAMP.value and not spec.get(DATA_TYPE):
                spec[DATA_TYPE] = DataType.DATE.value
        self.checks: dict[str, tuple[str, Callable[[Any], bool]]] = {
            name: (str(spec[DATA_TYPE]), checker(str(spec[DATA_TYPE])))
            for name, spec in self.declared.items()
            if spec.get(DATA_TYPE)
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
            present = [v for v in values if v is not None and v != ""]
            found = self.checks.get(name)
            if found is None:
                self._inference(name).update(present)
            elif not all_fit(present, found[0]):
                bad = next(
                    i for i, v in enumerate(values) if v is not None and v != "" and not found[1](v)
                )
                raise FileFormatError(
                    f"Malformed row at line {lines[bad]}: the value {values[bad]!r} in column "
                    f"{name!r} does not fit its data type {found[0]} "
                    f"(expected {_describe_type(found[0])})"
                )

    def check_batch(self, batch: pa.RecordBatch) -> None:
        """Check a batch of text columns; :class:`Inexact` when a declared type is not met."""
        for name, values in zip(batch.schema.names, batch.columns, strict=True):
            found = self.checks.get(name)
            if found is None:
                inference = self._inference(name)
                present = _present(values)
                if not inference.settled and len(present):
                    inference.narrow(_fitting(present))
            elif not _fits(values, found[0]):
                raise Inexact  # the exact path finds the value and its line

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
                    _key_values(batch.column(n), self._type(n))
                    if n in have
                    else pa.nulls(batch.num_rows, pa.string()),
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
            if not spec.get(DATA_TYPE):
                inference = self.inferred.get(name)
                spec[DATA_TYPE] = inference.result() if inference else DataType.STRING.value
            final[name] = complete_metadata(spec)
        return final


def _key_text(values: pa.Array, data_type: str) -> pa.Array:
    """One key column's values in a canonical text: ``2``, ``"2.0"`` and ``" 2 "`` are one key.

    Numbers are compared as numbers (integers exactly, ``int64`` and ``uint64`` alike, never
    through ``float64``), dates as instants (UTC when they name no offset), logical
    values as true/false, and text as it is.
    """
    if data_type in _NUMERIC_TYPES:
        return _number_key_text(pc.utf8_trim_whitespace(values))
    if data_type == DataType.DATE.value:
        return pc.cast(arrow_instants(values), pa.string())
    if data_type == DataType.LOGICAL.value:
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        return pc.cast(pc.is_in(lowered, value_set=_TRUE), pa.string())
    return values


_INTEGER = r"^[+-]?[0-9]+$"


def _number_key_text(trimmed: pa.Array) -> pa.Array:
    """Numbers' key text: an integer's digits (exact at any size), else ``float64``'s text."""
    integers = _integer_text(trimmed)
    if integers is not None:
        return integers  # the common case: every value an integer within 64 bits
    integral = pc.fill_null(pc.match_substring_regex(trimmed, _INTEGER), False)
    others = pc.if_else(integral, pa.scalar("0"), trimmed)
    try:
        numbers = pc.cast(others, pa.float64())
    except pa.ArrowInvalid:
        numbers = pa.array(
            [None if v is None else float(v) for v in others.to_pylist()], pa.float64()
        )
    whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), 9.2e18))
    as_int = pc.cast(pc.cast(pc.if_else(whole, numbers, 0.0), pa.int64()), pa.string())
    floats = pc.if_else(whole, as_int, pc.cast(numbers, pa.string()))
    if not pc.any(integral).as_py():
        return floats
    digits = pc.if_else(integral, trimmed, pa.scalar("0"))
    exact = _integer_text(digits)
    if exact is None:  # a sign, or beyond 64 bits: Python's integers
        exact = pa.array([str(int(v)) for v in digits.to_pylist()], pa.string())
    return pc.if_else(integral, exact, floats)


def _integer_text(values: pa.Array) -> pa.Array | None:
    """The integers' digits when Arrow parses every value as ``int64`` or ``uint64``."""
    for integer in (pa.int64(), pa.uint64()):
        try:
            return pc.cast(pc.cast(values, integer), pa.string())
        except pa.ArrowInvalid:
            continue
    return None
