"""OONI import: OONI's web_connectivity QA scenarios and measurements shaped like the ones OONI
publishes, read, converted and classified by our rules, and bad input reported without a
traceback.

The measurements are written by the tests themselves in OONI's format (ooni_samples.py,
ooni_scenarios.py): OONI's own data is CC BY-NC-SA and stays out of the repository. The
benchmark `benchmarks/ooni_classification.py --data DIR` runs the same rules on OONI's data."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
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
from watch.ooni_samples import Raw
from watch.ooni_scenarios import QA, field_sample, qa_scenario, qa_scenarios, write

# Measurements shaped like published ones, and our verdict. Where OONI's differs, why.
FIELD_EXPECTED = {
    "ir_facebook_bogon": "dns.bogon",  # IR, facebook -> 10.10.34.36 (the block page address)
    "pk_nayatel_dns": "dns.injection",  # PK, x.com -> Nayatel's SafeWeb address (fingerprint)
    "mk_http_failure": "http.failure",  # an old probe: only http_experiment_failure recorded
    # OONI's old probe said dns; the helper found no address either (a CNAME only) and its
    # request failed with dns_lookup_error: the site is gone, not blocked.
    "down_cname_only": "down",
    "pk_redirect_blockpage": "http.blockpage",  # PK, a redirect to Mobilink's notice
    "youtube_ok": "ok",  # 0.5, six addresses (two IPv6), all fine
    # http://dns.google: port 80 times out from the control too (OONI: unknown). It was "ok":
    # the 443 connects passed TCP and no request counted as no HTTP failure.
    "dns_google_port80": "down",
    "port80_blocked": "tcp.timeout",  # the same, but the control connected to port 80
    # ooni/probe#2517: OONI said dns; the control's own TLS failed on all 37 endpoints.
    "pk_mask_icloud": "down",
    "chain_04_failed": "http.failure",  # a 0.4 chain: the last request is the final answer
    "no_ipv6_youtube": "ok",  # the IPv6 connects fail: the network has no IPv6 route
    "ipv6_only_host": "unknown",  # only IPv6 addresses, no IPv6 route: nothing was tested
}
# Where OONI's verdict differs from ours, and why (the rest agree).
FIELD_DIFFERING = {"down_cname_only", "dns_google_port80", "pk_mask_icloud"}
# Scenarios that follow redirects: a 0.4 probe records no per-hop steps, so they are 0.5 only.
MULTI_HOP = {n for n in QA if n.startswith(("redirectWithConsistent", "redirectWithMore"))}


def load(path: Path) -> Measurement:
    items = list(import_and_compare([path]))
    assert len(items) == 1 and not isinstance(items[0], Problem), items
    return items[0][0]


@pytest.fixture(scope="module")
def qa_raw() -> dict[str, Raw]:
    return qa_scenarios()


@pytest.fixture(scope="module")
def qa_folder(tmp_path_factory: pytest.TempPathFactory, qa_raw: dict[str, Raw]) -> Path:
    folder = tmp_path_factory.mktemp("wc05_qa")
    for name, raw in qa_raw.items():
        write(folder, name, raw)
    return folder


@pytest.fixture(scope="module")
def scenarios(qa_folder: Path) -> dict[str, Measurement]:
    return {p.stem: load(p) for p in sorted(qa_folder.glob("*.json"))}


# --- the QA scenarios ------------------------------------------------------------------------


def test_every_scenario_with_an_expected_method_is_written(qa_folder: Path) -> None:
    assert {p.stem for p in qa_folder.glob("*.json")} == set(QA_EXPECTED)


@pytest.mark.parametrize("name", sorted(QA_EXPECTED))
def test_scenario(name: str, scenarios: dict[str, Measurement]) -> None:
    verdict = scenarios[name].verdict
    assert verdict.method == QA_EXPECTED[name], verdict.reason


@pytest.mark.parametrize("name", sorted(set(QA_EXPECTED) - MULTI_HOP))
def test_scenario_written_by_a_0_4_probe(name: str) -> None:
    raw = qa_scenario(name, "0.4.3")
    assert raw["test_version"] == "0.4.3" and "x_blocking_flags" not in raw["test_keys"]
    assert {q["engine"] for q in raw["test_keys"]["queries"]} <= {"system"}
    verdict = to_measurement(raw).verdict
    assert verdict.method == QA_EXPECTED[name], verdict.reason


def test_the_measurements_are_in_ooni_0_5_format(qa_raw: dict[str, Raw]) -> None:
    """What the import relies on, as ts-017 and df-00x define it (so the samples cannot drift
    into a shape no probe writes)."""
    for name, raw in qa_raw.items():
        keys = raw["test_keys"]
        assert raw["test_name"] == "web_connectivity" and raw["test_version"].startswith("0.5")
        for key in ("x_dns_flags", "x_blocking_flags", "blocking", "accessible", "control"):
            assert key in keys, (name, key)
        engines = {q["engine"] for q in keys["queries"]}
        assert engines == {"getaddrinfo", "udp", "doh"}, name
        entries = keys["queries"] + keys["tcp_connect"] + keys["tls_handshakes"] + keys["requests"]
        assert all(any(t.startswith("depth=") for t in e["tags"]) for e in entries), name
        by_id = {t["transaction_id"]: f"{t['ip']}:{t['port']}" for t in keys["tcp_connect"]}
        for r in keys["requests"]:  # a request goes over a connection the probe made
            assert by_id[r["transaction_id"]] == r["address"], name
        depths = [int(t[6:]) for r in keys["requests"] for t in r["tags"] if t[:6] == "depth="]
        assert depths == sorted(depths, reverse=True), name  # newest first
        control = keys["control"]
        if control is not None:
            assert set(control) >= {"dns", "tcp_connect", "http_request"}, name
        else:
            assert keys["control_failure"], name


def test_blocking_scenarios_reach_the_target_share(scenarios: dict[str, Measurement]) -> None:
    blocking = [n for n, m in QA_EXPECTED.items() if m in BLOCKING]
    right = [n for n in blocking if scenarios[n].verdict.method == QA_EXPECTED[n]]
    assert len(blocking) == 29
    assert len(right) / len(blocking) >= 0.95


def test_no_false_blocking_on_accessible_scenarios(
    scenarios: dict[str, Measurement], qa_raw: dict[str, Raw]
) -> None:
    def ooni_accessible(name: str) -> bool:
        return qa_raw[name]["test_keys"]["accessible"] is True

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
    hop = scenarios["redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS"].verdict.reason
    assert hop.startswith("after 1 redirect(s), at www.example.com:"), hop


def test_agreement_with_ooni(scenarios: dict[str, Measurement], qa_raw: dict[str, Raw]) -> None:
    comparisons = [compare(m, qa_raw[n]) for n, m in scenarios.items()]
    summary = summarize(comparisons)
    assert summary.measurements == 50
    # The one scenario we used to part on (a plain-HTTP page with no control) is now
    # `unknown`, as OONI says.
    assert [c.input for c in comparisons if not c.agrees] == []
    assert summary.agreement == 1.0


# --- measurements shaped like published ones --------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIELD_EXPECTED))
def test_field_measurement(name: str, tmp_path: Path) -> None:
    raw = field_sample(name)
    measurement = load(write(tmp_path, name, raw))
    assert measurement.verdict.method == FIELD_EXPECTED[name], measurement.verdict.reason
    assert compare(measurement, raw).agrees == (name not in FIELD_DIFFERING)


def test_port80_is_judged_per_endpoint() -> None:
    """http://dns.google: the 443 connects do not make the port-80 timeouts a success."""
    down = to_measurement(field_sample("dns_google_port80")).verdict
    assert "8.8.8.8:80" in down.reason and "control could not connect either" in down.reason
    blocked = to_measurement(field_sample("port80_blocked")).verdict
    assert blocked.control == "measured" and "control connected" in blocked.reason


def test_dns_injection_needs_a_control_that_reached_the_site() -> None:
    raw = field_sample("pk_mask_icloud")
    verdict = to_measurement(raw).verdict
    assert "control's own handshakes and request failed" in verdict.reason
    # Had the control completed its handshakes, the same answers would be an injection.
    for status in raw["test_keys"]["control"]["tls_handshake"].values():
        status |= {"status": True, "failure": None}
    assert to_measurement(raw).verdict.method == "dns.injection"


def test_a_body_that_is_not_base64_is_unknown_not_empty() -> None:
    raw = qa_scenario("httpDiffWithConsistentDNS")
    response = raw["test_keys"]["requests"][0]["response"]
    response["body"] = {"format": "base64", "data": "PGh0bWw+!!not base64"}
    verdict = to_measurement(raw).verdict
    assert verdict.method == "unknown" and "not valid base64" in verdict.reason
    assert "0 bytes" not in verdict.reason
    raw["test_keys"]["body_length_match"] = True  # the probe's own comparison, when made
    assert to_measurement(raw).verdict.method == "ok"
    response["body"] = {"format": "base64", "data": base64.b64encode(b"x" * 10).decode()}
    assert to_measurement(raw).verdict.method == "http.diff"  # readable: 10 bytes vs ~1.5 KB


def test_a_listing_row_says_what_it_is() -> None:
    row = {
        "measurement_uid": "20240220094112.553201_PK_webconnectivity_3f0c9a1e27d4b865",
        "input": "https://x.com/",
        "anomaly": True,
        "confirmed": False,
        "test_name": "web_connectivity",
        "measurement_url": "https://api.ooni.io/api/v1/measurement/x",
    }
    with pytest.raises(ValueError, match="a row of an OONI API listing") as raised:
        to_measurement(row)
    assert "raw_measurement?measurement_uid=20240220094112.553201_PK" in str(raised.value)


def test_field_measurements_are_described(tmp_path: Path) -> None:
    raw = field_sample("ir_facebook_bogon")
    facebook = load(write(tmp_path, "ir", raw))
    assert (facebook.platform, facebook.vantage.name) == ("facebook", "ooni-IR-AS44244")
    assert facebook.id.startswith(f"ooni:{raw['report_id']}:")  # no measurement_uid
    assert facebook.source == f"ooni:{raw['report_id']}"
    assert "10.10.34.36" in facebook.verdict.reason and compare(facebook, raw).agrees
    assert facebook.finished_at > facebook.started_at
    nayatel_raw = field_sample("pk_nayatel_dns")
    nayatel = to_measurement(nayatel_raw)
    assert nayatel.id == f"ooni:{nayatel_raw['measurement_uid']}" and nayatel.platform == "x"
    assert "jalsa.pk_nayatel_safeweb" in nayatel.verdict.reason
    youtube = to_measurement(field_sample("youtube_ok"))
    assert youtube.platform == "youtube" and len(youtube.observations.tls) == 6
    assert {t.ip for t in youtube.observations.tls} >= {"2a00:1450:4019:80b::200e"}
    assert not compare(
        to_measurement(field_sample("down_cname_only")), field_sample("down_cname_only")
    ).agrees


def test_without_fingerprints_the_redirect_to_a_notice_is_a_diff(tmp_path: Path) -> None:
    path = write(tmp_path, "pk", field_sample("pk_redirect_blockpage"))
    (measurement,) = read_ooni(path, fingerprints=Fingerprints())
    assert isinstance(measurement, Measurement)
    assert measurement.verdict.method == "http.diff"
    assert "Access Restricted" in measurement.verdict.reason


def _ooni_fingerprint(name: str, where: str, pattern: str, kind: str, cc: str) -> dict[str, Any]:
    """One entry of OONI's fingerprint database (github.com/ooni/blocking-fingerprints)."""
    return {
        "confidence_no_fp": 5,
        "expected_countries": cc,
        "location_found": where,
        "name": name,
        "other_names": "",
        "pattern": pattern,
        "pattern_type": kind,
        "scope": "isp",
    }


def test_ooni_fingerprints_are_loaded_at_run_time(tmp_path: Path) -> None:
    folder = tmp_path / "fingerprints"
    folder.mkdir()
    http = [
        _ooni_fingerprint("ooni.zz_0", "body", "Blocked by order of", "contains", "ZZ"),
        _ooni_fingerprint(
            "ooni.pk_9", "header.location", "http://119.73.65.87:8080/", "prefix", "PK"
        ),
        _ooni_fingerprint("ooni.zz_1", "header.server", r"^Censor[A-Z]+/\d", "regexp", "ZZ,YY"),
    ]
    dns = [_ooni_fingerprint("ooni.pk_8", "dns", "203.82.48.86", "full", "PK")]
    (folder / "fingerprints_http.json").write_text(json.dumps(http))
    (folder / "fingerprints_dns.json").write_text(json.dumps(dns))
    fingerprints = load_ooni_fingerprints(folder)
    assert (len(fingerprints.http), len(fingerprints.dns)) == (3, 1)
    assert [f.name for f in fingerprints.http if "PK" in f.countries] == ["ooni.pk_9"]
    assert fingerprints.match_http(None, {"Server": "CensorBOX/2"}) is not None
    path = write(tmp_path, "pk", field_sample("pk_redirect_blockpage"))
    (measurement,) = read_ooni(path, fingerprints=fingerprints)
    assert isinstance(measurement, Measurement)
    assert (
        measurement.verdict.method == "http.blockpage" and "ooni.pk_9" in measurement.verdict.reason
    )
    nayatel = to_measurement(field_sample("pk_nayatel_dns"), fingerprints)
    assert nayatel.verdict.method == "dns.injection" and "ooni.pk_8" in nayatel.verdict.reason


def test_a_bad_fingerprint_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "fingerprints_http.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(FingerprintError, match="not OONI's fingerprint format"):
        load_ooni_fingerprints(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FingerprintError, match="no fingerprints"):
        load_ooni_fingerprints(empty)


def test_a_block_page_in_a_base64_body_is_recognised() -> None:
    """OONI stores a body that is not UTF-8 as {"format": "base64", "data": ...}."""
    raw = qa_scenario("httpDiffWithConsistentDNS")
    notice = "<html><title>PTA</title><p>Surfing this website is restricted</p></html>"
    body = notice.encode("utf-16")  # not UTF-8: OONI would encode it so
    response = raw["test_keys"]["requests"][0]["response"]
    response["body"] = {"format": "base64", "data": base64.b64encode(body).decode()}
    assert to_measurement(raw).verdict.method == "http.diff"  # unreadable: a different page
    response["body"]["data"] = base64.b64encode(notice.encode()).decode()
    verdict = to_measurement(raw).verdict
    assert verdict.method == "http.blockpage" and "pk_pta_surfing" in verdict.reason


# --- odd and hostile measurements ------------------------------------------------------------


def test_a_measurement_without_a_control_keeps_its_method() -> None:
    raw = qa_scenario("tcpBlockingConnectTimeout")
    raw["test_keys"] |= {"control": None, "control_failure": "generic_timeout_error"}
    raw["test_keys"] |= {"blocking": None, "accessible": None}
    measurement = to_measurement(raw)
    assert measurement.verdict.method == "tcp.timeout" and measurement.verdict.control == "none"
    assert measurement.verdict.reason.endswith("no control was reached")
    assert compare(measurement, raw).ooni == "unknown"


def test_a_measurement_with_every_list_null() -> None:
    raw = qa_scenario("successWithHTTP")
    for key in ("queries", "tcp_connect", "tls_handshakes", "requests", "control"):
        raw["test_keys"][key] = None
    verdict = to_measurement(raw).verdict
    # Nothing observed and no control: a step that did not run is not a success.
    assert (verdict.method, verdict.control) == ("unknown", "none")
    assert "nothing was observed" in verdict.reason


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda k: k["queries"][0]["answers"].__setitem__(0, None), "not in the expected shape"),
        (lambda k: k["tcp_connect"][0].pop("ip"), "not in the expected shape"),
        (lambda k: k["tls_handshakes"][0].__setitem__("address", "nowhere"), "expected shape"),
        (lambda k: k["queries"][0].__setitem__("tags", ["depth=x"]), "expected shape"),
    ],
)
def test_a_damaged_measurement_is_a_problem(damage: Any, message: str, tmp_path: Path) -> None:
    raw = qa_scenario("successWithHTTPS")
    damage(raw["test_keys"])
    path = write(tmp_path, "damaged", raw)
    (problem,) = read_ooni(path)
    assert isinstance(problem, Problem) and message in problem.reason


def test_a_measurement_without_a_time_is_a_problem(tmp_path: Path) -> None:
    raw = qa_scenario("successWithHTTPS") | {"measurement_start_time": None}
    (problem,) = read_ooni(write(tmp_path, "untimed", raw))
    assert isinstance(problem, Problem) and "is not a time" in str(problem)


# --- formats and bad input -------------------------------------------------------------------


def qa_text(name: str) -> str:
    return json.dumps(qa_scenario(name))


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
    one = qa_scenario("tcpBlockingConnectTimeout")
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
        (b"\x1f\x8b\x08\x00broken", "truncated gzip"),
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
    raw = field_sample("ir_facebook_bogon")  # 0.4: no depth tags, no transaction ids
    assert "tags" not in raw["test_keys"]["tcp_connect"][0]
    assert to_measurement(raw).verdict.method == "dns.bogon"


def test_the_compare_command(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from jalsa.cli.watch_ooni import import_ooni

    app = typer.Typer()
    app.command()(import_ooni)
    app.command("other")(lambda: None)
    files = [
        str(write(tmp_path, "dnsBlockingBOGON", qa_scenario("dnsBlockingBOGON"))),
        str(write(tmp_path, "down_cname_only", field_sample("down_cname_only"))),
    ]
    result = CliRunner().invoke(app, ["import-ooni", "--differing", *files])
    assert result.exit_code == 0, result.output
    assert "geocities" in result.output and "www.example.com" not in result.output
    assert "2 measurements, 0 skipped; same category as OONI: 1 (50%)" in result.output
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n")
    result = CliRunner().invoke(app, ["import-ooni", str(bad)])
    assert "does not look like OONI" in str(result.exception)


# --- the benchmark on OONI's data, run here on ours -------------------------------------------


def _benchmark() -> Any:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "ooni_classification.py"
    spec = importlib.util.spec_from_file_location("ooni_classification", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_runs_on_a_data_folder(
    tmp_path: Path, qa_raw: dict[str, Raw], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--data DIR` in the layout the README describes; here filled with our own samples."""
    benchmark = _benchmark()
    for name, raw in qa_raw.items():
        write(tmp_path / "ooni_wc05_synthetic", name, raw)
    for name in FIELD_EXPECTED:
        write(tmp_path / "ooni_measurements", name, field_sample(name))
    (tmp_path / "ooni_measurements" / "fingerprints_dns.json").write_text("[]")
    out = tmp_path / "out.json"
    monkeypatch.setattr("sys.argv", ["x", "--data", str(tmp_path), "--json", str(out)])
    benchmark.main()
    result = json.loads(out.read_text())
    total = len(QA) + len(FIELD_EXPECTED)
    assert (result["measurements"], result["qa_scenarios"], result["problems"]) == (total, 50, [])
    assert result["qa_expected_share"] == 1.0 and result["accessible_false_blocking"] == 0
    agreeing = total - len(FIELD_DIFFERING)
    assert result["agreement_with_ooni_share"] == round(agreeing / total, 4)


def test_the_benchmark_says_what_the_data_folder_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    benchmark = _benchmark()
    (tmp_path / "ooni_measurements").mkdir()
    monkeypatch.setattr("sys.argv", ["x", "--data", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        benchmark.main()
    assert f"{tmp_path} lacks ooni_wc05_synthetic/" in str(exited.value.code)
    assert "ooni_measurements" not in str(exited.value.code).split("lacks")[1]
    monkeypatch.setattr("sys.argv", ["x", "--data", str(tmp_path / "nope")])
    with pytest.raises(SystemExit, match="is not a folder"):
        benchmark.main()
    monkeypatch.setattr("sys.argv", ["x"])
    with pytest.raises(SystemExit) as exited:
        benchmark.main()
    assert exited.value.code == 2  # argparse: --data is required
