"""Rule findings the classifier does not give: spam and scams, threats, and off-topic promotion.

Every lexicon is here, small and readable, in English, Roman Urdu and Urdu. Rules only give
findings with a score; the policy's thresholds turn them into actions (one place decides).
Their scores are modest on purpose: a cue word is evidence, not proof, so most rule findings
queue an item for review rather than hide it. Chanting the same slogan again and again is what a
rally's live chat looks like, so repetition alone is never spam here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jalsa.platforms.inbox_record import Finding


def _any(*patterns: str) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of `patterns` as whole words."""
    return re.compile(r"(?i)(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")


# --- spam and scams -------------------------------------------------------------------------

URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b(?:bit\.ly|wa\.me|t\.me|tinyurl\.com)/\S+")
GROUP_LINK = re.compile(r"(?i)\b(?:chat\.whatsapp\.com|wa\.me|t\.me|telegram\.me)/\S+")
GROUP_PROMOTION = _any(
    r"join\s+(?:my|our|the)\s+(?:whats\s*app|telegram)\s+(?:group|channel)",
    r"(?:whats\s*app|telegram)\s+(?:group|channel)\s+(?:join|jo[ai]n\s+kar[eo]i?n?)",
    r"واٹس\s*ایپ\s+گروپ",
    r"ٹیلی\s*گرام\s+(?:گروپ|چینل)",
)
MONEY_CHANNEL = _any(
    r"jazz\s*cash",
    r"easy\s*paisa",
    r"easypaisa",
    r"bank\s+account",
    r"account\s+(?:number|no)",
    r"جاز\s*کیش",
    r"ایزی\s*پیسہ",
)
# No "jeet"/"winner": "PTI jeetay gi" is a slogan, not a lottery.
PRIZE = _any(
    r"lottery",
    r"lucky\s+draw",
    r"prize",
    r"you\s+(?:have\s+)?won",
    r"in[a']?a+m",
    r"لاٹری",
    r"انعام",
    r"قرعہ\s+اندازی",
)
MONEY_REQUEST = _any(
    r"send\s+(?:money|rs\.?|rupees|payment)",
    r"(?:paise|pese|raqam|fee)\s+(?:bhej[oe]|bhejain|bhejein|jama\s+kar[aeo]\w*)",
    r"registration\s+fee",
    r"رقم\s+بھیج",
    r"پیسے\s+بھیج",
)

SPAM_SCORES = {
    "scam": 0.9,  # a money channel with a prize or a request for money: hidden by default
    "group_invite": 0.7,
    "many_links": 0.75,  # three links or more
    "two_links": 0.55,
    "prize": 0.5,
    "money_request": 0.5,
}


def spam_findings(text: str) -> list[Finding]:
    """Scams, group promotion and link dumps; one finding per rule that fires."""
    found: list[tuple[str, str]] = []
    money = MONEY_CHANNEL.search(text) or MONEY_REQUEST.search(text)
    prize = PRIZE.search(text)
    if money and (prize or MONEY_REQUEST.search(text)):
        found.append(("scam", f"money request ('{money.group()}') with a prize or payment cue"))
    elif prize:
        found.append(("prize", f"prize cue '{prize.group()}'"))
    elif money:
        found.append(("money_request", f"payment cue '{money.group()}'"))
    group = GROUP_LINK.search(text) or GROUP_PROMOTION.search(text)
    if group:
        found.append(("group_invite", "WhatsApp/Telegram group or channel promotion"))
    links = len(URL.findall(text))
    if links >= 3:
        found.append(("many_links", f"{links} links"))
    elif links == 2:
        found.append(("two_links", "2 links"))
    return [
        Finding(category="spam", score=SPAM_SCORES[name], source=f"rule:spam:{name}", detail=d)
        for name, d in found
    ]


# --- threats (the "harassment" category) ----------------------------------------------------

# A threat addressed to someone: review (0.7 is above the default review threshold, below hide).
THREATS = _any(
    r"(?:i\s*(?:will|'ll)|we\s*(?:will|'ll)|gonna)\s+(?:kill|shoot|murder|hang|beat)\s+(?:you|u|him|her|them)",
    r"kill\s+(?:you|u)",
    r"you(?:'re|\s+are)\s+dead",
    r"(?:we|i)\s+know\s+where\s+you\s+live",
    r"maa?r\s+d(?:u|oo)n?g[aei]",
    r"maa?r\s+d(?:e|ai)n?ge",
    r"jaan\s+se\s+maa?r\w*",
    r"goli\s+maa?r\w*",
    r"(?:tujhe|tumhe|tumhein|tuje|tmhe)\s+dekh\s+l(?:u|oo)n?g[aei]",
    r"zinda\s+nahi\s+ch(?:o|h)or\w*",
    r"utha\s+l(?:e|ai)n?ge",
    r"جان\s+سے\s+مار\w*",
    r"مار\s+دوں\s+گ[ای]",
    r"مار\s+دیں\s+گے",
    r"گولی\s+مار\w*",
    r"دیکھ\s+لوں\s+گ[ای]",
    r"زندہ\s+نہیں\s+چھوڑ\w*",
    r"اٹھا\s+لیں\s+گے",
)
# A violent word on its own is often news ("qatl ka muqadma"): recorded, not acted on by default.
VIOLENT_WORDS = _any(r"qatl", r"katl", r"murder", r"قتل")

THREAT_SCORE = 0.7
VIOLENT_WORD_SCORE = 0.4


def threat_findings(text: str) -> list[Finding]:
    """Threats and violent words, as evidence for the harassment category."""
    if match := THREATS.search(text):
        return [_threat(THREAT_SCORE, "rule:threat", f"threat cue '{match.group()}'")]
    if match := VIOLENT_WORDS.search(text):
        return [_threat(VIOLENT_WORD_SCORE, "rule:violent_word", f"violent word '{match.group()}'")]
    return []


def _threat(score: float, source: str, detail: str) -> Finding:
    return Finding(category="harassment", score=score, source=source, detail=detail)


# --- off-topic ------------------------------------------------------------------------------

PROMOTION = _any(
    r"subscribe",
    r"follow\s+(?:me|my|us|back)",
    r"check\s+(?:out\s+)?my",
    r"visit\s+my",
    r"(?:my|mera|meray|mere)\s+(?:channel|page|shop|store|profile)",
    r"dm\s+(?:me|for)",
    r"order\s+now",
    r"discount",
    r"for\s+sale",
    r"sale\s+offer",
    r"earn\s+money",
    r"online\s+earning",
    r"(?:ghar\s+baith[ae]\s+)?paise\s+kama\w*",
    r"سبسکرائب",
    r"فالو\s+کری?ں",
)
OFF_TOPIC_SCORE = 0.6
SHORT = 280  # characters: a long comment with no event term is more likely a real opinion


def off_topic_finding(
    text: str, event_terms: Iterable[str], general_terms: Iterable[str] = ()
) -> Finding | None:
    """A short promotion that shares no term with the event. Conservative: without the event's
    terms, for a long text, with any event or general term present, or without a promotion
    phrase (a link alone is often the stream itself), no finding."""
    terms = [t.strip().lstrip("#").casefold() for t in event_terms]
    terms = [t for t in terms if t]
    if not terms or len(text) > SHORT:
        return None
    terms += [t.strip().lstrip("#").casefold() for t in general_terms if t.strip()]
    folded = text.casefold()
    if any(term in folded for term in terms):
        return None
    cue = PROMOTION.search(text)
    if not cue:
        return None
    return Finding(
        category="off_topic",
        score=OFF_TOPIC_SCORE,
        source="rule:off_topic",
        detail=f"promotion ('{cue.group()}') and none of the event's terms",
    )


def rule_findings(
    text: str, event_terms: Iterable[str] = (), general_terms: Iterable[str] = ()
) -> list[Finding]:
    """All rule findings for one text. `event_terms`: the event's hashtags and keywords;
    `general_terms`: the policy's always-on-topic words (used only with the event's)."""
    off_topic = off_topic_finding(text, event_terms, general_terms)
    return [*spam_findings(text), *threat_findings(text), *([off_topic] if off_topic else [])]
