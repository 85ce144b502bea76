"""Claims check: a figure someone claimed ("4 million views on Facebook") beside the measured
figure of the metric it most likely refers to, and their ratio.

A claim is read for three things: a number (with million, m, k, lakh, crore...), a platform
(YouTube, Facebook, the X Space, X, Instagram, or all of them) and a word for what was counted.
"views" are the platform's running view total (each platform's own definition: Facebook counts
a view after 3 seconds); "viewers", "watching", "listeners", "tuned in" and the like are
people present at once, whose best measure is the peak concurrent audience; "people reached"
and "unique" are unique viewers, which only bounds can answer. The report says which metric it
chose and why, so a reader can disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from jalsa.report.audience import AudienceSection
from jalsa.report.figures import Figure

MULTIPLIERS = {
    "thousand": 1e3,
    "k": 1e3,
    "lakh": 1e5,
    "lac": 1e5,
    "lakhs": 1e5,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "crore": 1e7,
    "billion": 1e9,
    "bn": 1e9,
}
_NUMBER = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)*)\s*(?P<mult>thousand|lakhs?|lac|million|crore|billion|mn|bn|k|m)?\b",
    re.IGNORECASE,
)
# Most specific first: "x space" before "x".
PLATFORMS = (
    ("x_space", re.compile(r"\b(x|twitter)\s*spaces?\b|\bspaces?\b", re.I)),
    ("youtube", re.compile(r"\byou\s*tube\b|\byt\b", re.I)),
    ("facebook", re.compile(r"\bface\s*book\b|\bfb\b|\bmeta\b", re.I)),
    ("instagram", re.compile(r"\binstagram\b|\binsta\b|\big\b", re.I)),
    ("x", re.compile(r"\bx\b|\btwitter\b", re.I)),
    ("all", re.compile(r"\b(total|combined|overall|all platforms|across)\b", re.I)),
)
UNIQUE_WORDS = re.compile(r"\b(unique|reach|reached|different people)\b", re.I)
VIEW_WORDS = re.compile(r"\b(views?|viewed|plays?|impressions)\b", re.I)
PRESENT_WORDS = re.compile(
    r"\b(viewers?|watch(ing|ed)?|listen(ers?|ing)?|tuned in|participants?|joined|live|"
    r"concurrent|attend(ees|ance|ed)?|people)\b",
    re.I,
)
PLATFORM_NAMES = {
    "youtube": "YouTube",
    "facebook": "Facebook",
    "x_space": "the X Space",
    "x": "X",
    "instagram": "Instagram",
    "all": "all platforms",
}


class ClaimCheck(BaseModel):
    claim: str = Field(description="As the user entered it.")
    claimed: float | None = Field(description="The number read from it.")
    platform: str | None
    counted: str | None = Field(description="views, present (at once) or unique.")
    measured: Figure | None = Field(description="The figure it is compared with.")
    ratio: float | None = Field(description="claimed / measured.")
    explanation: str


def parse_number(text: str) -> float | None:
    """The first number of the claim, with its multiplier: '4 million', '1.4m', '2,500,000',
    '2.5 lakh'."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    digits = match["n"]
    if re.fullmatch(r"\d{1,3}(,\d{2,3})+", digits):  # 2,500,000 or 25,00,000 (lakh grouping)
        digits = digits.replace(",", "")
    value = float(digits.replace(",", "."))
    mult = (match["mult"] or "").lower()
    return value * MULTIPLIERS.get(mult, 1.0)


def _platform(text: str) -> str | None:
    for name, pattern in PLATFORMS:
        if pattern.search(text):
            return name
    return None


def _counted(text: str, platform: str | None) -> str:
    if UNIQUE_WORDS.search(text):
        return "unique"
    if VIEW_WORDS.search(text) and platform not in ("x_space",):
        return "views"
    if PRESENT_WORDS.search(text) or platform == "x_space":
        return "present"
    return "views"


@dataclass
class _Choice:
    figure: Figure | None
    why: str


def _sum(figures: list[Figure], key: str, label: str, why_more: str) -> Figure | None:
    measured = [f for f in figures if f.value is not None]
    if not measured:
        return figures[0] if figures else None
    if len(measured) == 1:
        return measured[0]
    total = measured[0].model_copy(
        update={
            "key": key,
            "label": label,
            "value": sum(f.value or 0 for f in measured),
            "at": None,
            "definition": f"{measured[0].definition} Summed over {len(measured)} streams: "
            f"{why_more}",
        }
    )
    return total


def _choose(audience: AudienceSection, platform: str, counted: str) -> _Choice:
    name = PLATFORM_NAMES[platform]
    if platform == "all":
        by_key = {f.key: f for f in audience.combined + audience.reach}
        if counted == "unique":
            return _Choice(
                by_key.get("reach.upper_bound"),
                "people reached across platforms: the upper bound of unique reach",
            )
        return _Choice(
            by_key.get("combined.sum_of_peaks"),
            "an audience across platforms: the sum of the platforms' peaks (an upper bound of "
            "the largest simultaneous audience)",
        )
    streams = [s for s in audience.streams if s.platform == platform or s.kind == platform]
    if not streams:
        return _Choice(None, f"the event has no {name} stream")
    figures = [f for s in streams for f in s.figures]
    if counted == "unique":
        unique = [f for f in figures if f.key.endswith("_unique")]
        if unique:
            return _Choice(
                _sum(
                    unique,
                    f"claims.{platform}.unique",
                    f"{name} unique viewers",
                    "different videos' unique viewers may overlap",
                ),
                f"unique viewers: {name}'s own count of people who viewed",
            )
        return _Choice(None, f"{name} reports no unique viewers; no figure can check this")
    if counted == "views":
        views = [
            f
            for f in figures
            if f.key.split(".", 2)[-1] in ("youtube.view_count", "facebook.total_video_views")
        ]
        if views:
            return _Choice(
                _sum(
                    views,
                    f"claims.{platform}.views",
                    f"{name} views",
                    "views of different videos add up",
                ),
                f"'views': {name}'s running total of views, by {name}'s own definition",
            )
    peaks = [f for f in figures if f.key.endswith(".peak")]
    return _Choice(
        _sum(
            peaks,
            f"claims.{platform}.peak",
            f"{name} peak concurrent audience",
            "an upper bound, as the peaks need not coincide",
        ),
        f"people present at once on {name}: its peak concurrent audience, the highest number "
        "the platform reported watching at one time",
    )


def check_claim(text: str, audience: AudienceSection) -> ClaimCheck:
    claimed = parse_number(text)
    platform = _platform(text)
    if claimed is None or platform is None:
        missing = "a number" if claimed is None else "a platform (YouTube, Facebook, X Space...)"
        return ClaimCheck(
            claim=text,
            claimed=claimed,
            platform=platform,
            counted=None,
            measured=None,
            ratio=None,
            explanation=f"could not read {missing} in the claim",
        )
    counted = _counted(text, platform)
    choice = _choose(audience, platform, counted)
    figure = choice.figure
    ratio = None
    explanation = f"read as {PLATFORM_NAMES[platform]}, {counted}: compared with {choice.why}."
    if figure is None:
        explanation = f"read as {PLATFORM_NAMES[platform]}, {counted}: {choice.why}."
    elif figure.value is None:
        explanation += f" Not measured: {figure.not_measured}."
    elif figure.value > 0:
        ratio = round(claimed / figure.value, 2)
    return ClaimCheck(
        claim=text,
        claimed=claimed,
        platform=platform,
        counted=counted,
        measured=figure,
        ratio=ratio,
        explanation=explanation,
    )
