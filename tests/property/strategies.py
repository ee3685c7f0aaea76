"""Hypothesis strategies for the frames the upload accepts, one column kind at a time.

A generated frame is a :class:`Case`: the frame and, for each column, its :data:`Kind`, which
the properties use to say what must come back. Every frame has an ``int64`` column ``row``
(0, 1, 2, ...): a dataset does not promise an order, so frames read back are sorted by it, and
it is the key when a property imports with one.

``text`` values are drawn to hit what trips CSV and JSON writers and readers: quotes, commas,
CR and LF, blanks at the ends, leading zeros (``08123``), ``NA``, ``null``, ``None``, ``nan``,
and any unicode a UTF-8 file can hold (``""`` too, which must come back apart from a missing
value).

:func:`family_columns` draws the columns a dtype table forgets (``bytes``, ``Decimal``, Python
integers beyond 64 bits, sparse columns): the properties check that each comes back exactly or
is refused before upload, with a message naming its column and row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
from hypothesis import strategies as st

Kind = Literal[
    "int64",
    "Int64",
    "float64",
    "bool",
    "boolean",
    "object",
    "string",
    "string[pyarrow]",
    "category",
    "datetime",
    "datetime_tz",
    "date",
]
KINDS: tuple[Kind, ...] = (
    "int64",
    "Int64",
    "float64",
    "bool",
    "boolean",
    "object",
    "string",
    "string[pyarrow]",
    "category",
    "datetime",
    "datetime_tz",
    "date",
)
TEXT_KINDS: tuple[Kind, ...] = ("object", "string", "string[pyarrow]", "category")
UNITS = ("s", "ms", "us", "ns")
INDEXES = ("range", "filtered", "named", "datetime", "labels")
"""The default index; labels left by filtering; a named index; a DatetimeIndex; string labels."""
ZONES = ("UTC", "Europe/Paris", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham")

# Characters that matter to CSV, JSON and their readers, and a few from far away.
_SPECIAL = ",\"'\n\r\t \\;|"
_SPECIAL_TEXTS = (
    "08123",
    "007",
    "-0",
    "0",
    "1.50",
    "1e3",
    "NA",
    "N/A",
    "null",
    "None",
    "nan",
    "NaN",
    "inf",
    "True",
    "false",
    "yes",
    "2024-01-31",
    " padded ",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\r\nlf",
    "lone\rcr",
    "ünïcødé ✓ 😀",
    "[1, 2]",
    '{"a": 1}',
)


class Case:
    """A generated frame, what each of its columns is, and which kind of index it has."""

    def __init__(
        self,
        frame: pd.DataFrame,
        kinds: dict[str, Kind],
        units: dict[str, str] | None = None,
        index: str = "range",
    ) -> None:
        self.frame = frame
        self.kinds = kinds
        self.units = units or {}
        self.index = index

    def __repr__(self) -> str:
        columns = {name: self.frame[name].tolist() for name in self.frame.columns}
        dtypes = {name: str(self.frame[name].dtype) for name in self.frame.columns}
        return (
            f"Case(index={self.index!r}: {self.frame.index.tolist()!r}, dtypes={dtypes!r}, "
            f"columns={columns!r})"
        )


def texts(*, empty: bool) -> st.SearchStrategy[str]:
    """Text a column may hold; ``""`` only when ``empty``."""
    alphabet = st.characters(codec="utf-8") | st.sampled_from(_SPECIAL + "0123456789")
    drawn = st.one_of(
        st.sampled_from(_SPECIAL_TEXTS), st.text(alphabet, min_size=0 if empty else 1, max_size=12)
    )
    return drawn if empty else drawn.filter(bool)


def _floats() -> st.SearchStrategy[float]:
    seventeen_digits = st.tuples(st.integers(10**16, 10**17 - 1), st.integers(-330, 290))
    return st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([0.0, -0.0, 5e-324, -2.2250738585072014e-308, 0.1, 1e16, 1e22, 2.0**53]),
        seventeen_digits.map(lambda me: float(f"{me[0]}e{me[1]}")).filter(np.isfinite),
    )


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
# A day inside years 1 to 9999, so that local times in every zone stay inside them too.
_YEAR_1 = int((dt.datetime(1, 1, 2) - dt.datetime(1970, 1, 1)).total_seconds())
_YEAR_9999_END = int(
    (dt.datetime(9999, 12, 30, 23, 59, 59) - dt.datetime(1970, 1, 1)).total_seconds()
)


def _stamps(unit: str, *, sub_micro: bool) -> st.SearchStrategy[int]:
    """Integers in ``unit`` since the epoch: years 1 to 9999 (1678 to 2261 for ns)."""
    if unit == "ns":
        day = 86_400 * 10**9
        values = st.integers(-(2**63) + day, 2**63 - 1 - day)
        return values if sub_micro else values.map(lambda v: v - v % 1000)
    per = _PER_SECOND[unit]
    return st.integers(_YEAR_1 * per, _YEAR_9999_END * per + per - 1)


@dataclass(frozen=True)
class Options:
    """What a property lets into a frame."""

    empty_strings: bool = True
    sub_micro: bool = True
    kinds: tuple[Kind, ...] = KINDS
    max_rows: int = 12


def _column(draw: Callable[..., Any], kind: Kind, n: int, options: Options) -> tuple[Any, str]:
    """A column of ``n`` values of ``kind`` and, for datetimes, its unit."""

    def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.none(), values)

    def many(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
        return st.lists(values, min_size=n, max_size=n)

    if kind == "int64":
        return np.array(draw(many(st.integers(-(2**63), 2**63 - 1))), dtype="int64"), ""
    if kind == "Int64":
        return pd.array(draw(many(maybe(st.integers(-(2**63), 2**63 - 1)))), dtype="Int64"), ""
    if kind == "float64":
        values = draw(many(st.one_of(st.just(np.nan), _floats())))
        return np.array(values, dtype="float64"), ""
    if kind == "bool":
        return np.array(draw(many(st.booleans())), dtype=bool), ""
    if kind == "boolean":
        return pd.array(draw(many(maybe(st.booleans()))), dtype="boolean"), ""
    if kind in ("object", "string", "string[pyarrow]"):
        values = draw(many(maybe(texts(empty=options.empty_strings))))
        if kind == "object":
            return pd.array(values, dtype=object), ""
        return pd.array(values, dtype=kind), ""
    if kind == "category":
        categories = draw(st.lists(texts(empty=options.empty_strings), min_size=1, max_size=4))
        values = draw(many(maybe(st.sampled_from(categories))))
        return pd.Categorical(values, categories=list(dict.fromkeys(categories))), ""
    if kind in ("datetime", "datetime_tz"):
        unit = draw(st.sampled_from(UNITS))
        stamps = draw(many(maybe(_stamps(unit, sub_micro=options.sub_micro))))
        ints = np.array([0 if s is None else s for s in stamps], dtype="int64")
        array = ints.astype(f"datetime64[{unit}]")
        array[[s is None for s in stamps]] = np.datetime64("NaT")
        values = pd.array(array)
        if kind == "datetime_tz":
            zone = draw(st.sampled_from(ZONES))
            values = pd.Series(values).dt.tz_localize("UTC").dt.tz_convert(zone).array
        return values, unit
    days = draw(many(maybe(st.dates())))
    return pd.array(days, dtype=object), ""


@st.composite
def cases(draw: Callable[..., Any], options: Options = Options()) -> Case:
    """A frame of 0 to ``options.max_rows`` rows: ``row``, then columns of the drawn kinds."""
    n = draw(st.integers(0, options.max_rows))
    kinds = draw(st.lists(st.sampled_from(options.kinds), min_size=1, max_size=5))
    case = Case(pd.DataFrame({"row": np.arange(n, dtype="int64")}), {"row": "int64"})
    for i, kind in enumerate(kinds):
        name = f"{kind.replace('[', '_').replace(']', '')}_{i}"
        values, unit = _column(draw, kind, n, options)
        case.frame[name] = pd.Series(values, index=case.frame.index)
        case.kinds[name] = kind
        if unit:
            case.units[name] = unit
    index = draw(st.sampled_from(INDEXES))
    if index == "filtered":
        case.frame.index = pd.RangeIndex(0, 2 * n, 2)
    elif index == "named":
        case.frame.index = pd.Index(np.arange(n, dtype="int64") * 10, name="idx")
    elif index == "datetime":
        case.frame.index = pd.date_range("2024-01-01", periods=n, freq="D")
    elif index == "labels":
        case.frame.index = pd.Index([f"r{i}" for i in range(n)], dtype=object)
    case.index = index
    return case


Family = Literal["bytes", "decimal", "pyint", "sparse_float64", "sparse_int64", "sparse_bool"]
"""Columns a dtype table forgets: each comes back exactly or is refused before upload."""
FAMILIES: tuple[Family, ...] = (
    "bytes",
    "decimal",
    "pyint",
    "sparse_float64",
    "sparse_int64",
    "sparse_bool",
)


def _decimals() -> st.SearchStrategy[Decimal]:
    """Decimals a double holds (its shortest text) and ones it does not (many digits)."""
    return st.one_of(
        _floats().map(lambda f: Decimal(repr(f))),
        st.integers(0, 25).flatmap(
            lambda places: st.decimals(-(10**30), 10**30, places=places, allow_nan=False)
        ),
        st.sampled_from([Decimal("12345678901234567890.123"), Decimal("0.1"), Decimal("-0")]),
    )


def _python_ints() -> st.SearchStrategy[int]:
    """Integers around the edges of int64, uint64 and the doubles' 2**53."""
    edges = [-(2**63), 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**53 + 1, 2**70, -(2**63) - 1]
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.integers(0, 2**64 - 1),
        st.sampled_from(edges),
        st.integers(-(2**80), 2**80),
    )


@st.composite
def family_columns(draw: Callable[..., Any], family: Family, n: int) -> Any:
    """A column of ``n`` values (at least one present) of ``family``, as a frame holds it."""

    def values(present: st.SearchStrategy[Any]) -> list[Any]:
        drawn: list[Any] = draw(st.lists(st.one_of(st.none(), present), min_size=n, max_size=n))
        if all(v is None for v in drawn):
            drawn[draw(st.integers(0, n - 1))] = draw(present)
        return drawn

    if family == "bytes":
        drawn = values(texts(empty=True))
        drawn[draw(st.integers(0, n - 1))] = draw(st.binary(max_size=6))
        return pd.array(drawn, dtype=object)
    if family == "decimal":
        return pd.array(values(_decimals()), dtype=object)
    if family == "pyint":
        return pd.array(values(_python_ints()), dtype=object)
    if family == "sparse_float64":
        floats = [np.nan if v is None else v for v in values(_floats())]
        return pd.arrays.SparseArray(np.array(floats, dtype="float64"))
    if family == "sparse_int64":
        ints = draw(
            st.lists(st.sampled_from([0, 0, 0, 1, -(2**63), 2**63 - 1]), min_size=n, max_size=n)
        )
        return pd.arrays.SparseArray(np.array(ints, dtype="int64"), fill_value=0)
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return pd.arrays.SparseArray(np.array(flags, dtype=bool), fill_value=False)


@st.composite
def family_cases(draw: Callable[..., Any], max_rows: int = 6) -> tuple[Family, Any]:
    """A family and a column of 1 to ``max_rows`` of its values."""
    family = draw(st.sampled_from(FAMILIES))
    return family, draw(family_columns(family, draw(st.integers(1, max_rows))))
