"""OONI web_connectivity 0.4 and 0.5 in the conformance corpus: every QA scenario the project
writes in OONI's format (tests/watch/ooni_scenarios.py builds them from the spec, ts-017; no
OONI data is copied), as one JSON-lines file per probe version, read through the import path
`jalsa watch import-ooni` uses: every line a measurement, none a problem, each with the
verdict its scenario expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jalsa.watch.ooni import QA_EXPECTED, Problem, import_and_compare
from watch.ooni_scenarios import QA, qa_scenario

# A 0.4 probe records no per-hop steps: the redirect-following scenarios are 0.5 only.
MULTI_HOP = {n for n in QA if n.startswith(("redirectWithConsistent", "redirectWithMore"))}


@pytest.mark.parametrize("version", ["0.4.3", "0.5.28"])
def test_a_file_of_every_scenario_reads_as_written(tmp_path: Path, version: str) -> None:
    names = sorted(QA_EXPECTED if version.startswith("0.5") else set(QA_EXPECTED) - MULTI_HOP)
    path = tmp_path / f"web_connectivity_{version}.jsonl"
    raws = [qa_scenario(name, version) for name in names]
    path.write_text("".join(json.dumps(raw) + "\n" for raw in raws), encoding="utf-8")
    items = list(import_and_compare([path]))
    assert not [i for i in items if isinstance(i, Problem)]
    assert len(items) == len(names)
    for name, item in zip(names, items, strict=True):
        assert not isinstance(item, Problem)
        measurement, _ = item
        assert measurement.verdict.method == QA_EXPECTED[name], (name, measurement.verdict)
