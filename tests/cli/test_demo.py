"""`jalsa demo --minutes N`: the whole simulated rally, then a summary and exit 0."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from jalsa.conversation.coverage import read_counts
from jalsa.demo.sms import STOPPER, SUPPORTERS
from jalsa.inbox import store as q
from jalsa.inbox.shipped import shipped_manifest
from jalsa.store import Store
from jalsa.store.models import InboxItemRow, OptOut, SmsMessage
from jalsa.store.repo import get_event
from jalsa.timeutil import show
from jalsa.watch.store import incidents_between
from testkit import DemoRun

pytestmark = pytest.mark.integration


def test_demo_runs_the_rally_and_prints_a_summary(demo_run: DemoRun) -> None:
    tmp_path, done = demo_run.data_dir, demo_run.done
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Peak of the combined concurrent audience" in out
    assert "not unique people" in out
    assert "audience unknown" in out  # Instagram has no viewer count
    database = tmp_path / "demo" / "jalsa-demo.db"
    assert f"sqlite:///{database}" in out
    store = Store(f"sqlite:///{database}")
    with store.session() as s:
        event = get_event(s, "demo")
        assert {st.kind for st in event.streams} == {
            "youtube",
            "facebook",
            "x_space",
            "instagram",
            "x_counts",
        }
    stored = int(out.split("Stored ")[1].split(" samples")[0].replace(",", ""))
    assert stored > 500
    # the simulated vantages saw the nationwide restriction from 20:10: one incident
    with store.session() as s:
        (incident,) = incidents_between(s)
        assert set(incident.platforms) == {"x", "facebook", "instagram", "youtube"}
        assert incident.method == "tls.sni_filter"
        assert show(incident.started_at, "Asia/Karachi", "%H:%M") == "20:10"
    assert "tls.sni_filter" in out
    # the inbox moderated the simulator's comments and hid some through its API (not a dry run)
    assert "Inbox: " in out and "Hidden through the simulated platform APIs" in out
    # with the model that ships with jalsa (the demo's data directory has none of its own)
    shipped = shipped_manifest()
    assert shipped is not None
    assert f"moderated with the shipped model {shipped['version']} ({shipped['name']})" in out
    with store.session() as s:
        assert q.counts(s, event.id, "platform_state").get("hidden", 0) > 0
        versions = s.scalars(
            select(InboxItemRow.model_version).where(InboxItemRow.model_version.is_not(None))
        ).all()
        assert versions and set(versions) == {shipped["version"]}  # recorded with each decision
    store.dispose()
    # the conversation was collected from the simulator and ingested as it came
    collected = int(out.split("Conversation: ")[1].split(" posts")[0].replace(",", ""))
    parts = list((tmp_path / "conversation" / "demo" / "posts").glob("part-*.parquet"))
    table = pq.ParquetDataset([str(p) for p in parts]).read(columns=["platform", "id"])
    assert collected > 1000 and table.num_rows == collected
    assert len(set(zip(*table.to_pydict().values(), strict=True))) == collected
    assert set(table.column("platform").to_pylist()) >= {"x", "facebook"}
    # and X's own per-minute counts of the query, to say how much of it was collected
    counts = read_counts(tmp_path / "conversation" / "demo")
    assert counts.per_minute and counts.bad_lines == 0
    # the SMS reminder went through the server's sender to the SMSC simulator, each supporter
    # at most once, never one without consent or opted out; the STOP was confirmed
    assert "SMS: the reminder campaign" in out and "The SMSC simulator received" in out
    store = Store(f"sqlite:///{database}")
    with store.session() as s:
        rows = s.execute(
            select(SmsMessage.supporter_id, SmsMessage.status, SmsMessage.reason).where(
                SmsMessage.kind == "campaign"
            )
        ).all()
        assert len(rows) == SUPPORTERS == len({r.supporter_id for r in rows})
        sent = [r for r in rows if r.status in ("submitted", "delivered")]
        skipped = Counter(r.reason for r in rows if r.status == "skipped")
        # rows not sent before 21:00 (the demo's clock runs fast) wait for the morning
        waiting = {r.reason for r in rows if r.status not in ("submitted", "delivered", "skipped")}
        assert sent and waiting <= {"quiet hours"}, waiting
    with (tmp_path / "demo" / "supporters.csv").open(encoding="utf-8") as f:
        listed = list(csv.DictReader(f))
    assert skipped == {
        "no consent for reminders": sum(1 for r in listed if not r["consent"]),
        "opted out": sum(1 for r in listed if r["consent"] and r["opt_out"] == "yes"),
    }
    with store.session() as s:
        assert s.get(OptOut, STOPPER) is not None
        reply = s.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")).one()
        assert reply.phone == STOPPER and reply.status in ("submitted", "delivered")
    store.dispose()


def test_demo_refuses_a_bad_minutes_value(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jalsa.cli", "demo", "--minutes", "0"],
        env=os.environ | {"JALSA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--minutes" in done.stderr and "Traceback" not in done.stderr
