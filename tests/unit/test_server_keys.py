"""The upsert's keys without a Python call per row: their text, hashes, look-up and row takes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexosis_pandas.server.plan import _key_text
from nexosis_pandas.server.store.hashing import HashIndex, text_hashes
from nexosis_pandas.server.store.upsert import take_rows

texts = st.lists(st.text(max_size=40), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(texts, st.lists(st.text(max_size=40), max_size=5), st.integers(0, 4))
def test_a_text_hashes_alike_wherever_it_stands(
    values: list[str], before: list[str], skip: int
) -> None:
    # Neighbours, the longest value of the batch and the array's offset change nothing.
    alone = [int(text_hashes(pa.array([v]))[0]) for v in values]
    array = pa.array([*before, *values]).slice(len(before))
    assert text_hashes(array).tolist() == alone
    assert text_hashes(array.slice(min(skip, len(values)))).tolist() == alone[skip:]


@settings(max_examples=200, deadline=None)
@given(texts)
def test_equal_hashes_come_from_equal_texts(values: list[str]) -> None:
    hashes = text_hashes(pa.array(values)).tolist()
    assert len(set(hashes)) == len(set(values))


def test_texts_differing_by_a_trailing_zero_byte_or_a_word_hash_apart() -> None:
    values = ["", "a", "a\x00", "\x00", "abcdefgh", "abcdefgh\x00", "abcdefghi", "é"]
    assert len(set(text_hashes(pa.array(values)).tolist())) == len(values)
    assert text_hashes(pa.array(["x", None])).tolist()[1] == text_hashes(pa.array([""]))[0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), unique=True, max_size=50),
    st.lists(st.integers(0, 2**64 - 1), max_size=50),
)
def test_the_index_finds_exactly_its_hashes(known: list[int], others: list[int]) -> None:
    # Crowded buckets: half the hashes have a twin with the same top bits (a binary search).
    crowded = [h ^ 1 for h in known[::2]]
    stored = np.unique(np.array(known + crowded, dtype=np.uint64))
    index = HashIndex(stored)
    asked = np.array([*stored.tolist(), *others], dtype=np.uint64)
    found = index.find(asked)
    position = {int(h): i for i, h in enumerate(stored.tolist())}
    assert found.tolist() == [position.get(int(h), -1) for h in asked.tolist()]


def test_an_empty_index_finds_nothing() -> None:
    assert HashIndex(np.empty(0, np.uint64)).find(np.array([0, 5], np.uint64)).tolist() == [-1, -1]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=6),
    st.data(),
)
def test_taking_rows_gives_them_in_the_order_asked(sizes: list[int], data: st.DataObject) -> None:
    schema = pa.schema([pa.field("v", pa.string())])
    batches, start = [], 0
    for size in sizes:
        values = [str(start + i) for i in range(size)]
        batches.append(pa.RecordBatch.from_arrays([pa.array(values)], schema=schema))
        start += size
    starts = np.concatenate([[0], np.cumsum(sizes)])
    total = int(starts[-1])
    kind = data.draw(st.sampled_from(["run", "ascending", "any"]))
    if kind == "run":
        first = data.draw(st.integers(0, total - 1))
        indices = list(range(first, data.draw(st.integers(first + 1, total))))
    elif kind == "ascending":
        indices = sorted(data.draw(st.sets(st.integers(0, total - 1), min_size=1)))
    else:
        indices = data.draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=80))
    taken = take_rows(batches, starts, indices, schema)
    assert taken.column("v").to_pylist() == [str(i) for i in indices]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            ["1", "2.0", " 3 ", "1e3", "+5", "007", "-0", None, "1.5"],
            ["1", "2", "3", "1000", "5", "7", "0", None, "1.5"],
        ),
        # above 2**53 float64 cannot tell neighbours apart; the key text must
        ([str(2**53), str(2**53 + 1)], [str(2**53), str(2**53 + 1)]),
        ([str(2**63 - 1), str(2**63 - 2)], [str(2**63 - 1), str(2**63 - 2)]),
        ([str(2**64 - 1), str(2**64 - 2)], [str(2**64 - 1), str(2**64 - 2)]),
        ([str(2**64 - 1), "-1", "0.5"], [str(2**64 - 1), "-1", "0.5"]),
        ([f"+{2**60 + 1}", "2.5"], [str(2**60 + 1), "2.5"]),
        ([str(2**70 + 1), "2.5"], [str(2**70 + 1), "2.5"]),
    ],
)
def test_numeric_keys_are_exact_integers(values: list[str | None], expected: list[str]) -> None:
    assert _key_text(pa.array(values, pa.string()), "numeric").to_pylist() == expected
