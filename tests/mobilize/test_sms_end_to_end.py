"""A campaign from the CSV to the phone: supporters imported, a campaign written and sent through
the SMPP gateway to the SMSC simulator (a separate SMPP implementation on loopback), receipts
back, a STOP answered; and `kill -9` of the sender mid-campaign, then a restart: every
recipient gets the message exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smskit import open_hours, write_supporters
from sqlalchemy import select

from jalsa.mobilize import campaigns as ops
from jalsa.mobilize.gateways.smpp import SmppGateway
from jalsa.mobilize.sender import Sender, SenderConfig
from jalsa.mobilize.supporters_import import import_csv
from jalsa.sim.smsc import Smsc
from jalsa.store import Store
from jalsa.store.models import Campaign, OptOut, SmsMessage

pytestmark = pytest.mark.integration
PASSWORD = "s3cretpw"
NOW = datetime.now(UTC)


def create(store: Store, schedule: str | None = None) -> int:
    when = schedule or (NOW - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M+00:00")
    send_from, send_until = open_hours()
    with store.session() as session:
        campaign = ops.create_campaign(
            session,
            ops.CampaignSpec(
                name="Reminder",
                texts={"en": "Hello {first_name}, rally at 8", "ur": "{name}, jalsa 8 baje"},
                schedule=when,
                send_from=send_from,
                send_until=send_until,
            ),
            None,
        )
        ops.schedule_campaign(session, campaign, NOW)
        return campaign.id


def status(store: Store, campaign_id: int) -> str:
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.status


def test_a_campaign_reaches_each_consenting_supporter_once_and_stop_is_answered(
    tmp_path: Path, sqlite_url: str
) -> None:
    store = Store(sqlite_url)
    write_supporters(tmp_path / "s.csv", 60, opted_out=5, no_consent=5)
    import_csv(store, tmp_path / "s.csv")
    campaign_id = create(store)
    with Smsc(password=PASSWORD) as smsc:
        gateway = SmppGateway("127.0.0.1", smsc.port, "jalsa", PASSWORD, window=10)
        sender = Sender(store, gateway, SenderConfig(rate=500, batch=20))
        thread = threading.Thread(target=sender.run)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while status(store, campaign_id) != "done" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert status(store, campaign_id) == "done"
            # A supporter texts STOP in Urdu: opted out, confirmed in Urdu.
            smsc.send_mo("+923000000020", "8877", "بند کرو")
            while len(smsc.messages) < 51 and time.monotonic() < deadline:
                time.sleep(0.1)
            # Receipts of the campaign's messages settle them as delivered.
            with store.session() as session:
                while time.monotonic() < deadline:
                    counts = ops.progress_of(session, session.get(Campaign, campaign_id)).counts
                    if counts.get("delivered") == 50:
                        break
                    time.sleep(0.1)
                    session.expire_all()
        finally:
            sender.stop()
            thread.join(15)
        received = Counter(m.destination for m in smsc.messages)
    assert counts == {"delivered": 50, "skipped": 10}
    expected = {f"92300{n:07d}" for n in range(10, 60)}
    assert set(received) == expected
    assert received["923000000020"] == 2  # the campaign's message and the confirmation
    assert all(count == 1 for d, count in received.items() if d != "923000000020")
    with store.session() as session:
        assert session.get(OptOut, "+923000000020") is not None
        reply = session.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")).one()
    assert reply.language == "ur" and "START" in reply.text


def _sender_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "jalsa.cli", "sms", "campaign", "send", "reminder"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_campaign_and_restart_sends_everyone_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    store = Store(database_url)
    count = 400
    write_supporters(tmp_path / "s.csv", count)
    import_csv(store, tmp_path / "s.csv")
    campaign_id = create(store)
    with Smsc(password=PASSWORD) as smsc:
        env = {
            **os.environ,
            "JALSA_DATABASE_URL": database_url,
            "JALSA_DATA_DIR": str(tmp_path / "data"),
            "JALSA_CONFIG": str(tmp_path / "none.toml"),
            "JALSA_SMS_GATEWAY": "smpp",
            "JALSA_SMS_GATEWAY_URL": f"127.0.0.1:{smsc.port}",
            "JALSA_SMS_USERNAME": "jalsa",
            "JALSA_SMS_PASSWORD": PASSWORD,
            "JALSA_SMS_RATE": "150",
            "JALSA_SMS_UNKNOWN_GRACE_SECONDS": "3",
        }
        # Two kills, each at a different point of the campaign.
        for kill_at in (60, 200):
            proc = _sender_process(env)
            deadline = time.monotonic() + 60
            while len(smsc.messages) < kill_at and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        proc = _sender_process(env)
        _out, errors = proc.communicate(timeout=120)
        assert proc.returncode == 0, errors.decode()
        received = Counter(m.destination for m in smsc.messages)
    assert status(store, campaign_id) == "done"
    assert len(received) == count, f"missed: {count - len(received)}"
    twice = {d: n for d, n in received.items() if n > 1}
    assert not twice, f"sent twice: {twice}"
    store.dispose()
