"""Column metadata and values on the server: validation, defaults, inference, type checks.

Pure functions, no I/O: the request handlers validate metadata with them, the import worker
checks and infers value types with them, and the dataset endpoints render stored values.

Values are stored as they arrived (CSV text, or JSON scalars) and rendered by the column's
data type when read back, so nothing is lost when a column's type is only known at the end.

Over 400 lines, kept as one module: the rules for each data type (what fits, what inference
narrows to, how a value is rendered) are read and changed together, and every part of the
server that meets a value asks them here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from nexosis_pandas._wire import (
    COLUMN_DEFAULTS,
    DATA_TYPE,
    LOGICAL_VALUES,
    Aggregation,
    DataType,
    Imputation,
    Role,
    parse_iso_datetime,
    parse_logical,
)

__all__ = [
    "FIELDS",
    "ColumnSpec",
    "MetadataError",
    "TypeInference",
    "all_fit",
    "arrow_instants",
    "arrow_stamp_types",
    "checker",
    "complete_metadata",
    "fits",
    "keeps_text",
    "merge_metadata",
    "normalize_date",
    "render_value",
    "shown_columns",
    "validate_metadata",
]

ColumnSpec = dict[str, str | None]
"""One column's metadata on the server: ``dataType``, ``role``, ``imputation``, ``aggregation``."""

FIELDS = (DATA_TYPE, "role", "imputation", "aggregation")

# The .NET client sent enum values as integers; these are its declaration orders.
_FIELD_ENUMS: dict[str, type[Enum]] = {
    "datatype": DataType,
    "role": Role,
    "imputation": Imputation,
    "aggregation": Aggregation,
}
_DOTNET_ORDER: dict[str, tuple[Enum, ...]] = {
    "datatype": (
        DataType.STRING,
        DataType.NUMERIC,
        DataType.LOGICAL,
        DataType.DATE,
        DataType.NUMERIC_MEASURE,
        DataType.TEXT,
    ),
    "role": (Role.NONE, Role.TIMESTAMP, Role.TARGET, Role.FEATURE, Role.KEY),
    "imputation": (
        Imputation.ZEROES,
        Imputation.MEAN,
        Imputation.MEDIAN,
        Imputation.MODE,
        Imputation.MIN,
        Imputation.MAX,
    ),
    "aggregation": (
        Aggregation.SUM,
        Aggregation.MEAN,
        Aggregation.MEDIAN,
        Aggregation.MODE,
        Aggregation.MIN,
        Aggregation.MAX,
    ),
}
_CANONICAL_FIELD = {f.lower(): f for f in FIELDS}
_NUMERIC_ONLY = {"mean", "median", "sum"}
_NUMERIC_TYPES = {DataType.NUMERIC.value, DataType.NUMERIC_MEASURE.value}
_TEXT_TYPES = {DataType.STRING.value, DataType.TEXT.value}


class MetadataError(ValueError):
    """Column metadata is invalid; ``details`` maps each column name to its reasons."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        self.details = details
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in details.items()))


def _enum_value(field: str, raw: Any, reasons: list[str]) -> str | None:
    if raw is None or raw == "":
        return None
    enum = _FIELD_ENUMS[field]
    name = _CANONICAL_FIELD[field]
    allowed = ", ".join(str(m.value) for m in enum)
    if isinstance(raw, bool):
        reasons.append(f"{name} {raw!r} is not one of: {allowed}")
        return None
    if isinstance(raw, int):
        order = _DOTNET_ORDER[field]
        if 0 <= raw < len(order):
            return str(order[raw].value)
        reasons.append(f"{name} {raw} is not a valid enum index (0 to {len(order) - 1})")
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if text.isdigit():
            return _enum_value(field, int(text), reasons)
        for member in enum:
            if str(member.value).lower() == text.lower():
                return str(member.value)
    reasons.append(f"{name} {raw!r} is not one of: {allowed}")
    return None


def validate_metadata(raw: Any) -> dict[str, ColumnSpec]:
    """Validate column metadata as a request sent it; return it normalised.

    Field names and enum values are matched case-insensitively, enum values may be .NET-style
    integers, and ``null`` or ``""`` mean "not given". Fields not given stay ``None``.

    Parameters
    ----------
    raw
        The ``columns`` value of a request: a mapping of column name to field mapping,
        or ``None``.

    Returns
    -------
    dict
        Column name to ``{"dataType", "role", "imputation", "aggregation"}``.

    Raises
    ------
    MetadataError
        With the reasons per column (``"columns"`` when the whole value is wrong).

    Examples
    --------
    >>> validate_metadata({"sales": {"DataType": 1, "role": "TARGET"}})["sales"]["dataType"]
    'numeric'
    """
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, Mapping):
        raise MetadataError({"columns": ["Column metadata must be an object of column names"]})
    details: dict[str, list[str]] = {}
    result: dict[str, ColumnSpec] = {}
    for name, spec in raw.items():
        reasons: list[str] = []
        if not isinstance(name, str) or not name.strip():
            details[str(name)] = ["A column name must be a non-empty string"]
            continue
        if spec is None or spec == "":
            spec = {}
        if not isinstance(spec, Mapping):
            details[name] = [f"The metadata of a column must be an object, not {spec!r}"]
            continue
        out: ColumnSpec = dict.fromkeys(FIELDS)
        for key, value in spec.items():
            field = str(key).lower()
            if field in _FIELD_ENUMS:
                out[_CANONICAL_FIELD[field]] = _enum_value(field, value, reasons)
        reasons.extend(_combination_reasons(out))
        if reasons:
            details[name] = reasons
        result[name] = out
    for role in (Role.TARGET.value, Role.TIMESTAMP.value):
        having = [n for n, s in result.items() if s["role"] == role]
        if len(having) > 1:
            for n in having:
                details.setdefault(n, []).append(
                    f"Only one column may have the role {role} (also: "
                    f"{', '.join(o for o in having if o != n)})"
                )
    if details:
        raise MetadataError(details)
    return result


def _combination_reasons(spec: Mapping[str, str | None]) -> list[str]:
    data_type = spec.get(DATA_TYPE)
    if data_type is None:
        return []
    reasons: list[str] = []
    imputation, aggregation = spec.get("imputation"), spec.get("aggregation")
    if data_type == DataType.DATE.value:
        for field, value in (("imputation", imputation), ("aggregation", aggregation)):
            if value is not None:
                reasons.append(f"A date column has no {field} (got {value})")
        return reasons
    if data_type == DataType.TEXT.value and aggregation is not None:
        reasons.append(f"A text column is not aggregated (got aggregation {aggregation})")
    if data_type not in _NUMERIC_TYPES:
        for field, value in (("imputation", imputation), ("aggregation", aggregation)):
            if value in _NUMERIC_ONLY:
                reasons.append(f"{field} {value} needs a numeric column, not {data_type}")
    return reasons


def complete_metadata(spec: Mapping[str, str | None]) -> ColumnSpec:
    """Fill the fields a column's metadata leaves out with the spec's defaults.

    The role defaults to ``feature``; imputation and aggregation come from
    :data:`~nexosis_pandas._wire.COLUMN_DEFAULTS` (``None`` where the type has neither).

    Examples
    --------
    >>> complete_metadata({"dataType": "numericMeasure"})["aggregation"]
    'mean'
    """
    data_type = DataType(spec.get(DATA_TYPE) or DataType.STRING.value)
    imputation, aggregation = COLUMN_DEFAULTS[data_type]
    return {
        DATA_TYPE: data_type.value,
        "role": spec.get("role") or Role.FEATURE.value,
        "imputation": spec.get("imputation") or (imputation.value if imputation else None),
        "aggregation": spec.get("aggregation") or (aggregation.value if aggregation else None),
    }


def shown_columns(columns: Mapping[str, Mapping[str, str | None]]) -> dict[str, ColumnSpec]:
    """Column metadata as the API shows it: completed with defaults where a type is known."""
    return {
        name: complete_metadata(spec) if spec.get(DATA_TYPE) else dict(spec)
        for name, spec in columns.items()
    }


def merge_metadata(
    base: Mapping[str, Mapping[str, str | None]], override: Mapping[str, Mapping[str, str | None]]
) -> dict[str, ColumnSpec]:
    """Overlay ``override`` on ``base`` field by field; a ``None`` field keeps the base value.

    When the override changes a column's data type, the base's imputation and aggregation
    (which belonged to the old type) are dropped so that the new type's defaults apply.
    """
    merged: dict[str, ColumnSpec] = {name: dict(spec) for name, spec in base.items()}
    for name, spec in override.items():
        current = merged.setdefault(name, dict.fromkeys(FIELDS))
        new_type = spec.get(DATA_TYPE)
        if new_type is not None and new_type != current.get(DATA_TYPE):
            current["imputation"] = current["aggregation"] = None
        for field in FIELDS:
            if spec.get(field) is not None:
                current[field] = spec[field]
    return merged


_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)\s*$")


def arrow_stamp_types(first: str) -> tuple[Any, Any]:
    """The Arrow types that parse ISO dates, the one for ``first``'s form first.

    Arrow parses dates with an offset (``Z``, ``+01:00``) only as a zoned timestamp and dates
    without one only as a naive one; a file writes a column's dates in one form, and a failed
    parse of a whole array costs many times a good one.
    """
    import pyarrow as pa

    naive, zoned = pa.timestamp("us"), pa.timestamp("us", tz="UTC")
    return (zoned, naive) if _OFFSET.search(first.rstrip(), 10) else (naive, zoned)


def arrow_instants(values: Any) -> Any:
    """Date texts (a ``pyarrow`` string array) as microseconds since 1970 UTC (``int64``).

    A date without an offset is UTC. Arrow parses whole arrays of one form; anything else is
    parsed value by value (:func:`~nexosis_pandas._wire.parse_iso_datetime`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(values)
    present = trimmed.drop_null()
    for target in arrow_stamp_types(present[0].as_py() if len(present) else ""):
        try:
            return pc.cast(pc.cast(trimmed, target), pa.int64())
        except pa.ArrowInvalid:
            continue
    return pa.array([_micros(v) for v in trimmed.to_pylist()], pa.int64())


def _micros(value: str | None) -> int | None:
    stamp = parse_iso_datetime(value)
    return None if stamp is None else (stamp - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normalize_date(value: Any) -> str | None:
    """An ISO-8601 date in one canonical form (UTC offset added when missing), or ``None``.

    Examples
    --------
    >>> normalize_date("2020-01-02")
    '2020-01-02T00:00:00+00:00'
    >>> normalize_date("2020-01-02 03:04:05Z")
    '2020-01-02T03:04:05+00:00'
    """
    stamp = parse_iso_datetime(value)
    return None if stamp is None else stamp.isoformat()


def _parse_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if "_" in text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _is_number(value: Any) -> bool:
    if type(value) is str:
        try:
            number = float(value)
        except ValueError:
            return False
        return math.isfinite(number) and "_" not in value
    return _parse_number(value) is not None


def _is_logical(value: Any) -> bool:
    return parse_logical(value) is not None


def _is_date(value: Any) -> bool:
    return normalize_date(value) is not None


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    DataType.NUMERIC.value: _is_number,
    DataType.NUMERIC_MEASURE.value: _is_number,
    DataType.LOGICAL.value: _is_logical,
    DataType.DATE.value: _is_date,
    DataType.STRING.value: _is_scalar,
    DataType.TEXT.value: _is_scalar,
}


def fits(value: Any, data_type: str) -> bool:
    """Whether a non-missing value fits a column's data type.

    Examples
    --------
    >>> fits("1.5e3", "numeric"), fits("On", "logical"), fits("soon", "date")
    (True, True, False)
    """
    return _CHECKS[data_type](value)


def _all_strings(values: list[Any]) -> bool:
    return all(type(v) is str for v in values)


def _all_numbers(values: list[Any]) -> bool:
    if _all_strings(values):
        # float() over the whole list runs in C; the joined text catches "1_000", nan and inf.
        try:
            numbers = list(map(float, values))
        except ValueError:
            return False
        return all(map(math.isfinite, numbers)) and "_" not in "".join(values)
    return all(map(_is_number, values))


def _all_logical(values: list[Any]) -> bool:
    if _all_strings(values):
        return set(map(str.lower, map(str.strip, values))) <= LOGICAL_VALUES.keys()
    return all(map(_is_logical, values))


def _all_dates(values: list[Any]) -> bool:
    try:
        for _ in map(datetime.fromisoformat, values):
            pass
    except (ValueError, TypeError):
        return all(map(_is_date, values))  # stops at the first value that is no date
    return True


def _all_scalars(values: list[Any]) -> bool:
    return not any(isinstance(v, dict | list) for v in values)


_ALL_CHECKS: dict[str, Callable[[list[Any]], bool]] = {
    DataType.NUMERIC.value: _all_numbers,
    DataType.NUMERIC_MEASURE.value: _all_numbers,
    DataType.LOGICAL.value: _all_logical,
    DataType.DATE.value: _all_dates,
    DataType.STRING.value: _all_scalars,
    DataType.TEXT.value: _all_scalars,
}


def all_fit(values: list[Any], data_type: str) -> bool:
    """Whether every one of many non-missing values fits ``data_type`` (fast for big lists).

    Examples
    --------
    >>> all_fit(["1", "2.5"], "numeric"), all_fit(["1", "x"], "numeric")
    (True, False)
    """
    return _ALL_CHECKS[data_type](values)


def checker(data_type: str) -> Callable[[Any], bool]:
    """The function :func:`fits` uses for ``data_type`` (looked up once per column)."""
    return _CHECKS[data_type]


def render_value(value: Any, data_type: str) -> Any:
    """A stored value as the API returns it, by the column's data type.

    Numbers become JSON numbers, logical values booleans, dates canonical ISO-8601 strings,
    and string or text values strings. Missing values stay ``None``; ``""`` is the empty text
    in a string or text column and missing in the others.

    Examples
    --------
    >>> render_value("42", "numeric"), render_value("no", "logical"), render_value(7, "string")
    (42, False, '7')
    >>> render_value("", "string"), render_value("", "numeric")
    ('', None)
    """
    if value is None or (value == "" and data_type not in _TEXT_TYPES):
        return None
    if data_type in _NUMERIC_TYPES:
        number = _parse_number(value)
        return number if number is not None else value
    if data_type == DataType.LOGICAL.value:
        flag = parse_logical(value)
        return flag if flag is not None else value
    if data_type == DataType.DATE.value:
        return normalize_date(value) or value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


# Inference prefers the narrowest type that every value fits.
_INFERENCE_ORDER = (DataType.NUMERIC.value, DataType.LOGICAL.value, DataType.DATE.value)


_LEADING_ZERO = re.compile(r"\s*[+-]?0[0-9]")

_TYPED: dict[str, Callable[[Any], bool]] = {
    DataType.NUMERIC.value: lambda v: type(v) in (int, float),
    DataType.LOGICAL.value: lambda v: type(v) is bool,
    DataType.DATE.value: lambda v: type(v) is str,
}
"""What a JSON value must be to count for each type: JSON says what a scalar is."""


def keeps_text(value: Any) -> bool:
    """Whether a text value would lose characters as a number (``08123`` is no 8123)."""
    return type(value) is str and _LEADING_ZERO.match(value) is not None


class TypeInference:
    """Infers one column's data type from its values, as they stream by.

    Each candidate type (numeric, logical, date) is dropped at the first value that does not
    fit it; once all are dropped the column is ``string`` and values cost nothing more. A text
    value with a leading zero (``08123``, a code rather than a number) is not numeric, so it
    comes back as it was sent. With ``typed`` (JSON) a value keeps its JSON type: numbers are
    numeric, ``true``/``false`` logical, and a string is a string (or a date), never a number.

    Examples
    --------
    >>> inference = TypeInference()
    >>> inference.update(["1", "0", "2"])
    >>> inference.result()
    'numeric'
    >>> inference.update(["08123"])
    >>> inference.result()
    'string'
    """

    __slots__ = ("_candidates", "_seen", "_typed")

    def __init__(self, *, typed: bool = False) -> None:
        self._candidates: list[tuple[str, Callable[[Any], bool]]] = [
            (t, _CHECKS[t]) for t in _INFERENCE_ORDER
        ]
        self._seen = False
        self._typed = typed

    def _fits_all(self, values: list[Any], data_type: str) -> bool:
        if self._typed and not all(map(_TYPED[data_type], values)):
            return False
        if data_type == DataType.NUMERIC.value and any(map(keeps_text, values)):
            return False
        return all_fit(values, data_type)

    @property
    def settled(self) -> bool:
        """Whether the answer can no longer change (every candidate was dropped)."""
        return not self._candidates

    def add(self, value: Any) -> None:
        """Take one non-missing value into account."""
        self.update([value])

    def update(self, values: Iterable[Any]) -> None:
        """Take several values into account (missing ones, ``None`` or ``""``, are skipped)."""
        present = [v for v in values if v is not None and v != ""]
        if present:
            self.narrow(lambda t: self._fits_all(present, t))

    def narrow(self, fits: Callable[[str], bool]) -> None:
        """Take some (non-missing) values into account: keep the types ``fits`` says they fit.

        For a reader that checks whole columns its own way (Arrow's); ``fits`` must apply the
        rules above.
        """
        self._seen = True
        if self._candidates:
            self._candidates = [c for c in self._candidates if fits(c[0])]

    def result(self) -> str:
        """The inferred data type: the first candidate left, else ``string``."""
        if self._seen and self._candidates:
            return self._candidates[0][0]
        return DataType.STRING.value
