"""`jalsa watch` through the CLI runner: a probe of a real loopback site (with the server's
control), the server's own prober, the incidents table, OONI import, and a refused token as
one clear message."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from webkit import make_team, web_settings

from jalsa.config import load_settings
from jalsa.store import Store
from jalsa.store.models import WatchMeasurement
from jalsa.watch.probe import ProbeConfig
from jalsa.watch.record import DEFAULT_TARGETS, Measurement, Observations, Vantage, Verdict
from jalsa.watch.service import WatchService
from jalsa.web.app import create_app
from jalsa.web.services import app_services
from watch.ooni_scenarios import qa_scenarios
from watch.servers import AppServer, probe_settings, targets_toml, tls_site

T0 = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)  # 19:00 in Karachi

Cli = Callable[..., Any]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """The loopback HTTPS site: (port, CA, a targets file for it)."""
    with tls_site(tmp_path / "tls") as (port, ca):
        targets = tmp_path / "targets.toml"
        targets.write_text(targets_toml(port, ca))
        yield port, ca, targets


@pytest.fixture
def server(tmp_path: Path, site: tuple[int, Path, Path]) -> Iterator[tuple[str, str]]:
    """A jalsa server on loopback whose control helper may probe loopback: (URL, token)."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    store = Store(url)
    token = make_team(store)["volunteer"].token
    app = create_app(store, web_settings(tmp_path / "srv", url, watch_control_private=True))
    app_services(app).watch.probe_config = ProbeConfig.model_validate(probe_settings(site[1]))
    running = AppServer()
    running.start(app)
    try:
        yield running.url, token
    finally:
        running.stop()
        store.dispose()


def test_probe_shows_every_step_and_the_verdict(
    cli: Cli, site: tuple[int, Path, Path], server: tuple[str, str]
) -> None:
    port, _, targets = site
    url, token = server
    result = cli(
        "watch", "probe", f"localhost:{port}", "--targets", str(targets),
        "--control-from", url, "--token", token,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for words in ("DNS (system)", "127.0.0.1", "TCP", "TLS", "certificate valid", "HTTP"):
        assert words in result.output
    assert "verdict:" in result.output and "(control: measured)" in result.output


def test_an_agent_with_a_refused_token_says_so_once(
    cli: Cli, site: tuple[int, Path, Path], server: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = server
    result = cli(
        "watch", "agent", "--server", url, "--token", "jls_not-a-token", "--name", "lahore-1",
        "--city", "Lahore", "--network", "PTCL", "--every", "1", "--targets", str(site[2]),
        "--data-dir", str(tmp_path / "agent"), "--rounds", "1",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "refused the token" in result.output and "Traceback" not in result.output
    bad = cli("watch", "agent", "--server", "ftp://x", "--token", "t", "--name", "n",
              "--city", "c", "--network", "n")  # fmt: skip
    assert bad.exit_code == 2 and "http:// or https://" in bad.output


def test_run_probes_from_the_server_into_the_store(
    cli: Cli, site: tuple[int, Path, Path], database_url: str
) -> None:
    result = cli(
        "watch", "run", "--name", "jalsa-host", "--every", "1", "--targets", str(site[2]),
        "--rounds", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("2 targets:") == 2
    store = Store(database_url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(WatchMeasurement))
    store.dispose()
    assert count == 4


def _rally(database_url: str, tmp_path: Path) -> None:
    """Stored incidents: X blocked in Lahore from 19:10 Karachi time."""
    store = Store(database_url)
    service = WatchService(store, load_settings(data_dir=tmp_path / "data"))
    hosts = [t.host for t in DEFAULT_TARGETS if t.platform == "x"]
    for minute in range(16):
        at = T0 + timedelta(minutes=minute)
        method = "tls.sni_filter" if minute >= 10 else "ok"
        service.store_batch(
            [
                Measurement(
                    id=uuid.uuid4().hex,
                    target=h,
                    platform="x",
                    vantage=Vantage(name="lahore-1", city="Lahore", network="PTCL"),
                    round_at=at,
                    started_at=at,
                    finished_at=at,
                    observations=Observations(),
                    verdict=Verdict(method=method, reason="test"),
                )
                for h in hosts
            ]
        )
    store.dispose()


def test_incidents_table(cli: Cli, database_url: str, tmp_path: Path) -> None:
    assert "no incidents" in cli("watch", "incidents").output
    _rally(database_url, tmp_path)
    result = cli("watch", "incidents")
    assert result.exit_code == 0, result.output
    for words in ("2023-12-17 19:1", "open", "x", "Lahore", "PTCL", "tls.sni_filter", "%"):
        assert words in result.output
    cli("event", "create", "Rally", "--starts", "2023-12-17 18:00", "--duration", "30m",
        "--slug", "before")  # fmt: skip
    assert "no incidents during before" in cli("watch", "incidents", "--event", "before").output
    missing = cli("watch", "incidents", "--event", "nope")
    assert missing.exit_code == 3


def test_import_ooni_stores_once(cli: Cli, tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "ooni.jsonl"
    measurements = sorted(qa_scenarios().items())[:6]  # OONI QA scenarios, written by the tests
    path.write_text("".join(json.dumps(raw) + "\n" for _, raw in measurements))
    first = cli("watch", "import-ooni", str(path))
    assert first.exit_code == 0, first.output
    assert "6 measurements read: 6 stored" in first.output
    store = Store(database_url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(WatchMeasurement))
    store.dispose()
    assert count == 6
    again = cli("watch", "import-ooni", str(path))
    assert "0 stored, 6 already stored" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n")
    refused = cli("watch", "import-ooni", str(bad))
    assert refused.exit_code == 2 and "does not look like OONI" in refused.output


def test_import_ooni_skips_bad_files_and_stores_the_rest(
    cli: Cli, tmp_path: Path, database_url: str
) -> None:
    """One bad file does not abort the batch: each is reported, the rest stored, exit 2."""
    good = tmp_path / "good.jsonl"
    measurements = sorted(qa_scenarios().items())[:3]
    good.write_text("".join(json.dumps(raw) + "\n" for _, raw in measurements))
    jsonc = tmp_path / "notes.jsonc"
    jsonc.write_text("// exported by hand\n" + json.dumps(measurements[0][1]))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"name": "a list of something else", "items": [1, 2]}))
    uid = "20240220094112.553201_PK_webconnectivity_3f0c9a1e27d4b865"
    listing = tmp_path / "listing.json"
    row = {
        "anomaly": True,
        "confirmed": False,
        "failure": False,
        "input": "https://x.com/",
        "measurement_start_time": "2024-02-20T09:41:12Z",
        "measurement_uid": uid,
        "measurement_url": f"https://api.ooni.io/api/v1/measurement/{uid}",
        "probe_asn": "AS23674",
        "probe_cc": "PK",
        "report_id": "20240220T094102Z_webconnectivity_PK_23674_n1_a8Rk3JvPq0TnWcYe",
        "scores": {"blocking_general": 1.0},
        "test_name": "web_connectivity",
    }
    listing.write_text(json.dumps({"metadata": {"count": 1}, "results": [row]}))
    result = cli("watch", "import-ooni", str(jsonc), str(good), str(other), str(listing))
    assert result.exit_code == 2, result.output
    assert "3 measurements read: 3 stored" in result.output
    assert "JSON with comments" in result.output and "notes.jsonc" in result.output
    assert "other.json: no measurement read" in result.output
    assert "not an OONI measurement: no test_name" in result.output
    assert "an OONI API listing of 1 measurement(s)" in result.output
    assert f"raw_measurement?measurement_uid={uid}" in result.output
    assert "without test_keys or input" not in result.output
    assert "3 of 4 file(s) gave no measurement" in result.output
    store = Store(database_url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(WatchMeasurement))
    store.dispose()
    assert count == 3
    nothing = cli("watch", "import-ooni", str(other))
    assert nothing.exit_code == 2 and "not an OONI measurement" in nothing.output
