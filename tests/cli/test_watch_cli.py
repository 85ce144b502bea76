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
    app.state.watch.probe_config = ProbeConfig.model_validate(probe_settings(site[1]))
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
