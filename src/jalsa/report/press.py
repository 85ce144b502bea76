"""A short press-release draft in English and Urdu that uses only measured figures: a figure
that was not measured is left out, never guessed, and the combined figure is always given with
what it is not (a count of people)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jalsa.timeutil import show
from jalsa.watch.incidents import PLATFORM_NAMES

if TYPE_CHECKING:
    from jalsa.report.build import Report

PLATFORM_UR = {
    "youtube": "یوٹیوب",
    "facebook": "فیس بک",
    "x": "ایکس",
    "instagram": "انسٹاگرام",
}


def _n(value: float) -> str:
    return f"{value:,.0f}"


def press_release(report: Report) -> dict[str, str]:
    event, tz = report.event, report.event.timezone
    day = show(event.starts_at, tz, "%d %B %Y")
    en = [f"{event.name}, {day}: figures measured by jalsa."]
    ur = [f"{event.name}، {show(event.starts_at, tz, '%d-%m-%Y')}: جلسہ کے ناپے گئے اعداد و شمار۔"]
    platforms = [s.platform for s in report.audience.streams]
    for stream in report.audience.streams:
        peak = next((f for f in stream.figures if f.key.endswith(".peak")), None)
        if peak is None or peak.value is None or peak.at is None:
            continue
        at = show(peak.at, tz, "%H:%M")
        en.append(
            f"On {stream.label}, up to {_n(peak.value)} {peak.unit} at the same time "
            f"(at {at} {tz}), as the platform counts them."
        )
        platform = PLATFORM_UR.get(stream.platform, stream.label)
        if platforms.count(stream.platform) > 1:  # name the stream only when there are several
            platform = f"{platform} ({stream.label})"
        ur.append(
            f"{platform} پر ایک ہی وقت میں زیادہ سے زیادہ {_n(peak.value)} "
            f"افراد براہ راست دیکھ رہے تھے ({at} بجے)۔"
        )
    combined = {f.key: f for f in report.audience.combined}
    total = combined.get("combined.sum_of_peaks")
    if total is not None and total.value is not None:
        en.append(
            f"Added together, the peaks of the platforms that count viewers come to "
            f"{_n(total.value)}: an upper bound of their largest audience at one moment, not a "
            "count of people (someone watching on two platforms counts twice)."
        )
        ur.append(
            f"تمام پلیٹ فارمز کی بلند ترین تعداد کا مجموعہ {_n(total.value)} ہے؛ یہ ایک ہی وقت "
            "کے ناظرین کی بالائی حد ہے، افراد کی گنتی نہیں (دو پلیٹ فارمز پر دیکھنے والا دو بار "
            "گنا جاتا ہے)۔"
        )
    figures = {f.key: f for f in report.conversation.figures}
    posts, authors = figures.get("conversation.posts"), figures.get("conversation.authors")
    if posts and authors and posts.value is not None and authors.value is not None:
        en.append(
            f"{_n(posts.value)} posts, chat messages and comments about the rally were "
            f"collected, from {_n(authors.value)} different accounts."
        )
        ur.append(
            f"جلسے کے بارے میں {_n(authors.value)} مختلف اکاؤنٹس سے {_n(posts.value)} پوسٹس، "
            "چیٹ پیغامات اور تبصرے جمع کیے گئے۔"
        )
    incidents = report.disruption.incidents
    if incidents:
        first = incidents[0]
        start = show(first.window_start, tz, "%H:%M")
        names = ", ".join(PLATFORM_NAMES.get(p, p) for p in first.incident.platforms)
        en.append(
            f"Volunteers' measurements recorded {len(incidents)} internet disruption(s) during "
            f"the event, the first from {start} {tz}, affecting {names}."
        )
        ur.append(
            f"رضاکاروں کی پیمائشوں نے جلسے کے دوران انٹرنیٹ میں {len(incidents)} رکاوٹیں ریکارڈ "
            f"کیں، پہلی {start} بجے سے ({names})۔"
        )
    en.append("Every figure's definition and source are in the full report.")
    ur.append("ہر عدد کی تعریف اور ماخذ مکمل رپورٹ میں درج ہے۔")
    return {"en": " ".join(en), "ur": " ".join(ur)}
