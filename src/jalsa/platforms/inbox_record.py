"""The inbox's shared records: an item from any platform, what the policy decided about it, and
what a platform said when we acted on it.

Collectors turn each platform's comments and chat messages into `InboxItem`s; the policy
(`policy.py`) turns the classifier's scores and the personal-data check into a `Decision`; the
platform actions (`actions.py`) report an `ActionResult` per item. The store and the web app
keep these as rows; these models are the contracts between the parts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

PLATFORMS = ("youtube", "facebook", "instagram", "x")

# Where an item was written.
Kind = Literal["live_chat", "comment", "reply", "mention"]

# The code of conduct's categories (the policy file gives each its actions).
CATEGORIES: dict[str, str] = {
    "abuse": "abusive or offensive language aimed at someone",
    "harassment": "harassment or threats against a person",
    "hate": "hate against a religion, sect or ethnic group",
    "sexism": "sexist abuse",
    "spam": "spam or scams: repeated promotion, money or prize offers, links to elsewhere",
    "personal_data": "someone's personal data: phone numbers, CNIC numbers",
    "off_topic": "nothing to do with the event or the conversation",
}

# What the policy may do with an item, mildest last.
Action = Literal["hide", "review", "allow"]

# Language routes of the classifier.
Language = Literal["urdu", "roman_urdu", "english", "mixed", "unknown"]


class InboxItem(BaseModel):
    """One comment, reply, mention or live-chat message, as collected."""

    platform: str
    external_id: str  # the platform's id of the item; (platform, external_id) is unique
    kind: Kind
    thread_id: str  # the video, live video, post or conversation it belongs to
    parent_id: str | None = None  # the item it answers, if any
    author_id: str
    author_name: str = ""
    text: str
    created_at: datetime
    permalink: str | None = None
    # What the platform actions need besides the id (e.g. YouTube's liveChatId for a ban).
    extra: dict[str, Any] = Field(default_factory=dict)


class Finding(BaseModel):
    """One category the policy found, with the evidence."""

    category: str
    score: float  # 0..1: the model's probability, or 1.0 for a rule (a CNIC number)
    source: str  # "model:<version>", "rule:cnic", "rule:phone", "rule:spam", ...
    detail: str = ""  # e.g. the matched number, masked


class Decision(BaseModel):
    """What the policy decided for one item (or one draft reply)."""

    action: Action
    category: str | None  # the category that decided the action (None: nothing found)
    score: float | None
    findings: list[Finding] = Field(default_factory=list)
    language: Language = "unknown"
    policy_version: str
    model_version: str | None = None
    reason: str  # in words, for the moderator and the audit log
    status: Literal["ok", "empty", "too_long", "error"] = "ok"  # how the item could be read


class ActionResult(BaseModel):
    """What the platform answered when we hid, banned or replied."""

    ok: bool
    status: Literal[
        "done",
        "dry_run",
        "already_done",
        "not_found",
        "permission_denied",
        "rate_limited",
        "error",
        "unsupported",
    ]
    detail: str = ""
    external_id: str | None = None  # e.g. the id of a reply we posted
