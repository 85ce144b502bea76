"""The post-event report on the demo scenario: every figure is recomputed here, independently,
from the raw rows (sqlite3 and pyarrow, not jalsa's code) and must be equal; the PDF renders
(a page turned into an image is not blank); the press figures of 2023 are checked as claims;
running it again gives identical figures; a missing source says "not measured", never zero."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds
import pytest

from jalsa.config import Settings, load_settings
from jalsa.conversation.analysis import Voices
from jalsa.report.build import Report, build_report
from jalsa.report.conversation import _section
from jalsa.report.render import render, to_csv, to_html
from jalsa.store import Store
from needs import need
from testkit import DemoRun

pytestmark = pytest.mark.integration

PRESS = [
    "4 million views on Facebook",
    "1.4 million views on Facebook",
    "5 million listeners on the X Space",
    "1.5 million tuned in to the X Space",
]
INTERVALS = {"youtube": 30.0, "facebook": 15.0, "x_space": 15.0, "instagram": 60.0}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> DemoRun:
    assert demo_run.done.returncode == 0, demo_run.done.stderr
    return demo_run


@pytest.fixture(scope="module")
def settings(demo: DemoRun) -> Settings:
    return load_settings(database_url=demo.database_url, data_dir=demo.data_dir)


@pytest.fixture(scope="module")
def report(demo: DemoRun, settings: Settings) -> Report:
    store = Store(demo.database_url)
    try:
        return build_report(store, settings, "demo", claims=PRESS)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def raw(demo: DemoRun) -> dict[str, Any]:
    """The demo's rows as they are stored, read without jalsa."""
    db = sqlite3.connect(demo.data_dir / "demo" / "jalsa-demo.db")
    try:
        start, end = db.execute(
            "SELECT starts_at, ends_at FROM events WHERE slug='demo'"
        ).fetchone()
        streams = {
            sid: kind for sid, kind in db.execute("SELECT id, kind FROM streams ORDER BY id")
        }
        samples: dict[tuple[int, str], list[tuple[datetime, int]]] = defaultdict(list)
        for sid, metric, at, value in db.execute(
            "SELECT stream_id, metric, observed_at, value FROM samples ORDER BY observed_at"
        ):
            samples[(sid, metric)].append((_at(at), value))
        incidents = db.execute(
            "SELECT id, started_at, ended_at, platforms FROM watch_incidents"
        ).fetchall()
    finally:
        db.close()
    return {
        "start": _at(start),
        "end": _at(end),
        "streams": streams,
        "samples": samples,
        "incidents": incidents,
    }


def figure(report: Report, key: str) -> Any:
    found = {f.key: f for _, f in report.figures()}
    return found[key]


AUDIENCE = {
    "youtube": "youtube.concurrent_viewers",
    "facebook": "facebook.live_views",
    "x_space": "x_space.participant_count",
}


def test_every_audience_figure_equals_a_computation_from_the_raw_samples(
    report: Report, raw: dict[str, Any]
) -> None:
    peaks = []
    for sid, kind in raw["streams"].items():
        if kind in AUDIENCE:
            points = raw["samples"][(sid, AUDIENCE[kind])]
            best = max(v for _, v in points)
            first_at = min(at for at, v in points if v == best)
            peak = figure(report, f"audience.{sid}.peak")
            assert (peak.value, peak.at) == (best, first_at)
            assert peak.source.count == len(points)
            during = [v for at, v in points if raw["start"] <= at <= raw["end"]]
            average = figure(report, f"audience.{sid}.average")
            assert average.value == pytest.approx(sum(during) / len(during), abs=0.05)
            peaks.append(best)
        for metric in (
            "youtube.view_count",
            "facebook.total_video_views",
            "facebook.total_video_views_unique",
            "x_space.subscriber_count",
            "instagram.live_comments",
        ):
            if (sid, metric) in raw["samples"]:
                last_at, last = raw["samples"][(sid, metric)][-1]
                total = figure(report, f"audience.{sid}.{metric}")
                assert (total.value, total.at) == (last, last_at)
        if kind == "instagram":
            peak = figure(report, f"audience.{sid}.peak")
            assert peak.value is None and "no viewer count" in (peak.not_measured or "")
    assert figure(report, "combined.sum_of_peaks").value == sum(peaks)
    # The peak of the simultaneous sum: at every sample time, each stream's latest reading
    # if it is at most three poll intervals old.
    readings = sorted(
        (at, sid, v)
        for sid, kind in raw["streams"].items()
        if kind in AUDIENCE
        for at, v in raw["samples"][(sid, AUDIENCE[kind])]
    )
    latest: dict[int, tuple[datetime, int]] = {}
    best_sum, best_at = -1, None
    for at, sid, value in readings:
        latest[sid] = (at, value)
        total = sum(
            v
            for other, (seen, v) in latest.items()
            if at - seen <= timedelta(seconds=3 * INTERVALS[raw["streams"][other]])
        )
        if total > best_sum:
            best_sum, best_at = total, at
    combined = figure(report, "combined.peak_of_sum")
    assert (combined.value, combined.at) == (best_sum, best_at)
    # Unique reach: only Facebook counts unique viewers, so a lower bound and no upper bound.
    uniques = [
        raw["samples"][(sid, "facebook.total_video_views_unique")][-1][1]
        for sid, kind in raw["streams"].items()
        if kind == "facebook"
    ]
    assert figure(report, "reach.lower_bound").value == max(uniques)
    upper = figure(report, "reach.upper_bound")
    assert upper.value is None and "no upper bound" in (upper.not_measured or "")


def _independent_loss(
    pre: list[tuple[datetime, int]], during: list[tuple[datetime, int]], start: datetime
) -> dict[str, float]:
    observed = float(np.mean([v for _, v in during]))
    recent = [v for at, v in pre if (start - at) <= timedelta(minutes=5)]
    level = float(np.mean(recent))
    xs = np.array([(at - start).total_seconds() / 60 for at, _ in pre])
    ys = np.array([v for _, v in pre], dtype=float)
    slope, intercept = np.polyfit(xs, ys, 1)
    span = (pre[-1][0] - pre[0][0]).total_seconds() / 60
    carried = [
        max(0.0, intercept + slope * min((at - start).total_seconds() / 60, span))
        for at, _ in during
    ]
    ways = [level - observed, float(np.mean(carried)) - observed]
    sd = float(np.sqrt(np.sum((ys - (intercept + slope * xs)) ** 2) / (len(xs) - 2)))
    se = sd / np.sqrt(len(pre))
    return {"lost": float(np.mean(ways)), "low": min(ways) - 2 * se, "high": max(ways) + 2 * se}


def test_the_audience_lost_in_the_incident_equals_an_independent_computation(
    report: Report, raw: dict[str, Any]
) -> None:
    (incident_id, started, ended, platforms_json) = raw["incidents"][0]
    assert len(report.disruption.incidents) == len(raw["incidents"]) == 1
    start = max(_at(started), raw["start"])
    end = min(_at(ended), raw["end"])
    platforms = set(json.loads(platforms_json))
    incident = report.disruption.incidents[0]
    assert incident.incident.id == incident_id and incident.incident.evidence_count > 0
    checked = 0
    for sid, kind in raw["streams"].items():
        if kind not in AUDIENCE or {"x_space": "x"}.get(kind, kind) not in platforms:
            continue
        points = raw["samples"][(sid, AUDIENCE[kind])]
        pre = [p for p in points if start - timedelta(minutes=30) <= p[0] < start]
        during = [p for p in points if start <= p[0] <= end]
        expected = _independent_loss(pre, during, start)
        lost = figure(report, f"disruption.{incident_id}.{sid}")
        assert lost.value == pytest.approx(expected["lost"], abs=0.1)
        assert lost.low == pytest.approx(expected["low"], abs=0.1)
        assert lost.high == pytest.approx(expected["high"], abs=0.1)
        minutes = (end - start).total_seconds() / 60
        viewer_minutes = figure(report, f"disruption.{incident_id}.{sid}.viewer_minutes")
        assert viewer_minutes.value == pytest.approx(expected["lost"] * minutes, abs=1)
        checked += 1
    assert checked == 3  # YouTube, Facebook and the X Space were all restricted
    # Every platform was restricted: nothing was unaffected to compare with, and it says so.
    assert "no unaffected platform" in lost.definition


def test_the_conversation_figures_equal_a_count_of_the_posts(report: Report, demo: DemoRun) -> None:
    table = ds.dataset(str(demo.data_dir / "conversation" / "demo" / "posts")).to_table(
        columns=["author_id", "hashtags"]
    )
    assert figure(report, "conversation.posts").value == table.num_rows
    authors = {a for a in table.column("author_id").to_pylist() if a is not None}
    assert figure(report, "conversation.authors").value == len(authors)
    tags: Counter[str] = Counter()
    for post_tags in table.column("hashtags").to_pylist():
        tags.update(set(post_tags or []))
    ((top_tag, top_posts),) = tags.most_common(1)
    first = report.conversation.hashtags[0]
    assert (first.tag, first.posts.value) == (top_tag, top_posts)
    coordinated = figure(report, "conversation.coordination.any")
    assert 0 <= (coordinated.value or 0) <= 1
    assert report.conversation.voices == []  # no voices given: said, not zero
    assert "share of voice: not measured" in (report.conversation.note or "")


def test_the_press_figures_of_2023_are_read_and_compared(report: Report) -> None:
    checks = {c.claim: c for c in report.claims}
    facebook_views = [checks[PRESS[0]], checks[PRESS[1]]]
    for check in facebook_views:
        assert check.platform == "facebook" and check.counted == "views"
        assert check.measured is not None and check.measured.key.endswith(
            "facebook.total_video_views"
        )
        assert check.ratio == pytest.approx(check.claimed / check.measured.value, abs=0.01)
    assert facebook_views[0].claimed == 4_000_000 and facebook_views[1].claimed == 1_400_000
    space = [checks[PRESS[2]], checks[PRESS[3]]]
    for check in space:
        assert check.platform == "x_space" and check.counted == "present"
        assert check.measured is not None and check.measured.key.endswith(".peak")
        assert "peak concurrent" in check.explanation
    assert space[0].claimed == 5_000_000 and space[1].claimed == 1_500_000
    # Both press figures of a pair are checked against the same measured figure.
    assert facebook_views[0].measured == facebook_views[1].measured
    assert space[0].ratio / space[1].ratio == pytest.approx(5 / 1.5, rel=0.01)


def test_the_report_is_reproducible_and_every_figure_has_a_source(
    demo: DemoRun, settings: Settings, report: Report
) -> None:
    _section.cache_clear()  # computed again, not remembered
    store = Store(demo.database_url)
    try:
        again = build_report(store, settings, "demo", claims=PRESS)
    finally:
        store.dispose()
    assert again.model_dump_json() == report.model_dump_json()
    assert to_csv(again) == to_csv(report)
    for _, f in report.figures():
        assert f.definition and f.source.rule and f.source.data, f.key
        assert (f.value is None) == (f.not_measured is not None), f.key
    html = to_html(report)
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "font-family" in style and "&#34;" not in style  # inlined as CSS, not escaped
    for _, f in report.figures():
        if f.value is not None:
            assert f'href="#src-{f.key}"' in html or f.key.startswith("conversation.hashtag")


def test_the_pdf_renders_a_page_that_is_not_blank(
    report: Report, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import pypdfium2

    need("Urdu fonts")
    need("Pango")
    path = tmp_path / "report.pdf"
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        path.write_bytes(render(report, "pdf"))
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # the CSS is all read
    pdf = pypdfium2.PdfDocument(str(path))
    assert len(pdf) >= 3
    image = pdf[0].render(scale=1).to_pil().convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:128]) / sum(histogram)
    assert 0.005 < dark < 0.5, f"page 1 is {dark:.1%} dark"
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Peak YouTube concurrent viewers" in text and "not measured" in text
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    image.save(artifacts / "report-page-1.png")


def test_without_posts_or_incidents_the_report_says_not_measured(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    env = {"JALSA_DATABASE_URL": url, "JALSA_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    jalsa = [sys.executable, "-m", "jalsa.cli"]
    subprocess.run(
        [
            *jalsa,
            "event",
            "create",
            "Quiet rally",
            "--starts",
            "2026-12-01 20:00",
            "--duration",
            "1h",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [*jalsa, "report", "quiet-rally", "--format", "json", "-o", str(tmp_path / "r.json")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads((tmp_path / "r.json").read_text())
    assert body["conversation"]["measured"] is False
    assert "not measured" in body["conversation"]["note"]
    assert body["disruption"]["measured"] is False
    assert "not measured" in body["disruption"]["note"]
    assert (tmp_path / "r.json.provenance.json").exists()
    html = subprocess.run(
        [*jalsa, "report", "quiet-rally", "-o", str(tmp_path / "r.html")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert html.returncode == 0, html.stderr
    page = (tmp_path / "r.html").read_text()
    assert "not measured: no posts were collected" in page
    assert "0 posts" not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "no-such-event"], "no event 'no-such-event'"),
        (["report", "x", "--format", "docx"], "unknown format 'docx'"),
        (["report", "x", "--voice", "PTI"], "NAME=#hashtag"),
    ],
)
def test_bad_report_requests_get_one_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = {
        "JALSA_DATABASE_URL": f"sqlite:///{tmp_path / 'jalsa.db'}",
        "JALSA_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "jalsa.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr


def test_share_of_voice_equals_a_count_of_the_posts(
    demo: DemoRun, settings: Settings, report: Report
) -> None:
    first, second = (h.tag for h in report.conversation.hashtags[:2])
    voices = Voices.parse([f"A=#{first}", f"B=#{second}"])
    store = Store(demo.database_url)
    try:
        with_voices = build_report(store, settings, "demo", voices=voices)
    finally:
        store.dispose()
    table = ds.dataset(str(demo.data_dir / "conversation" / "demo" / "posts")).to_table(
        columns=["hashtags"]
    )
    counts: Counter[str] = Counter()
    for tags in table.column("hashtags").to_pylist():
        present = set(tags or [])
        counts["A"] += first in present
        counts["B"] += second in present
    total = counts["A"] + counts["B"]
    shares = {f.key: f.value for f in with_voices.conversation.voices}
    assert shares == {
        "conversation.voice.A": round(counts["A"] / total, 4),
        "conversation.voice.B": round(counts["B"] / total, 4),
    }
    assert with_voices.conversation.note is None
