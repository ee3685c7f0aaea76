"""Upsert keys hashed and looked up a column at a time, never a Python call per row.

A row's key is the text :meth:`~nexosis_pandas.server.plan.Plan.keys` makes of its key columns
(numbers as numbers, exact for every ``int64`` and ``uint64``; dates as instants; text as it
is). :func:`text_hashes` hashes that text's UTF-8 bytes straight from the Arrow buffers, eight
bytes of every row at a time. :class:`HashIndex` finds a hash among sorted distinct hashes by a
table of their top bits: one look-up a row, and a step more for each other hash its bucket
holds (a bucket holds about one). Equal keys have equal hashes; a hash says nothing more, so
the upsert compares the keys of the rows a hash brings together.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["HashIndex", "text_hashes"]

_PRIME = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)
_SIXTY_FOUR = np.uint64(64)
_CHUNK = 1 << 16
"""Buckets of the look-up table made at a time (its temporary arrays stay small)."""
_MASKS = np.array(
    [0] + [(1 << (8 * n)) - 1 for n in range(1, 8)] + [(1 << 64) - 1], dtype=np.uint64
)
"""``_MASKS[n]``: the low ``n`` bytes of a little-endian word."""


def _mix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, in place: every input bit reaches every output bit."""
    h ^= h >> _SHIFT
    h *= _MIX1
    h ^= h >> _SHIFT
    h *= _MIX2
    h ^= h >> _SHIFT
    return h


def text_hashes(values: pa.Array) -> np.ndarray:
    """Each value's 64-bit hash of its UTF-8 bytes and length (``uint64``; nulls hash as "").

    The bytes are read from the array's buffers eight at a time for every row at once (a word
    at any byte offset is made of two aligned ones); a row shorter than the longest contributes
    nothing more, and is told apart by its length.
    """
    if values.type != pa.string():
        values = values.cast(pa.string())
    count = len(values)
    if not count:
        return np.empty(0, dtype=np.uint64)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[values.offset : values.offset + count + 1]
    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    if values.null_count:
        lengths[~values.is_valid().to_numpy(zero_copy_only=False)] = 0
    first, last = int(offsets[0]), int(offsets[-1])
    # the bytes, padded to whole words and one more, read as aligned little-endian words
    data = np.zeros((last - first + 15) // 8 * 8 + 8, dtype=np.uint8)
    if buffers[2] is not None and last > first:
        data[: last - first] = np.frombuffer(buffers[2], dtype=np.uint8)[first:last]
    words = data.view("<u8")
    starts -= first
    hashes = lengths.astype(np.uint64) * _PRIME
    rows = np.arange(count)
    for word in range((int(lengths.max()) + 7) // 8):
        if word:  # a row mixes as many words as it has: its hash is its own, whatever the batch
            rows = rows[lengths[rows] > 8 * word]
        at = starts[rows] + 8 * word
        index = at >> 3
        shift = ((at & 7) * 8).astype(np.uint64)
        chunk = words[index] >> shift
        chunk |= np.where(shift > 0, words[index + 1] << (_SIXTY_FOUR - shift), 0).astype(np.uint64)
        chunk &= _MASKS[np.minimum(lengths[rows] - 8 * word, 8)]
        mixed = (hashes[rows] ^ chunk) * _PRIME
        hashes[rows] = mixed ^ (mixed >> _SHIFT)
    return _mix(hashes)


class HashIndex:
    """Sorted distinct hashes, looked up by a table of their top bits.

    Parameters
    ----------
    hashes
        Distinct, in ascending order (``uint64``).
    """

    def __init__(self, hashes: np.ndarray) -> None:
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        count = len(self.hashes)
        # one to two buckets a hash: most hold none or one, the table is 4 to 8 bytes a hash
        self._bits = max(1, min(30, int(count).bit_length()))
        self._shift = np.uint64(64 - self._bits)
        buckets = 1 << self._bits
        self._starts = np.empty(buckets + 1, dtype=np.int32)
        for low in range(0, buckets, _CHUNK):  # a bucket's first hash, a few at a time
            bounds = np.arange(low, min(low + _CHUNK, buckets), dtype=np.uint64) << self._shift
            self._starts[low : low + len(bounds)] = np.searchsorted(self.hashes, bounds)
        self._starts[buckets] = count

    def __len__(self) -> int:
        return len(self.hashes)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's position among the index's hashes, or -1 where it is not one of them."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        if not len(self.hashes):
            return np.full(len(hashes), -1, dtype=np.int64)
        bucket = (hashes >> self._shift).astype(np.int64)
        low = self._starts[bucket].astype(np.int64)
        size = self._starts[bucket + 1] - low
        found = np.full(len(hashes), -1, dtype=np.int64)
        asking = np.flatnonzero(size > 0)
        step = 0
        while len(asking):  # a bucket's hashes one after the other: a few steps at most
            at = low[asking] + step
            hit = self.hashes[at] == hashes[asking]
            found[asking[hit]] = at[hit]
            step += 1
            asking = asking[~hit & (size[asking] > step)]
        return found
