"""Claims check: a figure someone claimed ("4 million views on Facebook") beside the measured
figure of the metric it most likely refers to, and their ratio.

A claim, in English or Urdu ("فیس بک پر 40 لاکھ ویوز"), is read for three things: a number
(with million, m, k, lakh, crore, لاکھ, کروڑ...; Urdu digits too), a platform
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
from jalsa.report.figures import Figure, Source

MULTIPLIERS = {
    "thousand": 1e3,
    "k": 1e3,
    "lakh": 1e5,
    "lakhs": 1e5,
    "lac": 1e5,
    "million": 1e6,
    "mil": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "crore": 1e7,
    "crores": 1e7,
    "billion": 1e9,
    "bn": 1e9,
    # Urdu
    "ہزار": 1e3,
    "لاکھ": 1e5,
    "ملین": 1e6,
    "کروڑ": 1e7,
    "ارب": 1e9,
}
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<n>\d[\d.,]*)\s*"
    r"(?P<mult>thousand|lakhs?|lac|million|mil|mn|crores?|billion|bn|k|m|ہزار|لاکھ|ملین|کروڑ|ارب)?"
    r"\b",
    re.IGNORECASE,
)
# How the digits may be written: 4,000,000 (thousands), 40,00,000 (lakh grouping), 1,234.5,
# 1.000.000 (dots for thousands), 1.4 and 1,5 (a decimal point or comma).
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?|\d{1,2}(,\d{2})*,\d{3}")
_DOT_GROUPED = re.compile(r"\d{1,3}(\.\d{3}){2,}")
_DECIMAL = re.compile(r"\d+([.,]\d+)?")
# Most specific first: "x space" before "x".
PLATFORMS = (
    (
        "x_space",
        re.compile(r"\b(x|twitter)\s*spaces?\b|\bspaces?\b|((ایکس|ٹوئٹر|ٹویٹر)\s*)?ا?سپیس", re.I),
    ),
    ("youtube", re.compile(r"\byou\s*tube\b|\byt\b|یو\s*ٹیوب", re.I)),
    ("facebook", re.compile(r"\bface\s*book\b|\bfb\b|\bmeta\b|فیس\s*بک", re.I)),
    ("instagram", re.compile(r"\binstagram\b|\binsta\b|\big\b|انسٹا(گرام)?", re.I)),
    ("x", re.compile(r"\bx\b|\btwitter\b|ایکس|ٹوئٹر|ٹویٹر", re.I)),
    ("all", re.compile(r"\b(total|combined|overall|all platforms|across)\b|مجموعی", re.I)),
)
UNIQUE_WORDS = re.compile(r"\b(unique|reach|reached|different people)\b|منفرد|رسائی", re.I)
VIEW_WORDS = re.compile(r"\b(views?|viewed|plays?|impressions)\b|ویوز|ویو", re.I)
PRESENT_WORDS = re.compile(
    r"\b(viewers?|watch(ing|ed)?|listen(ers?|ing)?|tuned in|participants?|joined|live|"
    r"concurrent|attend(ees|ance|ed)?|people)\b|ناظرین|سامعین|لوگ|افراد|شرکاء",
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


def _value(digits: str) -> float | None:
    if _GROUPED.fullmatch(digits):
        value = float(digits.replace(",", ""))
    elif _DOT_GROUPED.fullmatch(digits):
        value = float(digits.replace(".", ""))
    elif _DECIMAL.fullmatch(digits):
        value = float(digits.replace(",", "."))
    else:
        return None
    return value if value < 1e15 else None  # no audience is a quadrillion: not a count


def parse_number(text: str) -> float | None:
    """The claimed number, with its multiplier: '4 million', '1.4m', '2,500,000',
    '25,00,000', '2.5 lakh'. A number with a multiplier wins over one without, and a bare
    year (2023) is not a claim; None when no number can be read."""
    found = []
    for match in _NUMBER.finditer(text):
        value = _value(match["n"].rstrip(".,"))
        if value is None:
            continue
        mult = (match["mult"] or "").lower()
        if not mult and re.fullmatch(r"(19|20)\d\d", match["n"]):
            continue  # a year
        found.append((bool(mult), min(value * MULTIPLIERS.get(mult, 1.0), 1e18)))
    if not found:
        return None
    with_multiplier = [v for has, v in found if has]
    return with_multiplier[0] if with_multiplier else found[0][1]


def _platform(text: str) -> str | None:
    """The platform the claim names; "all" when it names several or speaks of a total."""
    named = []
    rest = text
    for name, pattern in PLATFORMS:
        if pattern.search(rest):
            named.append(name)
            rest = pattern.sub(" ", rest)  # "X Space" is not also "X"
    platforms = [n for n in named if n != "all"]
    if len(platforms) > 1 or (not platforms and "all" in named):
        return "all"
    return platforms[0] if platforms else None


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


VIEW_METRICS = ("youtube.view_count", "facebook.total_video_views")  # each platform's own "view"


def _sum(figures: list[Figure], key: str, label: str, why_more: str) -> Figure | None:
    """One figure for several streams' figures of a kind: the measured ones added up, with
    a source that says which streams went in and which had no value."""
    measured = [f for f in figures if f.value is not None]
    if not measured:
        return figures[0] if figures else None
    if len(measured) == 1 and len(figures) == 1:
        return measured[0]
    left_out = [f.label for f in figures if f.value is None]
    source = Source(
        data="; ".join(f.source.data for f in measured),
        endpoint="; ".join(sorted({f.source.endpoint for f in measured if f.source.endpoint}))
        or None,
        rule="the sum of: "
        + ", ".join(f"{f.label} ({f.key})" for f in measured)
        + (f"; not measured, so not included: {', '.join(left_out)}" if left_out else ""),
        since=min((f.source.since for f in measured if f.source.since), default=None),
        until=max((f.source.until for f in measured if f.source.until), default=None),
        count=sum(f.source.count or 0 for f in measured),
        count_of=measured[0].source.count_of,
    )
    return Figure(
        key=key,
        label=label,
        value=sum(f.value or 0 for f in measured),
        unit=measured[0].unit,
        definition=" ".join(dict.fromkeys(f.definition for f in measured))
        + f" Summed over {len(measured)} streams: {why_more}",
        source=source,
    )


def _views(figures: list[Figure]) -> list[Figure]:
    return [f for f in figures if f.key.split(".", 2)[-1] in VIEW_METRICS]


def _choose(audience: AudienceSection, platform: str, counted: str) -> _Choice:
    name = PLATFORM_NAMES[platform]
    if platform == "all":
        return _choose_all(audience, counted)
    streams = [s for s in audience.streams if s.platform == platform or s.kind == platform]
    if not streams:
        return _Choice(None, f"the event has no {name} stream")
    figures = [f for s in streams for f in s.figures]
    if counted == "unique":
        unique = [f for f in figures if f.key.endswith("_unique")]
        if not unique:
            return _Choice(None, f"{name} reports no unique viewers; no figure can check this")
        return _Choice(
            _sum(
                unique,
                f"claims.{platform}.unique",
                f"{name} unique viewers",
                "different videos' unique viewers may overlap",
            ),
            f"unique viewers: {name}'s own count of people who viewed",
        )
    if counted == "views":
        views = _views(figures)
        if not views:
            return _Choice(None, f"{name} reports no view count; no figure can check this")
        return _Choice(
            _sum(
                views,
                f"claims.{platform}.views",
                f"{name} views",
                "views of different videos add up",
            ),
            f"'views': {name}'s running total of views, by {name}'s own definition",
        )
    return _Choice(
        _sum(
            [f for f in figures if f.key.endswith(".peak")],
            f"claims.{platform}.peak",
            f"{name} peak concurrent audience",
            "an upper bound, as the peaks need not coincide",
        ),
        f"people present at once on {name}: its peak concurrent audience, the highest number "
        "the platform reported watching at one time",
    )


def _choose_all(audience: AudienceSection, counted: str) -> _Choice:
    by_key = {f.key: f for f in audience.combined + audience.reach}
    if counted == "unique":
        return _Choice(
            by_key.get("reach.upper_bound"),
            "people reached across platforms: the upper bound of unique reach",
        )
    if counted == "views":
        views = _views([f for s in audience.streams for f in s.figures])
        if not views:
            return _Choice(None, "no platform of the event reports a view count")
        return _Choice(
            _sum(
                views,
                "claims.all.views",
                "Views on all platforms",
                "each platform counts a view in its own way (a Facebook view is 3 seconds)",
            ),
            "views on every platform that counts them, added up (each by its own definition)",
        )
    return _Choice(
        by_key.get("combined.sum_of_peaks"),
        "an audience across platforms: the sum of the platforms' peaks (an upper bound of "
        "the largest simultaneous audience)",
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
    else:
        explanation += " The measured figure is 0, so there is no ratio."
    return ClaimCheck(
        claim=text,
        claimed=claimed,
        platform=platform,
        counted=counted,
        measured=figure,
        ratio=ratio,
        explanation=explanation,
    )
