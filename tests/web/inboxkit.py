"""Inbox objects for the web tests: an item (assigned to the caller, so a volunteer may reach
it) in the state a route needs, a reply, a decision that can be undone."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from jalsa.inbox import store as q
from jalsa.platforms.inbox_record import ActionResult, Decision, InboxItem
from jalsa.store import Store
from jalsa.store.repo import get_event
from jalsa.timeutil import utc_now

ABUSIVE = "tu ghadaar kutta hai"


@dataclass
class Prediction:
    categories: dict[str, float]
    language: str = "roman_urdu"
    status: str = "ok"


class FakeModel:
    """Scores by keyword; "boom" makes a batch fail (the policy then tries texts alone)."""

    version = "fake-model-1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if any("boom" in t for t in texts):
            raise RuntimeError("the model broke")
        out = []
        for text in texts:
            if "kutta" in text:
                out.append(Prediction({"abuse": 0.97}))
            elif "bewaqoof" in text:
                out.append(Prediction({"abuse": 0.7}))
            else:
                out.append(Prediction({"abuse": 0.01}, language="english"))
        return out


@dataclass
class FakeActions:
    """Answers per item id, in turn (the last one repeats); every call is recorded."""

    answers: dict[str, list[ActionResult]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _answer(self, action: str, item: InboxItem, dry_run: bool) -> ActionResult:
        self.calls.append((action, item.external_id))
        if dry_run:
            return ActionResult(ok=True, status="dry_run", detail=f"would {action}")
        queue = self.answers.get(item.external_id) or [ActionResult(ok=True, status="done")]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        return self._answer("hide", item, dry_run)

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        return self._answer("unhide", item, dry_run)

    async def ban_author(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        return self._answer("ban", item, dry_run)

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        result = self._answer("reply", item, dry_run)
        if result.status == "done":
            return ActionResult(ok=True, status="done", external_id=f"r-{item.external_id}")
        return result


def make_item(
    store: Store,
    slug: str,
    *,
    action: str = "allow",
    assigned_to: int | None = None,
    text: str = "Khan sahab zindabad",
    appealed: bool = False,
    platform: str = "youtube",
) -> tuple[int, int]:
    """(item id, id of its automatic decision). `action`: what the policy decided."""
    with store.session() as session:
        event = get_event(session, slug)
        (row,), _ = q.save_items(
            session,
            event.id,
            [
                InboxItem(
                    platform=platform,
                    external_id=f"web-{secrets.token_hex(6)}",
                    kind="comment",
                    thread_id="video1",
                    author_id="author1",
                    author_name="Author One",
                    text=text,
                    created_at=utc_now(),
                )
            ],
        )
        decision = q.decision_from_policy(
            session,
            row,
            Decision(
                action=action,  # type: ignore[arg-type]
                category="abuse" if action == "hide" else None,
                score=0.95 if action == "hide" else 0.01,
                language="roman_urdu",
                policy_version="test-policy",
                model_version="test-model",
                reason="test",
            ),
        )
        if action == "hide":
            row.platform_state = "hidden"
        if appealed:
            row.status = "appealed"
            q.add_decision(session, row, action="appeal", actor=None, reason="unfair")
        row.assigned_to = assigned_to
        session.flush()
        return row.id, decision.id


def make_reply(store: Store, slug: str, status: str, assigned_to: int | None = None) -> int:
    item_id, _ = make_item(store, slug, assigned_to=assigned_to)
    with store.session() as session:
        reply = q.add_reply(
            session,
            q.get_item(session, item_id),
            text="Thank you for joining!",
            drafted_by=None,
            status=status,
            check=None,
        )
        return reply.id


def inbox_path_value(store: Store, slug: str, path: str, param: str, caller_id: int) -> str:
    """A real, fresh value for an inbox route's path parameter, reachable by the caller."""
    if param == "decision_id":
        return str(make_item(store, slug, assigned_to=caller_id)[1])
    if param == "reply_id":
        status = "needs_approval" if path.endswith("/approve") else "approved"
        return str(make_reply(store, slug, status, assigned_to=caller_id))
    if path.endswith("/appeal"):
        return str(make_item(store, slug, action="hide", assigned_to=caller_id)[0])
    if path.endswith("/appeal/decision"):
        item_id, _ = make_item(store, slug, action="hide", assigned_to=caller_id, appealed=True)
        return str(item_id)
    return str(make_item(store, slug, assigned_to=caller_id)[0])


JSON_BODIES = {
    "DecisionIn": lambda: {"action": "hide", "reason": "abuse", "category": "abuse"},
    "UndoIn": lambda: {"reason": "a mistake"},
    "AssignIn": lambda: {"user_id": None},
    "ReplyIn": lambda: {"text": "Thank you for joining!"},
    "AppealIn": lambda: {"note": "I was quoting him"},
    "AppealDecisionIn": lambda: {"upheld": True, "reason": "a quote"},
}
