"""The team's replies to inbox items: drafted, checked against the code of conduct, approved
or rejected by a coordinator when the check flagged them, and sent through the platform.

A reply the code of conduct flagged is not sent before someone approves it, whoever asks (the
callers check who may approve); a failed one may be sent again. Each step writes its audit
entry in the transaction that stores it.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session

from jalsa.errors import UserError
from jalsa.inbox import store as q
from jalsa.inbox.decisions import audit_action
from jalsa.inbox.pipeline import Pipeline, record_of
from jalsa.inbox.policy import ReplyCheck
from jalsa.platforms.inbox_record import InboxItem
from jalsa.store.models import Event, InboxReplyRow, User

log = logging.getLogger(__name__)

MAX_REPLY = 5_000  # characters of a reply (longer than any platform accepts)


class Replies:
    """Replies, checked with the pipeline's policy and classifier and sent with its platform
    actions."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def draft_reply(
        self,
        item_id: int,
        user: User | None,
        *,
        text: str | None = None,
        template: str | None = None,
        ip: str = "",
    ) -> InboxReplyRow:
        """A reply, checked against the code of conduct: "approved" if it may be sent as it is,
        "needs_approval" (a coordinator's) if the check flagged it. Blocking (the check runs
        the classifier)."""
        store = self.pipeline.store
        with store.session() as session:
            row = q.get_item(session, item_id)
            author, language = row.author_name, row.language
            event = session.get(Event, row.event_id)
            event_name = event.name if event else ""
        body = (text or "").strip()
        if template:
            body = self.pipeline.policy.render_reply(
                template, author=author, language=language, event=event_name
            )
        if not body:
            raise UserError("the reply is empty; write a text or choose a template")
        if len(body) > MAX_REPLY:
            raise UserError(f"the reply is longer than {MAX_REPLY:,} characters; shorten it")
        check = self.check_reply(body)
        found = check.decision.language
        with store.session() as session:
            row = q.get_item(session, item_id)
            reply = q.add_reply(
                session,
                row,
                text=body,
                drafted_by=user,
                status="needs_approval" if check.needs_approval else "approved",
                check=check.decision,
                template=template,
                language=language if found == "unknown" else found,
            )
            reply.check_decision = {**reply.check_decision, "check": check.reason}
            _audit(session, user, reply, "inbox.reply.draft", ip)
            return reply

    def check_reply(self, text: str) -> ReplyCheck:
        """The code of conduct applied to the team's own reply. A reply the classifier could
        not score is checked by the rules and still needs a coordinator's approval."""
        policy = self.pipeline.policy
        head = policy.text_to_classify(text)
        try:
            model = self.pipeline.scorer
            if model is None:
                raise LookupError("no classifier")
            scores = model.predict([head])[0]
        except Exception as exc:
            if not isinstance(exc, LookupError):
                log.exception("inbox: the classifier could not check a draft reply")
            check = policy.decide_reply(text, None)
            reason = f"the classifier could not check it ({type(exc).__name__}): " + (
                "a coordinator must approve it"
            )
            return check.model_copy(update={"needs_approval": True, "reason": reason})
        return policy.decide_reply(text, scores, model_version=model.version)

    def approve_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        """A coordinator's approval of a flagged reply (callers check the permission)."""
        with self.pipeline.store.session() as session:
            reply = q.get_reply(session, reply_id)
            if reply.status != "needs_approval":
                raise UserError(f"reply {reply_id} is {reply.status}; nothing to approve")
            reply.status = "approved"
            reply.approved_by = user.id if user else None
            reply.updated_at = self.pipeline.clock.now()
            _audit(session, user, reply, "inbox.reply.approve", ip)
            return reply

    def reject_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        with self.pipeline.store.session() as session:
            reply = q.get_reply(session, reply_id)
            if reply.status in ("sent", "rejected"):
                raise UserError(f"reply {reply_id} is {reply.status} already")
            reply.status = "rejected"
            reply.approved_by = user.id if user else None
            reply.updated_at = self.pipeline.clock.now()
            _audit(session, user, reply, "inbox.reply.reject", ip)
            return reply

    async def send_reply(self, reply_id: int, user: User | None, *, ip: str = "") -> InboxReplyRow:
        """Post an approved reply through the platform. A flagged reply not yet approved is
        refused; a failed one may be sent again."""
        store = self.pipeline.store

        def load() -> tuple[InboxItem, str]:
            with store.session() as session:
                reply = q.get_reply(session, reply_id)
                if reply.status == "needs_approval":
                    raise UserError(
                        f"reply {reply_id} was flagged by the code of conduct "
                        f"({reply.check_decision.get('reason', '')}); a coordinator must "
                        "approve it before it is sent"
                    )
                if reply.status not in ("approved", "failed"):
                    raise UserError(f"reply {reply_id} is {reply.status}; it cannot be sent")
                return record_of(q.get_item(session, reply.item_id)), reply.text

        item, text = await asyncio.to_thread(load)
        result = await self.pipeline.call_platform("reply", item, text)

        def save() -> InboxReplyRow:
            with store.session() as session:
                reply = q.get_reply(session, reply_id)
                reply.updated_at = self.pipeline.clock.now()
                if result.status == "done" or (result.ok and result.status != "dry_run"):
                    reply.status = "sent"
                    reply.sent_at = reply.updated_at
                    reply.platform_reply_id = result.external_id
                    reply.error = ""
                elif result.status == "dry_run":
                    reply.error = f"dry run (JALSA_INBOX_DRY_RUN), not sent: {result.detail}"
                else:
                    reply.status = "failed"
                    reply.error = f"{result.status}: {result.detail}"
                _audit(session, user, reply, "inbox.reply.send", ip)
                return reply

        return await asyncio.to_thread(save)


def _audit(session: Session, user: User | None, reply: InboxReplyRow, action: str, ip: str) -> None:
    target = f"inbox reply {reply.id}"
    audit_action(session, user, action, target, ip, item=reply.item_id, status=reply.status)
