"""Distinct-account sketches for the live figures: Apache DataSketches Theta sketches, which
merge (a union of two sketches is the sketch of the union of their accounts), so accounts
counted per part file and per minute add up without keeping a single account id.

One nominal size for all: 2^12 = 4,096 entries (lg_k 12). Up to that many distinct accounts a
sketch keeps every one and its count is exact; beyond, it keeps the 4,096 smallest hashes and
estimates the count with a relative standard error of 1/sqrt(4096) = 1.6%. Every estimate is
reported with the 95% bounds (two standard deviations) the sketch itself computes.

A sketch is stored as the bytes of a compact (compressed) Theta sketch, about 26 KB when full
and a few bytes per account below that."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from datasketches import compact_theta_sketch, theta_union, update_theta_sketch
from datasketches import compact_theta_sketch as Sketch

LG_K = 12
NOMINAL = 1 << LG_K  # accounts a sketch holds exactly
RELATIVE_ERROR = 1 / NOMINAL**0.5  # relative standard error in estimation mode: 1.6%
STD_DEVS = 2  # the bounds reported: about 95%

STATEMENT = (
    f"estimated with an Apache DataSketches Theta sketch (lg_k {LG_K}): exact up to "
    f"{NOMINAL:,} accounts, above that an estimate with a relative standard error of "
    f"{RELATIVE_ERROR:.1%}, given with the 95% bounds the sketch computes ("
    f"{STD_DEVS} standard deviations)"
)


def of_ids(ids: Iterable[str]) -> Sketch:
    """The sketch of these account ids (repeats count once)."""
    sketch = update_theta_sketch(LG_K)
    deque(map(sketch.update, ids), maxlen=0)  # the loop in C
    sketch.trim()  # to the nominal size: a stored sketch holds at most 4,096 hashes
    return sketch.compact()


def empty() -> Sketch:
    return update_theta_sketch(LG_K).compact()


def to_bytes(sketch: Sketch) -> bytes:
    return bytes(sketch.serialize(True))


def from_bytes(data: bytes) -> Sketch:
    return compact_theta_sketch.deserialize(data)


def union(sketches: Iterable[Sketch]) -> Sketch:
    merged = theta_union(LG_K)
    for sketch in sketches:
        merged.update(sketch)
    return merged.get_result()


@dataclass(frozen=True)
class Estimate:
    """A count of distinct accounts from a sketch: the estimate and its 95% bounds, all
    equal when the sketch held every account (`exact`)."""

    value: int
    lower: int
    upper: int
    exact: bool

    @classmethod
    def of(cls, sketch: Sketch) -> Estimate:
        exact = not sketch.is_estimation_mode()
        return cls(
            value=round(sketch.get_estimate()),
            lower=int(sketch.get_lower_bound(STD_DEVS)),
            upper=-int(-sketch.get_upper_bound(STD_DEVS) // 1),
            exact=exact,
        )


class Accumulator:
    """A sketch that sketches are added to, united lazily: small sketches wait in a list
    until they hold as many entries as a full sketch (a union costs about the size of the
    larger sketch, so adding a few accounts to a full one each time would cost a full union
    each time)."""

    def __init__(self) -> None:
        self._united: Sketch | None = None
        self._waiting: list[Sketch] = []
        self._entries = 0

    def add(self, sketch: Sketch) -> None:
        self._waiting.append(sketch)
        self._entries += sketch.num_retained
        if self._entries >= NOMINAL or len(self._waiting) >= 64:
            self._unite()

    def result(self) -> Sketch:
        self._unite()
        return self._united if self._united is not None else empty()

    def _unite(self) -> None:
        if self._waiting:
            given = [self._united] if self._united is not None else []
            self._united = union([*given, *self._waiting])
            self._waiting, self._entries = [], 0
