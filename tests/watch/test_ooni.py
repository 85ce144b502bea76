"""OONI import: OONI's 50 labelled web_connectivity QA scenarios and real measurements, read,
converted and classified by our rules, and bad input reported without a traceback.

The datasets live beside the repository in shared/datasets (not in it: CC BY-NC-SA). Absent,
the tests skip, except in CI, where they fail."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from jalsa.watch.classify import classify
from jalsa.watch.fingerprints import FingerprintError, Fingerprints, load_ooni_fingerprints
from jalsa.watch.ooni import (
    QA_EXPECTED,
    OoniFormatError,
    Problem,
    compare,
    import_and_compare,
    platform_of,
    read_ooni,
    summarize,
    to_measurement,
)
from jalsa.watch.record import BLOCKING, Measurement

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
QA = DATASETS / "ooni_wc05_synthetic"
REAL = DATASETS / "ooni_measurements"

# Real measurements and our verdict. Where we differ from OONI's own, the reason is given.
REAL_EXPECTED = {
    "web_connectivity_ir_fp": "dns.bogon",  # IR, facebook -> 10.10.34.36 (block page address)
    "bug_352": "dns.bogon",  # IR, fa.wikipedia.org -> 10.10.34.36
    "bug_351": "http.failure",  # NL, the old probe's request failed; the control fetched it
    # SK, OONI said dns. The control found no address either (a CNAME only) and its request
    # failed with dns_lookup_error; wikispaces.com closed in 2018: the site is down.
    "requests_none": "down",
    # ID, OONI's probe said accessible, but archive.org redirected to lamanlabuh.aduankonten.id,
    # Indonesia's block page (OONI's own fingerprint DB lists it).
    "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3": "http.blockpage",
    "youtube_measurement": "ok",
}


def need(folder: Path) -> Path:
    if not folder.is_dir():
        message = (
            f"{folder.resolve()} is missing: the OONI datasets belong in shared/datasets next "
            "to the repository (see shared/datasets/README.md)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


def load(path: Path) -> tuple[Measurement, dict[str, Any]]:
    items = list(import_and_compare([path]))
    assert len(items) == 1 and not isinstance(items[0], Problem), items
    measurement, _ = items[0]
    return measurement, json.loads(path.read_text())


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Measurement]:
    folder = need(QA)
    return {name: load(folder / f"{name}.json")[0] for name in QA_EXPECTED}


# --- the QA scenarios ------------------------------------------------------------------------


def test_every_scenario_file_has_an_expected_method() -> None:
    names = {p.stem for p in need(QA).glob("*.json")}
    assert names == set(QA_EXPECTED)


@pytest.mark.parametrize("name", sorted(QA_EXPECTED))
def test_scenario(name: str, scenarios: dict[str, Measurement]) -> None:
    verdict = scenarios[name].verdict
    assert verdict.method == QA_EXPECTED[name], verdict.reason


def test_blocking_scenarios_reach_the_target_share(scenarios: dict[str, Measurement]) -> None:
    blocking = [n for n, m in QA_EXPECTED.items() if m in BLOCKING]
    right = [n for n in blocking if scenarios[n].verdict.method == QA_EXPECTED[n]]
    assert len(blocking) == 29
    assert len(right) / len(blocking) >= 0.95


def test_no_false_blocking_on_accessible_scenarios(scenarios: dict[str, Measurement]) -> None:
    def ooni_accessible(name: str) -> bool:
        return json.loads((QA / f"{name}.json").read_text())["test_keys"]["accessible"] is True

    accessible = [n for n in QA_EXPECTED if n.startswith("success") or ooni_accessible(n)]
    assert len(accessible) >= 10
    assert [n for n in accessible if scenarios[n].verdict.blocked] == []


def test_website_down_scenarios_are_down(scenarios: dict[str, Measurement]) -> None:
    down = [n for n in QA_EXPECTED if n.startswith("websiteDown")]
    assert len(down) == 3
    assert {scenarios[n].verdict.method for n in down} == {"down"}


def test_the_stored_observations_give_the_same_verdict(scenarios: dict[str, Measurement]) -> None:
    """A measurement keeps the observations that decided it, so it can be classified again."""
    for name, measurement in scenarios.items():
        again = classify(measurement.observations, measurement.control)
        assert again.method == measurement.verdict.method, name


def test_measurements_are_described(scenarios: dict[str, Measurement]) -> None:
    m = scenarios["tlsBlockingConnectionResetWithConsistentDNS"]
    assert m.vantage.name == "ooni-IT-AS137" and m.vantage.network == "AS137"
    assert (m.target, m.platform, m.source) == ("www.example.com", "other", "ooni:")
    assert m.started_at.isoformat() == "2024-02-12T20:33:47+00:00"
    assert "reset" in m.verdict.reason and "93.184.216.34" in m.verdict.reason
    assert len({m.id for m in scenarios.values()}) == len(scenarios)


def test_agreement_with_ooni(scenarios: dict[str, Measurement]) -> None:
    comparisons = [
        compare(m, json.loads((QA / f"{n}.json").read_text())) for n, m in scenarios.items()
    ]
    summary = summarize(comparisons)
    assert summary.measurements == 50
    # We part from OONI where its verdict is unknown (no control) or where a transparent
    # proxy's valid TLS makes the DNS answer consistent by our rule.
    differing = {c.input for c in comparisons if not c.agrees}
    assert len(differing) <= 2, differing
    assert summary.agreement is not None and summary.agreement >= 0.95


# --- real measurements -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_real_measurement(name: str) -> None:
    measurement, _ = load(need(REAL) / f"{name}.json")
    assert measurement.verdict.method == REAL_EXPECTED[name], measurement.verdict.reason


def test_real_measurements_are_described() -> None:
    facebook, raw = load(need(REAL) / "web_connectivity_ir_fp.json")
    assert (facebook.platform, facebook.vantage.name) == ("facebook", "ooni-IR-AS197207")
    assert facebook.id.startswith("ooni:20220815T190043Z_webconnectivity_IR_197207")
    assert facebook.source == f"ooni:{raw['report_id']}"
    assert "10.10.34.36" in facebook.verdict.reason
    assert compare(facebook, raw).agrees
    youtube, _ = load(REAL / "youtube_measurement.json")
    assert youtube.platform == "youtube" and len(youtube.observations.tls) >= 20


def test_without_fingerprints_the_indonesian_redirect_is_a_diff() -> None:
    path = need(REAL) / "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json"
    (measurement,) = read_ooni(path, fingerprints=Fingerprints())
    assert isinstance(measurement, Measurement)
    assert measurement.verdict.method == "http.diff"


def test_ooni_fingerprints_are_loaded_at_run_time() -> None:
    fingerprints = load_ooni_fingerprints(need(REAL))
    assert len(fingerprints.http) > 1000 and len(fingerprints.dns) > 100
    pk = [f for f in fingerprints.http if "PK" in f.countries]
    assert pk
    path = REAL / "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json"
    (measurement,) = read_ooni(path, fingerprints=fingerprints)
    assert isinstance(measurement, Measurement)
    assert measurement.verdict.method == "http.blockpage"


def test_a_bad_fingerprint_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "fingerprints_http.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(FingerprintError, match="not OONI's fingerprint format"):
        load_ooni_fingerprints(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FingerprintError, match="no fingerprints"):
        load_ooni_fingerprints(empty)


# --- formats and bad input -------------------------------------------------------------------


def qa_text(name: str) -> str:
    return json.dumps(json.loads((need(QA) / f"{name}.json").read_text()))


def test_jsonl_with_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [qa_text("successWithHTTPS"), "{not json", "", qa_text("dnsBlockingNXDOMAIN")]
    path.write_text("\n".join(lines) + "\n")
    items = list(read_ooni(path))
    assert [type(i).__name__ for i in items] == ["Measurement", "Problem", "Measurement"]
    problem = items[1]
    assert isinstance(problem, Problem) and problem.line == 2
    assert str(problem).startswith(f"{path}:2: not valid JSON")


def test_gzip_and_api_wrappers(tmp_path: Path) -> None:
    one = json.loads(qa_text("tcpBlockingConnectTimeout"))
    packed = tmp_path / "m.jsonl.gz"
    packed.write_bytes(gzip.compress((json.dumps(one) + "\n").encode()))
    listing = tmp_path / "results.json"
    listing.write_text(json.dumps({"metadata": {}, "results": [one, one]}))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"measurement_uid": "x", "raw_measurement": json.dumps(one)}))
    for path, count in ((packed, 1), (listing, 2), (meta, 1)):
        items = list(read_ooni(path))
        assert len(items) == count
        assert all(isinstance(i, Measurement) and i.verdict.method == "tcp.timeout" for i in items)


def test_measurements_that_cannot_be_imported_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    other = {"test_name": "telegram", "test_keys": {}}
    listing_only = {"measurement_uid": "u1", "input": "https://x.com/"}
    broken = {"test_name": "web_connectivity", "input": "https://x.com/", "test_keys": 3}
    path.write_text("\n".join(json.dumps(x) for x in (other, listing_only, broken, [1])))
    problems = list(read_ooni(path))
    assert all(isinstance(p, Problem) for p in problems)
    reasons = [str(p) for p in problems]
    assert "telegram" in reasons[0] and ":1:" in reasons[0]
    assert "raw_measurement" in reasons[1]
    assert "without test_keys" in reasons[2]
    assert "expected a JSON object" in reasons[3] and ":4:" in reasons[3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b,c\n1,2,3\n", "does not look like OONI"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "not a text"),
        (b"[project]\nname = 'x'\n", ":1: not valid JSON"),
    ],
)
def test_a_file_of_another_format_is_one_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(OoniFormatError, match=message):
        list(read_ooni(path))


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OoniFormatError, match="cannot be read"):
        list(read_ooni(tmp_path / "nope.json"))


@pytest.mark.parametrize(
    ("host", "platform"),
    [
        ("www.facebook.com", "facebook"),
        ("static.xx.fbcdn.net", "facebook"),
        ("x.com", "x"),
        ("abs.twimg.com", "x"),
        ("www.instagram.com", "instagram"),
        ("rr3---sn-q4flrnek.googlevideo.com", "youtube"),
        ("notfacebook.com", "other"),
        ("example.org", "other"),
    ],
)
def test_platform_of(host: str, platform: str) -> None:
    assert platform_of(host) == platform


def test_an_untagged_measurement_converts() -> None:
    raw = json.loads((need(REAL) / "bug_352.json").read_text())
    assert to_measurement(raw).verdict.method == "dns.bogon"


def test_the_compare_command(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from jalsa.cli.watch_ooni import import_ooni

    app = typer.Typer()
    app.command()(import_ooni)
    app.command("other")(lambda: None)
    files = [str(need(QA) / "dnsBlockingBOGON.json"), str(need(REAL) / "requests_none.json")]
    result = CliRunner().invoke(app, ["import-ooni", "--differing", *files])
    assert result.exit_code == 0, result.output
    assert "wikispaces" in result.output and "www.example.com" not in result.output
    assert "2 measurements, 0 skipped; same category as OONI: 1 (50%)" in result.output
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n")
    result = CliRunner().invoke(app, ["import-ooni", str(bad)])
    assert "does not look like OONI" in str(result.exception)
