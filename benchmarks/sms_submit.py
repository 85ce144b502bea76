"""Benchmark: sustained SMS submission rate over SMPP, window 10.

Issue target (7, supporter mobilization by SMS): at least 300 messages/s to one SMSC bind.

The SMSC simulator runs as its own process (`python -m jalsa.sim.smsc`, smpp34 behind its front
door) and records every submit_sm it receives to a JSON-lines file; the benchmark binds one
`SmppGateway` (smpplib, transceiver, window 10, receipts requested), submits `--messages`
messages in batches of `--batch` (a mix: 3 short GSM-7 texts to 1 Urdu text of 2 UCS-2 parts),
and counts the messages accepted per second of wall time, from the first submit to the last
answer. The record file's line count checks that the SMSC got every part.

Usage:
  python benchmarks/sms_submit.py --messages 20000 --json benchmarks/results/sms_submit.json

Last result (2 cores shared with other work): 20,000 messages (25,000 parts) in 29.5 s,
678 messages/s (848 parts/s), all accepted, every part recorded by the SMSC, every receipt back.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jalsa.mobilize.gateways.base import Handlers, OutgoingSms
from jalsa.mobilize.gateways.smpp import SmppGateway
from jalsa.mobilize.gateways.smpp_codec import split_text

TARGET_PER_SECOND = 300.0
PASSWORD = "bench"
SHORT = "Jalsa today 5 pm at Liberty Chowk. Reply STOP to opt out. #{n}"
URDU = (
    "آج شام پانچ بجے لبرٹی چوک میں جلسہ ہے۔ اپنے دوستوں کے ساتھ ضرور آئیں۔ "
    "رکنیت ختم کرنے کے لیے STOP لکھیں۔ #{n}"
)


def messages(count: int) -> list[OutgoingSms]:
    """Three short GSM-7 texts to one two-part Urdu text, to distinct numbers."""
    return [
        OutgoingSms(
            key=f"m{n}",
            to=f"+92300{n:07d}",
            text=(URDU if n % 4 == 3 else SHORT).format(n=n),
            sender="JALSA",
        )
        for n in range(count)
    ]


def start_smsc(record: Path) -> tuple[subprocess.Popen[str], int]:
    """The simulator process and the port it listens on (from its first line)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jalsa.sim.smsc",
            "--port",
            "0",
            "--password",
            PASSWORD,
            "--record",
            str(record),
            "--receipt-delay",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()  # "listening on HOST:PORT"
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the SMSC simulator did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def count_lines(path: Path, expected: int, timeout: float = 10.0) -> int:
    """The record file's lines, waiting briefly for the last ones to be flushed."""
    deadline = time.monotonic() + timeout
    while True:
        lines = sum(1 for _ in path.open(encoding="utf-8"))
        if lines >= expected or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def run(count: int, batch: int, window: int) -> dict[str, object]:
    work = messages(count)
    parts = sum(len(split_text(m.text)[0]) for m in work)
    receipts: list[object] = []
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "smsc.jsonl"
        process, port = start_smsc(record)
        try:
            gateway = SmppGateway("127.0.0.1", port, "jalsa", PASSWORD, window=window)
            gateway.open(Handlers(on_receipt=receipts.append))
            outcomes: dict[str, int] = {}
            started = time.perf_counter()
            for offset in range(0, count, batch):
                for result in gateway.submit(work[offset : offset + batch]):
                    outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            elapsed = time.perf_counter() - started
            received = count_lines(record, parts)
            time.sleep(0.5)
            gateway.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    rate = outcomes.get("accepted", 0) / elapsed
    return {
        "messages": count,
        "parts": parts,
        "window": window,
        "batch": batch,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(rate, 1),
        "parts_per_second": round(parts / elapsed, 1),
        "outcomes": outcomes,
        "parts_received_by_smsc": received,
        "receipts_received_by_close": len(receipts),
        "target_messages_per_second": TARGET_PER_SECOND,
        "meets_target": rate >= TARGET_PER_SECOND,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/sms_submit.json"))
    args = parser.parse_args()
    result = run(args.messages, args.batch, args.window)
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
