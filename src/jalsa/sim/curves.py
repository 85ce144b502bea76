"""The simulator's arithmetic: audience shapes and seeded noise, as pure functions.

Everything here is a deterministic function of its arguments (no global random state, no
PYTHONHASHSEED), so a test can recompute any value the simulator serves.
"""

from __future__ import annotations

import hashlib
import math
from statistics import NormalDist

NOISE_KNOT_SECONDS = 30.0  # audience noise is interpolated between knots this far apart
_NORMAL = NormalDist()


def uniform(seed: int, *key: object) -> float:
    """A number in (0, 1) fixed by `seed` and `key`."""
    text = "|".join([str(seed), *map(str, key)]).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2.0**64


def gauss(seed: int, *key: object) -> float:
    """A standard normal number fixed by `seed` and `key`, clipped to ±3 so one unlucky draw
    cannot zero or triple an audience."""
    return max(-3.0, min(3.0, _NORMAL.inv_cdf(uniform(seed, *key))))


def smooth_noise(seed: int, key: str, seconds: float) -> float:
    """Standard-normal-ish noise that drifts smoothly with time: seeded values at knots every
    NOISE_KNOT_SECONDS, linearly interpolated, so two polls a second apart see nearly the same
    audience while polls minutes apart see independent wobbles."""
    position = seconds / NOISE_KNOT_SECONDS
    knot = math.floor(position)
    frac = position - knot
    left = gauss(seed, key, knot)
    right = gauss(seed, key, knot + 1)
    return left + (right - left) * frac


def smoothstep(x: float) -> float:
    x = max(0.0, min(1.0, x))
    return x * x * (3.0 - 2.0 * x)


def relative_level(
    minutes: float, ramp_minutes: float, ramp_level: float, peak_at_minutes: float, decay: float
) -> float:
    """Audience (or posting rate) as a fraction of the peak, `minutes` after the rally start.

    Zero before the start; rises smoothly to `ramp_level` over `ramp_minutes` (people arriving);
    then climbs slowly to 1.0 at `peak_at_minutes` (the main speech); afterwards loses a fraction
    `decay` of what is left per hour (exponential decay).
    """
    if minutes < 0:
        return 0.0
    if minutes >= peak_at_minutes:
        if decay >= 1.0:
            return 1.0 if minutes == peak_at_minutes else 0.0
        return (1.0 - decay) ** ((minutes - peak_at_minutes) / 60.0)
    level = ramp_level if ramp_minutes < peak_at_minutes else 1.0
    if minutes < ramp_minutes:
        return level * smoothstep(minutes / ramp_minutes)
    return level + (1.0 - level) * smoothstep(
        (minutes - ramp_minutes) / (peak_at_minutes - ramp_minutes)
    )
