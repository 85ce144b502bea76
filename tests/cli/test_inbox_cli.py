"""`jalsa inbox` through the CLI runner: the queue with its filters, an item's history, a
decision and its undo (dry-run by default), labels for retraining, a policy file checked, and
`run` collecting and hiding through the simulator."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from inboxkit import Prediction, make_item
from sqlalchemy import select

from jalsa.config import get_settings
from jalsa.inbox import store as q
from jalsa.inbox.policy_file import default_policy_text
from jalsa.inbox.service import InboxService
from jalsa.sim import load_scenario
from jalsa.sim.runner import SimServer, make_clock
from jalsa.store import Store
from jalsa.store.models import AuditEntry
from jalsa.store.repo import add_stream, create_event, get_event
from jalsa.timeutil import utc_now

Cli = Callable[..., Any]
ABUSIVE_WORDS = ("chor", "idiots", "غدار", "besharam")


@pytest.fixture
def store(cli: Cli) -> Iterator[Store]:
    opened = Store(get_settings().effective_database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def event(store: Store) -> str:
    with store.session() as session:
        create_event(
            session,
            name="Virtual jalsa",
            starts_at=utc_now(),
            duration=timedelta(hours=2),
            timezone="Asia/Karachi",
            slug="rally",
        )
    return "rally"


def test_the_queue_lists_and_filters(cli: Cli, store: Store, event: str) -> None:
    make_item(store, event, action="hide", text="tu chor hai")
    make_item(store, event, text="Pakistan zindabad")
    everything = cli("inbox", "queue", event)
    assert everything.exit_code == 0, everything.output
    assert "2 of 2 items" in everything.output and "tu chor hai" in everything.output
    hidden = cli("inbox", "queue", event, "--status", "hidden")
    assert "1 of 1 items" in hidden.output and "zindabad" not in hidden.output
    bad = cli("inbox", "queue", event, "--status", "gone")
    assert bad.exit_code == 2 and "unknown status 'gone'" in bad.output
    missing = cli("inbox", "queue", "nope")
    assert missing.exit_code == 3 and "Traceback" not in missing.output


def test_a_decision_from_the_cli_is_a_dry_run_audited_and_undone(
    cli: Cli, store: Store, event: str, tmp_path: Path
) -> None:
    item_id, _ = make_item(store, event, text="tu chor hai")
    decided = cli(
        "inbox", "decide", str(item_id), "hide", "--reason", "abuse", "--category", "abuse"
    )
    assert decided.exit_code == 0, decided.output
    assert "platform: dry_run would set the comment's moderation status" in decided.output
    with store.session() as session:
        row = q.get_item(session, item_id)
        last = q.item_decisions(session, item_id)[-1]
    assert (row.status, row.platform_state) == ("hidden", "dry_run")
    assert last.actor.startswith("cli:") and last.reason == "abuse"
    shown = cli("inbox", "show", str(item_id))
    assert "tu chor hai" in shown.output and last.actor in shown.output
    out = tmp_path / "labels.csv"
    assert cli("inbox", "labels", "--out", str(out)).exit_code == 0
    with out.open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            ["text", "label", "language"],
            ["tu chor hai", "abuse", "roman_urdu"],
        ]
    undone = cli("inbox", "undo", str(last.id), "--reason", "mistake")
    assert undone.exit_code == 0 and f"item {item_id} is allowed" in undone.output
    with store.session() as session:
        audited = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.target == f"inbox item {item_id}")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.action, e.actor, e.user_id) for e in audited] == [
        ("inbox.hide", last.actor, None),
        ("inbox.undo", last.actor, None),
    ]
    assert audited[0].details == {
        "decision": last.id,
        "reason": "abuse",
        "platform": "hide",
        "via": "cli",
    }
    again = cli("inbox", "undo", str(last.id))
    assert again.exit_code == 2 and "cannot be undone" in again.output
    wrong = cli("inbox", "decide", str(item_id), "delete")
    assert wrong.exit_code == 2 and "cannot 'delete'" in wrong.output


def test_a_policy_file_is_checked_with_the_line_of_each_problem(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text(default_policy_text().replace('"2026-12-07.1"', '"team.1"'), "utf-8")
    result = cli("inbox", "policy", "check", str(good))
    assert result.exit_code == 0 and "policy 'team.1'" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_policy_text().replace("  sexism:\n", "  sexizm:\n"), "utf-8")
    result = cli("inbox", "policy", "check", str(bad))
    assert result.exit_code == 2 and "sexizm" in result.output and "line" in result.output
    missing = cli("inbox", "policy", "check", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 2 and "no such policy file" in missing.output


class KeywordModel:
    """Abuse by word, and the simulator's chat spam ("Subscribe karo mera channel")."""

    version = "keywords-1"

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [
            Prediction(
                {
                    "abuse": 0.97 if any(w in t for w in ABUSIVE_WORDS) else 0.02,
                    "spam": 0.95 if "Subscribe" in t else 0.02,
                }
            )
            for t in texts
        ]


@pytest.mark.integration
def test_run_collects_from_the_simulator_and_hides_abuse(
    cli: Cli, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(None)
    clock = make_clock(scenario, 30, start=scenario.start_utc)
    monkeypatch.setattr(InboxService, "model", property(lambda self: KeywordModel()))
    with SimServer(scenario, clock) as sim:
        for setting, base in sim.base_urls.items():
            monkeypatch.setenv(f"JALSA_{setting.upper()}", base)
        monkeypatch.setenv("JALSA_YOUTUBE_API_KEY", "key")
        monkeypatch.setenv("JALSA_FACEBOOK_ACCESS_TOKEN", "token")
        get_settings.cache_clear()
        with store.session() as session:
            found = create_event(
                session,
                name=scenario.name,
                starts_at=scenario.start_utc,
                duration=timedelta(minutes=scenario.duration_minutes),
                timezone=scenario.timezone,
                slug="sim",
            )
            for stream in scenario.streams:
                add_stream(session, found, kind=stream.platform, external_id=stream.id)
        assert os.environ["JALSA_YOUTUBE_BASE_URL"] == sim.base_urls["youtube_base_url"]
        result = cli("inbox", "run", "sim", "--act", "--minutes", "0.2")
        assert result.exit_code == 0, result.output
        moderated = httpx.get(f"{sim.url}/_sim/moderation").json()
    with store.session() as session:
        rows, total = q.queue(session, get_event(session, "sim").id, limit=10_000)
    hidden = [r for r in rows if r.status == "hidden"]
    assert total > 20 and hidden
    assert all(r.platform_state == "hidden" for r in hidden)
    assert "new (" in result.output and "status hidden" in result.output
    # Hidden through the simulated API: a chat message is deleted (YouTube cannot hide one), a
    # comment held for review, a Graph comment hidden.
    done = set(moderated["deleted"]) | set(moderated["hidden"])
    done |= {f"youtube:{k}" for k, v in moderated["youtube_moderation_status"].items()}
    assert {f"{r.platform}:{r.external_id}" for r in hidden} <= done
