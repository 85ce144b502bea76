"""Counter-based randomness for the generated posts: every draw is a hash of (seed, post
number, purpose), so any post can be made without making the ones before it."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]

_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def mix(x: U64) -> U64:
    """splitmix64's finalizer: a bijective 64-bit hash with good avalanche."""
    x = x + np.uint64(_GOLDEN)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def mix_int(x: int) -> int:
    x = (x + _GOLDEN) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def scramble(x: I64, bits: int) -> I64:
    """A bijection of [0, 2**bits): looks random, keeps distinct inputs distinct."""
    mask = np.uint64((1 << bits) - 1)
    y = x.astype(np.uint64) ^ (np.uint64(0x5BD1E9955BD1E995) & mask)
    for mult in (0x9E3779B1, 0x85EBCA77):
        y = (y * np.uint64(mult)) & mask
        y ^= y >> np.uint64(max(1, bits // 2))
    return y.astype(np.int64)


class Salt:
    """One number per independent draw made for a post."""

    TIME, KIND, AUTHOR, LEVEL_AUTHOR, LANG_KEEP, LANG, TEMPLATE, NTAGS = range(1, 9)
    TAG0, TAG1, TAG2, MENTION, MENTION_WHO, URL, URL_WHICH, TCO = range(9, 17)
    LIKES, REPOSTS, REPLIES, QUOTES, VIEWS, TRAIL = range(17, 23)
    CANDIDATE = 40  # + 3 * attempt (+0 lag, +1 level)
    SLOT = 80  # + slot number
    AUTHOR_LANG, NAME_FIRST, NAME_LAST, NAME_SUFFIX, MEMBER_WORD, MEMBER_TIME = range(100, 106)


class Hash:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def bits(self, j: I64, salt: int) -> U64:
        key = np.uint64(mix_int((self.seed * 0x632BE59BD9B4E019 + salt * _GOLDEN) & _MASK64))
        return mix(j.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03) + key)

    def u(self, j: I64, salt: int) -> F64:
        """Uniform in [0, 1)."""
        return (self.bits(j, salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def below(self, j: I64, salt: int, n: int | I64) -> I64:
        """Uniform integer in [0, n)."""
        return np.minimum(np.floor(self.u(j, salt) * n), np.asarray(n) - 1).astype(np.int64)
