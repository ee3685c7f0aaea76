"""What the tests need to treat pandas 2 and 3 alike."""

from __future__ import annotations

from typing import Any

import pandas as pd

PANDAS_2 = int(pd.__version__.split(".")[0]) < 3

EXACT_FLOATS: dict[str, Any] = {"float_precision": "round_trip"} if PANDAS_2 else {}
"""``read_csv`` options that parse floats exactly (pandas 2's default parser is not exact;
pandas 3's is, and deprecates the option)."""
