"""The conversation part of the report, from the event's posts dataset (DuckDB in the process):
volume and unique authors, the top hashtags and when they spiked, share of voice (when voices
are given), and the share of the volume posted by accounts with signs of coordination. Every
figure names the measure's SQL it came from (`jalsa.conversation.measures`)."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jalsa.conversation import measures as m
from jalsa.conversation.analysis import Voices, analyze, definitions, minute_time
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.measure_sql import Measure, render
from jalsa.conversation.stages import VOICE_POSTS
from jalsa.report.figures import Figure, Source, measured


class HashtagRow(BaseModel):
    tag: str
    posts: Figure
    authors: int
    spikes: list[str]  # "20:14–20:19 UTC, peak 20:16 (412 posts, score 9.1)"


class ConversationSection(BaseModel):
    measured: bool
    note: str | None
    figures: list[Figure]
    hashtags: list[HashtagRow]
    voices: list[Figure]
    coordination: list[Figure]


def _source(
    measure: Measure,
    parts: int,
    posts: int,
    span: tuple[datetime, datetime],
    voices: Voices | None = None,
) -> Source:
    params: dict[str, Any] = {}
    if voices and VOICE_POSTS in measure.stages:
        tags, phrases = voices.rows()
        params = {"tags": tags, "phrases": phrases}
    return Source(
        data=f"the event's posts dataset ({parts} Parquet part files)",
        rule=" ".join(render(measure, **params).split()),
        since=span[0],
        until=span[1],
        count=posts,
        count_of="posts",
    )


def _spike_text(spike: dict[str, Any]) -> str:
    first, last = minute_time(spike["first_minute"]), minute_time(spike["last_minute"])
    peak = spike["peak"]
    return (
        f"{first:%Y-%m-%d %H:%M}–{last:%H:%M} UTC, peak {minute_time(peak['minute']):%H:%M} "
        f"({int(peak['posts'])} posts, expected {float(peak['expected']):.1f}, "
        f"score {float(peak['score']):.1f})"
    )


def _voices_note(voices: Voices | None, shares: list[Figure]) -> str | None:
    if not voices:
        return "share of voice: not measured (no voices were given)"
    if not shares:
        return "share of voice: not measured (no post mentions any of the voices)"
    return None


def conversation_section(parts: list[Path], voices: Voices | None) -> ConversationSection:
    """The section for these part files and voices. The analysis reads every post (minutes on
    tens of millions), so the last few results are kept in memory, keyed by the files' names,
    sizes and times and the voices: a report page opened again, or with other claims, is not
    computed again unless a file changed."""
    files = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in parts)
    terms = tuple(sorted(voices.terms.items())) if voices else ()
    return _section(files, terms).model_copy(deep=True)


@functools.lru_cache(maxsize=8)
def _section(
    files: tuple[tuple[str, int, int], ...], terms: tuple[tuple[str, tuple[str, ...]], ...]
) -> ConversationSection:
    parts = [Path(name) for name, _size, _mtime in files]
    voices = Voices(dict(terms)) if terms else None
    empty = ConversationSection(
        measured=False,
        note="not measured: no posts were collected for this event",
        figures=[],
        hashtags=[],
        voices=[],
        coordination=[],
    )
    if not parts:
        return empty
    engine = DuckDBEngine(parts)
    try:
        result = analyze(engine, voices)
    finally:
        engine.close()
    overview = result.results["overview"][0]
    posts = int(overview["posts"] or 0)
    if not posts:
        return empty
    span = (minute_time(overview["first_minute"]), minute_time(overview["last_minute"]))
    words = definitions()
    src = _source(m.OVERVIEW, len(parts), posts, span)
    figures = [
        measured("conversation.posts", "Posts", posts, "posts", words["overview"], src),
        measured(
            "conversation.authors",
            "Unique authors",
            int(overview["authors"]),
            "accounts",
            words["overview"],
            src,
        ),
    ]
    for kind in ("originals", "reposts", "replies", "quotes"):
        figures.append(
            measured(
                f"conversation.{kind}",
                kind.capitalize(),
                int(overview[kind]),
                "posts",
                words["overview"],
                src,
            )
        )
    spikes_by_tag: dict[str, list[str]] = {}
    for spike in result.spikes:
        spikes_by_tag.setdefault(spike["tag"], []).append(_spike_text(spike))
    tag_source = _source(m.TOP_HASHTAGS, len(parts), posts, span)
    hashtags = [
        HashtagRow(
            tag=row["item"],
            posts=measured(
                f"conversation.hashtag.{row['item']}",
                f"#{row['item']}",
                int(row["posts"]),
                "posts",
                words["top_hashtags"] + " Spikes: " + words["tag_spikes"],
                tag_source,
            ),
            authors=int(row["authors"]),
            spikes=spikes_by_tag.get(row["item"], []),
        )
        for row in result.results["top_hashtags"]
    ]
    shares = [
        measured(
            f"conversation.voice.{row['voice']}",
            f"Share of voice: {row['voice']}",
            round(float(row["share"]), 4),
            "share of voice mentions",
            words["share_of_voice"],
            _source(m.SHARE_OF_VOICE, len(parts), posts, span, voices),
        )
        for row in result.results.get("share_of_voice", [])
    ]
    coordination = []
    coord_source = _source(m.COORDINATED_ACCOUNTS, len(parts), posts, span)
    for sign, label in (
        ("coordinated", "Share of posts by accounts marked coordinated"),
        ("any", "Share of posts by accounts with any sign of coordination"),
    ):
        found = result.coordination.get(sign)
        if found and found["share_of_posts"] is not None:
            coordination.append(
                measured(
                    f"conversation.coordination.{sign}",
                    label,
                    round(float(found["share_of_posts"]), 4),
                    f"share of posts ({found['accounts']} accounts, {found['posts']} posts)",
                    words["coordinated_accounts"],
                    coord_source,
                )
            )
    return ConversationSection(
        measured=True,
        note=_voices_note(voices, shares),
        figures=figures,
        hashtags=hashtags,
        voices=shares,
        coordination=coordination,
    )
