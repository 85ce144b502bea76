"""Whether two analyses of the same posts agree, figure by figure: the rows of every measure,
the spikes, the coordination summary and the X coverage. Used by the conformance tests (DuckDB
against Spark in local mode and on a standalone cluster) and benchmarks/spark_cluster.py.

Every figure must be equal, with two declared allowances, as Ibis's backend suite declares
its own: a float in a measure's rows is compared to 9 significant digits (engines sum in
different orders, and the last bits of a double follow the order), and the HyperLogLog
estimate of authors is each engine's own sketch, so it is checked against the exact count
within 4 of the engine's stated standard errors instead of against the other engine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# measure -> columns whose values are engine-specific estimates
ESTIMATES = {"overview": {"authors_approx"}}
# how many standard errors an estimate may be off the exact count
ESTIMATE_ERRORS = 4


def canonical(rows: list[dict[str, Any]], skip: set[str]) -> list[tuple[Any, ...]]:
    """A measure's rows as sorted tuples, without the `skip` columns: row order is not a
    figure (ties may come back in any order) and floats are cut to 9 significant digits."""

    def value(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.9g}")
        if isinstance(v, list):
            return tuple(v)
        return v

    out = [tuple((k, value(v)) for k, v in sorted(r.items()) if k not in skip) for r in rows]
    return sorted(out, key=repr)


def _plain(value: Any) -> Any:
    """The value as it is written to JSON (`jalsa analyze --out`), so an analysis in memory
    compares with one read back from a file."""
    return json.loads(json.dumps(value, default=str))


def estimate_error(analysis: Mapping[str, Any]) -> str | None:
    """Why the author estimate is off its exact count by more than allowed, or None."""
    overview = analysis["results"]["overview"][0]
    exact, approx = overview["authors"], overview["authors_approx"]
    allowed = ESTIMATE_ERRORS * analysis["sketch_error"]
    error = abs(approx - exact) / exact if exact else float(approx != 0)
    if error <= allowed:
        return None
    return (
        f"{analysis['engine']}: authors_approx {approx} is {error:.1%} off the exact "
        f"{exact}, more than {allowed:.1%}"
    )


def differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """What differs between two analyses in the form of `Analysis.as_dict()` (or its JSON,
    as `jalsa analyze --out` writes it): an empty list when every figure agrees."""
    a, b = _plain(dict(first)), _plain(dict(second))
    found = []
    if set(a["results"]) != set(b["results"]):
        found.append(f"measures: {sorted(a['results'])} against {sorted(b['results'])}")
    for name in sorted(set(a["results"]) & set(b["results"])):
        skip = ESTIMATES.get(name, set())
        ours, theirs = canonical(a["results"][name], skip), canonical(b["results"][name], skip)
        if ours != theirs:
            seen_a, seen_b = set(map(repr, ours)), set(map(repr, theirs))
            only_a, only_b = len(seen_a - seen_b), len(seen_b - seen_a)
            found.append(
                f"{name}: {len(ours)} rows against {len(theirs)}, {only_a} only in "
                f"{a['engine']}'s and {only_b} only in {b['engine']}'s"
            )
    for part in ("spikes", "coordination", "x_coverage"):
        if a.get(part) != b.get(part):
            found.append(f"{part} differ")
    for analysis in (a, b):
        if "overview" in analysis["results"] and (why := estimate_error(analysis)):
            found.append(why)
    return found
