"""The code of conduct as a versioned policy, and the one place a moderation decision is made.

`Policy` is the validated policy (read from YAML by `policy_file.load_policy()`, the shipped
`default_policy.yaml` by default). `Policy.decide()` turns the classifier's scores, the rule
findings (`rules.py`) and the personal-data check (`personal.py`) into a `Decision` for an
incoming item; `Policy.decide_reply()` does the same for the team's own draft replies and says
whether a coordinator must approve them. `Policy.check_many()` runs a batch through a
classifier first. None of them raises on bad input: every item gets a decision with a status,
so the queue never stalls.

Every decision carries the policy version; the policy's content hash ties a version to its
rules, so a policy edited without a new version is refused (or warned about) at load.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from jalsa.errors import UserError
from jalsa.inbox.personal import find_personal_data, phone_key
from jalsa.inbox.rules import rule_findings
from jalsa.inbox.scores import (
    ModelScores,
    Scorer,
    Scores,
    as_scores,
    as_text,
    attr,
    language_of,
    predict,
    scorer_version,
    utf8_len,
)
from jalsa.platforms.inbox_record import CATEGORIES, Action, Decision, Finding, Language

log = logging.getLogger(__name__)

CategoryName = Literal[
    "abuse", "harassment", "hate", "sexism", "spam", "personal_data", "off_topic"
]
assert set(get_args(CategoryName)) == set(CATEGORIES), "CategoryName must list CATEGORIES"

_STRICT_ACTIONS: list[Action] = ["hide", "review"]
SEVERITY: dict[str, int] = {"allow": 0, "review": 1, "hide": 2}
TEMPLATE_FIELDS = ("author", "event")

# Classifier statuses meaning "there were no words to score" (emoji only, punctuation): the
# rules and the personal-data check still run, and the item is not an error.
NOTHING_TO_READ = frozenset({"empty", "no_text", "no_words", "emoji_only", "skipped"})
# Letters in a script the classifier has no model for (Devanagari, Cyrillic, ...): rare in our
# chats, and abuse in them would otherwise pass unseen, so a person reads them.
UNREADABLE_SCRIPT = frozenset({"unsupported_script"})


# --- the policy's rules -----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """From this score up (unless a higher threshold matched first), take this action."""

    score: float = Field(gt=0, le=1)
    action: Action


class CategoryRule(_Strict):
    description: str = ""
    thresholds: list[Threshold]

    @field_validator("thresholds")
    @classmethod
    def _ordered(cls, thresholds: list[Threshold]) -> list[Threshold]:
        for higher, lower in itertools.pairwise(thresholds):
            if lower.score >= higher.score:
                raise ValueError(
                    f"list thresholds from the highest score down ({higher.score} comes "
                    f"before {lower.score}, so {lower.score} must be lower)"
                )
            if SEVERITY[lower.action] > SEVERITY[higher.action]:
                raise ValueError(
                    f"a lower score cannot take a stronger action ({lower.action} at "
                    f"{lower.score} but {higher.action} at {higher.score})"
                )
        return thresholds

    def action_for(self, score: float) -> tuple[Action, Threshold | None]:
        """The first threshold the score reaches, else allow."""
        for threshold in self.thresholds:
            if score >= threshold.score:
                return threshold.action, threshold
        return "allow", None


class LanguageRule(_Strict):
    """Where the model is weak in a language: cap what its scores alone may do, or use other
    thresholds. Applies to model findings only; rules (a CNIC number) read any script."""

    max_action: Action = "hide"
    categories: dict[CategoryName, CategoryRule] = Field(default_factory=dict)


class Template(_Strict):
    name: str = Field(min_length=1)
    language: Language
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise ValueError(f"bad braces in the template ({exc}); write {{{{ for a '{{'") from exc
        unknown = sorted(set(fields) - set(TEMPLATE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join('{' + f + '}' for f in unknown)}; "
                f"a template may use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}"
            )
        return text


class ReplyRules(_Strict):
    # A draft reply whose decision is one of these waits for a coordinator's approval.
    approval_for: list[Action] = Field(default_factory=lambda: _STRICT_ACTIONS.copy())
    templates: list[Template] = Field(default_factory=list)


class Limits(_Strict):
    max_bytes: int = Field(default=20_480, gt=0)  # longer items are reviewed, status too_long
    classify_bytes: int = Field(default=20_480, gt=0)  # how much of a long item is checked


class ReplyCheck(BaseModel):
    """The decision about a draft reply, and whether it may be sent without approval."""

    decision: Decision
    needs_approval: bool
    reason: str


class Policy(_Strict):
    """A validated code of conduct. Build with `load_policy()`."""

    version: str = Field(min_length=1)
    name: str = "code of conduct"
    # Model scores below this are not kept as findings (the noise of every item).
    min_finding_score: float = Field(default=0.3, ge=0, le=1)
    limits: Limits = Field(default_factory=Limits)
    # Classifier score names that are not categories, mapped to one (or to null: ignored).
    model_aliases: dict[str, CategoryName | None] = Field(default_factory=dict)
    # Act on the classifier's calibrated "abusive" score at the model's own operating point for
    # the item's language (hide and review thresholds chosen on validation data, shown on the
    # policy page) instead of the category's thresholds; its other category scores then only
    # queue for review. A model without operating points is judged by the thresholds.
    use_model_operating_points: bool = True
    categories: dict[CategoryName, CategoryRule]
    languages: dict[Language, LanguageRule] = Field(default_factory=dict)
    replies: ReplyRules = Field(default_factory=ReplyRules)
    # Terms always on topic, added to the event's own (its hashtags and keywords) when the
    # caller gives those; without the event's terms nothing is judged off topic.
    on_topic_terms: list[str] = Field(default_factory=list)
    # The team's published numbers (a helpline): not personal data when they appear.
    public_numbers: list[str] = Field(default_factory=list)

    _hash: str = PrivateAttr(default="")
    _public: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("version")
    @classmethod
    def _no_spaces(cls, version: str) -> str:
        if version != version.strip() or not version.strip():
            raise ValueError("the version must not be blank or start/end with spaces")
        return version

    @field_validator("categories")
    @classmethod
    def _all_categories(
        cls, categories: dict[CategoryName, CategoryRule]
    ) -> dict[CategoryName, CategoryRule]:
        missing = [name for name in CATEGORIES if name not in categories]
        if missing:
            raise ValueError(
                f"missing categor{'y' if len(missing) == 1 else 'ies'}: "
                f"{', '.join(missing)} (every category needs its thresholds)"
            )
        return categories

    @field_validator("public_numbers")
    @classmethod
    def _valid_numbers(cls, numbers: list[str]) -> list[str]:
        bad = [n for n in numbers if phone_key(n) is None]
        if bad:
            raise ValueError(f"{len(bad)} public number(s) are not valid phone numbers")
        return numbers

    @field_validator("limits")
    @classmethod
    def _classify_within(cls, limits: Limits) -> Limits:
        if limits.classify_bytes > limits.max_bytes:
            raise ValueError("classify_bytes must not be larger than max_bytes")
        return limits

    def model_post_init(self, context: Any, /) -> None:
        content = self.model_dump(mode="json", exclude={"version"}, exclude_unset=True)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        self._hash = hashlib.sha256(canonical.encode()).hexdigest()
        self._public = frozenset(filter(None, map(phone_key, self.public_numbers)))

    @property
    def content_hash(self) -> str:
        """SHA-256 of the rules (not of the comments or layout, not of the version)."""
        return self._hash

    # --- deciding -------------------------------------------------------------------------

    def text_to_classify(self, text: object) -> str:
        """The part of an item that is checked: all of it, or its first `classify_bytes`."""
        text = as_text(text)
        if utf8_len(text) <= self.limits.max_bytes:
            return text
        head = text.encode("utf-8", "replace")[: self.limits.classify_bytes]
        return head.decode("utf-8", "ignore")

    def decide(
        self,
        item_text: object,
        scores: Scores | Mapping[str, float] | None = None,
        *,
        on_topic_terms: Iterable[str] = (),
        personal: Sequence[Finding] | None = None,
        model_version: str | None = None,
        language: str | None = None,
        status: str | None = None,
    ) -> Decision:
        """The decision for one item (or draft reply). Never raises.

        `scores`: the classifier's output for `text_to_classify(item_text)`, or its
        per-category scores as a mapping (then `language` and `status` say the rest); None
        with no status: no classifier, rules only. `personal`: personal-data findings already
        made (None: found here). `on_topic_terms`: the event's hashtags and keywords."""
        model_version = model_version or attr(scores, "model_version", None)
        try:
            model = as_scores(scores, language, status)
            return self._decide(item_text, model, on_topic_terms, personal, model_version)
        except Exception as exc:  # the queue must not stall on one item
            log.warning("policy %s could not decide an item: %r", self.version, type(exc))
            return Decision(
                action="review",
                category=None,
                score=None,
                policy_version=self.version,
                model_version=model_version,
                reason=f"could not be checked ({type(exc).__name__}): review it by hand",
                status="error",
            )

    def decide_reply(
        self,
        reply_text: object,
        scores: Scores | Mapping[str, float] | None = None,
        *,
        personal: Sequence[Finding] | None = None,
        model_version: str | None = None,
        language: str | None = None,
        status: str | None = None,
    ) -> ReplyCheck:
        """The team's draft reply against the same code (`decide`), plus the reply rules: a
        reply the code would hide or queue, or could not read, waits for a coordinator."""
        decision = self.decide(
            reply_text,
            scores,
            personal=personal,
            model_version=model_version,
            language=language,
            status=status,
        )
        if not self.needs_approval(decision):
            return ReplyCheck(decision=decision, needs_approval=False, reason="follows the code")
        if decision.status != "ok":
            why = f"the reply could not be fully checked ({decision.status})"
        else:
            why = f"the code of conduct would {decision.action} this reply ({decision.reason})"
        return ReplyCheck(
            decision=decision, needs_approval=True, reason=f"{why}: a coordinator must approve it"
        )

    def needs_approval(self, reply_decision: Decision) -> bool:
        """The reply rule: may a draft reply with this decision be sent without approval?"""
        return reply_decision.status != "ok" or reply_decision.action in self.replies.approval_for

    def check_many(
        self,
        texts: Sequence[object],
        scorer: Scorer | None = None,
        *,
        on_topic_terms: Iterable[str] = (),
    ) -> list[Decision]:
        """Classify a batch and decide each item. A batch the classifier fails on is retried
        one item at a time, and an item it still fails on is reviewed with status error."""
        terms = list(on_topic_terms)
        heads = [self.text_to_classify(t) for t in texts]
        predictions = predict(scorer, heads)
        version = scorer_version(scorer)
        return [
            self.decide(text, scores, on_topic_terms=terms, model_version=version)
            for text, scores in zip(texts, predictions, strict=True)
        ]

    def template(self, name: str, language: str | None = None) -> str:
        """A reply template's raw text, in `language` if the policy has it in that language
        (else its first). KeyError if there is no template of that name."""
        named = [t for t in self.replies.templates if t.name == name]
        if not named:
            raise KeyError(name)
        return next((t for t in named if t.language == language), named[0]).text

    def render_reply(
        self, name: str, *, author: str, language: str | None = None, event: str = ""
    ) -> str:
        """A reply template filled in for one author (the result still goes through
        `decide_reply`: an author's name can break the code too)."""
        try:
            text = self.template(name, language)
        except KeyError:
            known = ", ".join(sorted({t.name for t in self.replies.templates})) or "none"
            raise UserError(f"no reply template named {name!r} (the policy has: {known})") from None
        return text.format(author=author, event=event)

    def _decide(
        self,
        item_text: object,
        scores: ModelScores | None,
        on_topic_terms: Iterable[str],
        personal: Sequence[Finding] | None,
        model_version: str | None,
    ) -> Decision:
        text = as_text(item_text)
        language = language_of(scores)
        base = {"policy_version": self.version, "model_version": model_version}
        if not text.strip():
            return Decision(
                action="allow",
                category=None,
                score=None,
                language=language,
                reason="empty: nothing to check",
                status="empty",
                **base,
            )
        checked = self.text_to_classify(text)
        status: Literal["ok", "too_long", "error"] = "ok"
        notes: list[str] = []
        if len(checked) < len(text):
            status = "too_long"
            notes.append(
                f"too long ({utf8_len(text)} bytes): only the first "
                f"{self.limits.classify_bytes} bytes were checked"
            )
        model_status = "none" if scores is None else scores.status
        findings: list[Finding] = []
        must_review = status != "ok"
        if scores is not None and model_status in ("ok", "too_long"):
            # The classifier's own length limit is below ours: it scored the start, the rules
            # read the rest; only the policy's `limits` make an item "too long".
            findings += self._model_findings(scores, model_version)
            if model_status == "too_long":
                notes.append("the classifier scored its first part")
        elif model_status in UNREADABLE_SCRIPT:
            must_review = True
            notes.append("the classifier has no model for its script: a person should read it")
        elif model_status not in NOTHING_TO_READ and model_status != "none":
            status, must_review = "error", True
            notes.append(f"the classifier could not read it (status {model_status!r})")
        findings += rule_findings(checked, on_topic_terms, self.on_topic_terms)
        if personal is None:
            personal = find_personal_data(checked, public_numbers=self._public)
        findings += personal

        point = self._operating_point(scores)
        judged = [self._judge(finding, language, point) for finding in findings]
        order = list(CATEGORIES)
        judged.sort(
            key=lambda j: (
                SEVERITY[j.action],
                j.finding.score,
                -order.index(j.finding.category) if j.finding.category in order else -99,
            ),
            reverse=True,
        )
        top = judged[0] if judged else None
        action: Action = top.action if top else "allow"
        if must_review and action == "allow":
            action = "review"
        reason = _reason(action, top, judged[1:], notes, scores is None)
        return Decision(
            action=action,
            category=top.finding.category if top else None,
            score=top.finding.score if top else None,
            findings=findings,
            language=language,
            reason=reason,
            status=status,
            **base,
        )

    def _operating_point(self, scores: ModelScores | None) -> Mapping[str, float | None]:
        if scores is None or not self.use_model_operating_points:
            return {}
        return scores.operating_point

    def _model_findings(self, scores: ModelScores, model_version: str | None) -> list[Finding]:
        """The classifier's scores per category (the highest, where aliases meet), as findings;
        with an operating point, the calibrated abusive score is a finding of its own."""
        operated = bool(self._operating_point(scores))
        best: dict[str, float] = {}
        findings: list[Finding] = []
        source = f"model:{model_version or 'unknown'}"
        for name, value in scores.categories.items():
            category = name if name in CATEGORIES else self.model_aliases.get(name)
            if category is None:
                continue
            score = min(max(float(value), 0.0), 1.0)
            if score != score:  # NaN is skipped
                continue
            if operated and name == OPERATED_SCORE:
                floor = min(self.min_finding_score, scores.operating_point["review"] or 1.0)
                if score >= floor:
                    findings.append(Finding(category=category, score=score, source=source,
                                            detail=OPERATED_DETAIL))  # fmt: skip
            elif score > best.get(category, -1.0):
                best[category] = score
        findings += [
            Finding(category=c, score=s, source=source)
            for c, s in best.items()
            if s >= self.min_finding_score
        ]
        return findings

    def _judge(self, finding: Finding, language: str, point: Mapping[str, float | None]) -> _Judged:
        """The action one finding calls for, with the language's rule for model findings.

        With the model's operating point, its calibrated abusive score hides and reviews at the
        point's thresholds (the language's caps are then the point's business), and its other
        category scores are judged by their thresholds but only queue for review: their
        precision was not measured."""
        from_model = finding.source.startswith("model:")
        if from_model and finding.detail == OPERATED_DETAIL:
            return _judge_operated(finding, language, point)
        rule = cast("dict[str, CategoryRule]", self.categories).get(finding.category)
        if rule is None:
            return _Judged(finding, "allow", None, "")
        lang_rule = cast("dict[str, LanguageRule]", self.languages).get(language)
        if from_model and lang_rule and finding.category in lang_rule.categories:
            rule = lang_rule.categories[finding.category]
        action, threshold = rule.action_for(finding.score)
        note = ""
        cap: Action | None = lang_rule.max_action if from_model and lang_rule else None
        why = f"the model is less sure in {language}"
        if from_model and point and SEVERITY[action] > SEVERITY["review"]:
            cap, why = "review", "only the calibrated abusive score hides"
        if cap is not None and SEVERITY[action] > SEVERITY[cap]:
            note = f"would {action}, but {why}: {cap} at most"
            action = cap
        return _Judged(finding, action, threshold, note)


@dataclass(frozen=True)
class _Judged:
    finding: Finding
    action: Action
    threshold: Threshold | None
    note: str


# The classifier score judged at the model's operating point, and how its finding says so.
OPERATED_SCORE = "abusive"
OPERATED_DETAIL = "calibrated, at the model's operating point"


def _judge_operated(finding: Finding, language: str, point: Mapping[str, float | None]) -> _Judged:
    """The calibrated abusive score at the operating point of the item's language."""
    hide, review = point.get("hide"), point.get("review")
    where = f"operating point of the {language} route"
    if hide is not None and finding.score >= hide:
        return _Judged(finding, "hide", Threshold(score=max(hide, 1e-9), action="hide"), where)
    if review is not None and finding.score >= review:
        threshold = Threshold(score=max(review, 1e-9), action="review")
        return _Judged(finding, "review", threshold, f"{where}: doubtful, a person decides")
    return _Judged(finding, "allow", None, where)


def _reason(
    action: Action, top: _Judged | None, others: list[_Judged], notes: list[str], no_model: bool
) -> str:
    """The decision in words, for moderators and the audit log."""
    if top is None:
        head = f"{action}: nothing found"
    else:
        f = top.finding
        where = f"{f.source}" + (f", {f.detail}" if f.detail else "")
        if top.threshold is not None:
            head = f"{top.action}: {f.category} {f.score:.2f} ≥ {top.threshold.score:.2f} ({where})"
        else:
            head = f"allow: {f.category} {f.score:.2f} is below every threshold ({where})"
        if top.note:
            head += f"; {top.note}"
        if action != top.action:
            head = f"{action} ({head})"
    parts = [head]
    also = [f"{j.finding.category} {j.finding.score:.2f}" for j in others if j.action != "allow"]
    if also:
        parts.append("also " + ", ".join(also))
    parts += notes
    if no_model:
        parts.append("no classifier scores: rules only")
    return "; ".join(parts)
