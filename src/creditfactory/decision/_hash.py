"""A stable hash of applicant ids for champion/challenger splits (same in Python and NumPy).

64-bit FNV-1a over the UTF-8 bytes of ``salt + ":" + id``, finished with MurmurHash3's
``fmix64`` so that ids differing in their last character land far apart; the bucket is the top
53 bits as a float in [0, 1). Stable across processes, machines and library versions (unlike
``hash()`` or ``pl.Expr.hash``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_SCALE = 2.0**-53


def _fnv(data: bytes, h: int = _OFFSET) -> int:
    for b in data:
        h = ((h ^ b) * _PRIME) & _MASK
    return h


_M1, _M2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53


def _fmix(h: int) -> int:
    h ^= h >> 33
    h = (h * _M1) & _MASK
    h ^= h >> 33
    h = (h * _M2) & _MASK
    return h ^ (h >> 33)


def bucket(key: str, salt: str = "") -> float:
    """Bucket in [0, 1) of one id.

    >>> bucket("A000001", "s1") == bucket("A000001", "s1")
    True
    >>> 0.0 <= bucket("A000001") < 1.0
    True
    """
    return (_fmix(_fnv(key.encode(), _fnv((salt + ":").encode()))) >> 11) * _SCALE


def buckets(keys: pa.Array | list[str], salt: str = "") -> np.ndarray:
    """Buckets of many ids, vectorised over byte positions (not a Python loop per row)."""
    arr = pa.array(keys) if not isinstance(keys, pa.Array | pa.ChunkedArray) else keys
    arr = pc.cast(arr, pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data_buf = arr.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    h = np.full(n, _fnv((salt + ":").encode()), dtype=np.uint64)
    prime = np.uint64(_PRIME)
    for j in range(int(lengths.max()) if n else 0):
        live = np.nonzero(lengths > j)[0]
        byte = data[starts[live] + j].astype(np.uint64)
        h[live] = (h[live] ^ byte) * prime  # wraps modulo 2**64, as FNV wants
    s33 = np.uint64(33)
    h ^= h >> s33
    h *= np.uint64(_M1)
    h ^= h >> s33
    h *= np.uint64(_M2)
    h ^= h >> s33
    return (h >> np.uint64(11)).astype(np.float64) * _SCALE
