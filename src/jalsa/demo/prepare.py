"""The demo's set-up: the simulator and the SMSC simulator started on one compressed clock, a
fresh embedded store with the scenario's event, its streams, an admin account and the SMS
reminder, and the tracker.

The demo keeps its own SQLite file (replaced on every run) so it never mixes with real events.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jalsa.config import Settings, load_settings
from jalsa.conversation.dataset import PostDataset
from jalsa.demo.sms import prepare_campaign, start_smsc
from jalsa.errors import UserError
from jalsa.live.tracker import Tracker
from jalsa.sim.runner import SimServer, make_clock
from jalsa.sim.scenario import Scenario
from jalsa.sim.smsc import Smsc
from jalsa.store import Store
from jalsa.store.repo import add_stream, create_event
from jalsa.team import create_user

DEMO_CREDENTIALS = {
    "youtube_api_key": "demo-key",
    "facebook_access_token": "demo-token",
    "instagram_access_token": "demo-token",
    "x_bearer_token": "demo-token",
}
TAIL_MINUTES = 10  # keep tracking a little after the rally ends
DEFAULT_MINUTES = 4.0


@dataclass
class Demo:
    scenario: Scenario
    settings: Settings
    store: Store
    tracker: Tracker
    sim: SimServer
    database: Path
    until: datetime
    speed: float
    password: str  # of the demo's admin account "demo"
    smsc: Smsc
    sms_campaign: str  # the reminder's slug

    def stop(self) -> None:
        self.sim.stop()
        self.smsc.stop()


def total_minutes(scenario: Scenario) -> float:
    """Simulated minutes the demo covers: lead-in, the rally and a short tail."""
    return scenario.lead_in_minutes + scenario.duration_minutes + TAIL_MINUTES


def prepare(scenario: Scenario, base: Settings, minutes: float) -> Demo:
    """Start the simulator and set up a fresh demo store with the scenario's event."""
    if minutes <= 0:
        raise UserError("--minutes must be more than zero")
    speed = total_minutes(scenario) / minutes
    clock = make_clock(scenario, speed)
    folder = base.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "jalsa-demo.db"
    for leftover in folder.glob("jalsa-demo.db*"):
        leftover.unlink()
    shutil.rmtree(PostDataset.of_event(base, "demo").root, ignore_errors=True)
    sim = SimServer(scenario, clock, hang_seconds=5.0)
    sim.start()
    smsc, sms_settings = start_smsc()
    overrides: dict[str, Any] = {
        **sim.base_urls,
        **sms_settings,
        **DEMO_CREDENTIALS,
        "data_dir": base.data_dir,
        "database_url": f"sqlite:///{database}",
        "timezone": scenario.timezone,
        # A hung connection must not freeze a stream for minutes of compressed rally time.
        "http_timeout": min(base.http_timeout, 2.0),
        # Minutes close every fraction of a real second: look for spikes every 30 real seconds
        # (each look reads the last twenty rally minutes of posts), not every 5.
        "trend_alert_seconds": max(base.trend_alert_seconds, 30.0),
    }
    settings = load_settings(**overrides)
    store = Store(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    hashtags = [s.query for s in scenario.streams if s.platform == "x_counts" and s.query]
    with store.session() as session:
        event = create_event(
            session,
            name=scenario.name,
            starts_at=scenario.start_utc,
            duration=timedelta(minutes=scenario.duration_minutes),
            timezone=scenario.timezone,
            hashtags=hashtags,
            slug="demo",
        )
        for stream in scenario.streams:
            add_stream(
                session, event, kind=stream.platform, external_id=stream.id, label=stream.label
            )
        password = secrets.token_urlsafe(9)
        create_user(
            session,
            username="demo",
            password=password,
            role="admin",
            display_name="Demo coordinator",
        )
    sms_campaign = prepare_campaign(store, folder, scenario.seed)
    tracker = Tracker(store, "demo", settings, clock=clock)
    until = scenario.end_utc + timedelta(minutes=TAIL_MINUTES)
    return Demo(
        scenario,
        settings,
        store,
        tracker,
        sim,
        database,
        until,
        speed,
        password,
        smsc=smsc,
        sms_campaign=sms_campaign,
    )
