"""The demo's SMS reminder: simulated supporters, a campaign "the jalsa starts at 20:00" sent half
an hour before the rally through the server's own sender to the SMSC simulator (a real SMPP
peer on loopback), delivery receipts back, and a supporter who texts STOP mid-rally and is
opted out with a confirmation. All on the demo's compressed clock."""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select

from jalsa import csvsafe
from jalsa.clock import Clock
from jalsa.mobilize import campaigns as ops
from jalsa.mobilize.supporters_import import import_csv
from jalsa.sim.smsc import Smsc
from jalsa.store import Store
from jalsa.store.models import OptOut, SmsInbound
from jalsa.store.repo import get_event

SUPPORTERS = 400
CITIES = ("Lahore", "Karachi", "Islamabad", "Peshawar", "Quetta", "Multan")
NAMES = ("Ayesha Khan", "Bilal Ahmed", "Fatima Raza", "Hamza Ali", "Sana Iqbal", "Usman Tariq")
COLUMNS = (
    "phone",
    "name",
    "city",
    "language",
    "consent",
    "consent_source",
    "consent_at",
    "opt_out",
)
STOPPER = "+923001000007"  # the supporter who texts STOP during the rally
SHORT_CODE = "8877"
TEXTS = {
    "ur": "{first_name|dost}, virtual jalsa {event_time} par shuru ho raha hai: YouTube, "
    "Facebook aur X par live dekhein. Band karne ke liye STOP bhejein.",
    "en": "{first_name|friend}, the virtual jalsa starts at {event_time}: watch it live on "
    "YouTube, Facebook and X. Reply STOP to opt out.",
}


def start_smsc() -> tuple[Smsc, dict[str, Any]]:
    """The SMSC simulator, and the settings that make the server send through it."""
    password = secrets.token_hex(4)  # SMPP passwords are at most 8 characters
    smsc = Smsc(system_id="jalsa", password=password, receipt_delay=0.2).start()
    settings = {
        "sms_gateway": "smpp",
        "sms_gateway_url": f"127.0.0.1:{smsc.port}",
        "sms_username": "jalsa",
        "sms_password": SecretStr(password),
        "sms_rate": 100.0,
        "sms_senders": ["JALSA"],
        "sms_segment_price": 0.5,
    }
    return smsc, settings


def write_supporters(path: Path, seed: int) -> None:
    """A made-up supporter list: most consented to reminders, some did not, a few opted out."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csvsafe.writer(out)
        writer.writerow(COLUMNS)
        for n in range(SUPPORTERS):
            draw = rng.random()
            writer.writerow(
                [
                    f"0300-1{n:06d}",
                    rng.choice(NAMES),
                    rng.choice(CITIES),
                    "en" if rng.random() < 0.3 else "ur",
                    "" if draw < 0.05 else "reminders",
                    "rally sign-up form",
                    "2023-12-01 18:00",
                    "yes" if 0.05 <= draw < 0.08 else "no",
                ]
            )


def prepare_campaign(store: Store, folder: Path, seed: int) -> str:
    """Import the supporters and send the reminder (half an hour before the rally, within the
    default sending hours, 09:00-21:00 each recipient's time). Returns the campaign's slug."""
    path = folder / "supporters.csv"
    write_supporters(path, seed)
    import_csv(store, path, source="demo sign-up form")
    with store.session() as session:
        event = get_event(session, "demo")
        campaign = ops.create_campaign(
            session,
            ops.CampaignSpec(
                name="Reminder: the jalsa starts soon",
                texts=TEXTS,
                schedule="event-30m",
                event_id=event.id,
                timezone=event.timezone,
            ),
            None,
        )
        ops.schedule_campaign(session, campaign, campaign.created_at)
        return campaign.slug


@dataclass
class DemoSms:
    slug: str
    counts: dict[str, int] = field(default_factory=dict)
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)
    recipients: int | None = None
    status: str = ""
    inbound: int = 0
    opted_out: int = 0
    received_by_smsc: int = 0

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n:,} {s}" for s, n in sorted(self.counts.items()))
        why = "; ".join(f"{n:,} {r}" for (_s, r), n in sorted(self.reasons.items()))
        return [
            f"SMS: the reminder campaign ({self.slug}) is {self.status}: "
            + (
                f"{self.recipients:,} supporters in its segment"
                if self.recipients is not None
                else "not started yet"
            )
            + f"; {counts or 'no messages'}"
            + (f" (not sent: {why})" if why else "")
            + f". The SMSC simulator received {self.received_by_smsc:,} messages.",
            f"SMS: {self.inbound} message(s) from supporters; {self.opted_out} number(s) "
            "opted out in all (STOP is confirmed by SMS).",
        ]


async def run_demo_sms(
    store: Store, smsc: Smsc, slug: str, clock: Clock, start: datetime, stop: asyncio.Event
) -> DemoSms:
    """Text STOP from one supporter five minutes into the rally; when `stop` is set, count."""
    stop_at = start + timedelta(minutes=5)
    while not stop.is_set() and clock.now() < stop_at:
        await asyncio.sleep(0.2)
    if not stop.is_set():
        await asyncio.to_thread(smsc.send_mo, STOPPER, SHORT_CODE, "STOP")
    await stop.wait()
    return await asyncio.to_thread(summarize, store, smsc, slug)


def summarize(store: Store, smsc: Smsc, slug: str) -> DemoSms:
    with store.session() as session:
        campaign = ops.get_campaign(session, slug)
        progress = ops.progress_of(session, campaign)
        return DemoSms(
            slug=slug,
            counts=dict(progress.counts),
            reasons=dict(progress.reasons),
            recipients=progress.total,
            status=campaign.status,
            inbound=session.scalar(select(func.count()).select_from(SmsInbound)) or 0,
            opted_out=session.scalar(select(func.count()).select_from(OptOut)) or 0,
            received_by_smsc=len(smsc.messages),
        )
