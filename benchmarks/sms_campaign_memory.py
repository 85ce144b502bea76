"""Benchmark: a campaign to a million supporters runs with flat memory.

Issue target (7): a 1-million-recipient campaign is streamed, never loaded whole.

Stores `--supporters` supporters with consent (SQLite), previews the campaign (renders every
message, counts segments and cost: a full pass over the segment), then sends the first `--send`
of them through the real sender and SMPP gateway to the SMSC simulator (its own process),
sampling this process's resident memory as it goes. Flat memory: the RSS after the last sample
is within a few MB of the RSS after the first 10%; a design that loaded the segment would grow
by hundreds of MB for a million supporters.

Usage:
  python benchmarks/sms_campaign_memory.py --supporters 1000000 --send 100000 \
      --json benchmarks/results/sms_campaign_memory.json

Last result: see benchmarks/RESULTS.md (SMS section).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sms_submit import PASSWORD, start_smsc  # type: ignore[import-not-found]
from sqlalchemy import func, select

from jalsa.mobilize import campaigns as ops
from jalsa.mobilize.gateways.smpp import SmppGateway
from jalsa.mobilize.sender import Sender, SenderConfig
from jalsa.store import Store
from jalsa.store.db import upsert
from jalsa.store.models import Consent, SmsMessage, Supporter


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fill(store: Store, count: int) -> None:
    now = datetime.now(UTC)
    chunk = 20_000
    for start in range(0, count, chunk):
        ids = range(start + 1, min(count, start + chunk) + 1)
        with store.session() as session:
            upsert(
                session,
                Supporter,
                [
                    {
                        "id": n,
                        "phone": f"+92300{n:07d}",
                        "name": f"Supporter {n}",
                        "city": "Lahore",
                        "constituency": "NA-125",
                        "language": "ur" if n % 3 else "en",
                        "tags": [],
                        "timezone": "Asia/Karachi",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in ids
                ],
                keys=["phone"],
            )
            upsert(
                session,
                Consent,
                [
                    {
                        "supporter_id": n,
                        "purpose": "reminders",
                        "source": "bench",
                        "given_at": now,
                        "recorded_at": now,
                    }
                    for n in ids
                ],
                keys=["supporter_id", "purpose"],
            )


def run(supporters: int, send: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        fill(store, supporters)
        fill_s = time.perf_counter() - started
        baseline = rss_mb()
        karachi = datetime.now(UTC).astimezone(ZoneInfo("Asia/Karachi"))  # the supporters' zone
        with store.session() as session:
            campaign = ops.create_campaign(
                session,
                ops.CampaignSpec(
                    name="Million",
                    texts={
                        "ur": "{first_name|dost}, jalsa kal 8 baje, Liberty Chowk. STOP bhejein",
                        "en": "Dear {first_name|friend}, the rally is tomorrow at 8 pm.",
                    },
                    schedule=(datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                    # open from an hour ago for four hours, whatever the hour it runs at
                    send_from=f"{karachi - timedelta(hours=1):%H:%M}",
                    send_until=f"{karachi + timedelta(hours=3):%H:%M}",
                ),
                None,
            )
            started = time.perf_counter()
            preview = ops.preview(session, campaign, price_per_segment=0.5, currency="PKR")
            preview_s = time.perf_counter() - started
            ops.schedule_campaign(session, campaign, datetime.now(UTC))
            campaign_id = campaign.id
        after_preview = rss_mb()
        process, port = start_smsc(Path(tmp) / "smsc.jsonl")
        samples: list[tuple[int, float]] = []
        try:
            gateway = SmppGateway("127.0.0.1", port, "jalsa", PASSWORD, window=10)
            sender = Sender(store, gateway, SenderConfig(rate=5000, batch=200))

            def handed() -> int:
                with store.session() as session:
                    return int(
                        session.scalar(
                            select(func.count()).where(
                                SmsMessage.campaign_id == campaign_id, SmsMessage.status != "queued"
                            )
                        )
                        or 0
                    )

            thread = threading.Thread(
                target=sender.run, kwargs={"until": lambda: sender.sent >= send}
            )
            started = time.perf_counter()
            thread.start()
            while thread.is_alive():
                samples.append((sender.sent, rss_mb()))
                thread.join(2.0)
            send_s = time.perf_counter() - started
            done = handed()
        finally:
            process.terminate()
            process.wait(10)
    tenth = next((rss for sent, rss in samples if sent >= send // 10), samples[0][1])
    return {
        "supporters": supporters,
        "fill_seconds": round(fill_s, 1),
        "preview_seconds": round(preview_s, 1),
        "preview_sendable": preview.sendable,
        "preview_segments": preview.segments,
        "sent": sender.sent,
        "rows_handed": done,
        "send_seconds": round(send_s, 1),
        "messages_per_second": round(sender.sent / send_s, 1),
        "rss_mb_before_preview": round(baseline, 1),
        "rss_mb_after_preview": round(after_preview, 1),
        "rss_mb_at_10_percent": round(tenth, 1),
        "rss_mb_at_end": round(samples[-1][1], 1),
        "rss_samples": [(n, round(r, 1)) for n, r in samples[:: max(1, len(samples) // 20)]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supporters", type=int, default=1_000_000)
    parser.add_argument("--send", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.supporters, args.send)
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
