"""The conversation panel's data (the web app's `/api/events/{slug}/conversation`): an
event's posts summed up by the conversation measures (volume and authors, top hashtags,
hashtag volume per minute, spikes and who and what is behind them), every figure with its
written definition.

The figures are kept per event by `LiveFigures` (live_figures.py): the partial aggregates of
each part file, merged as parts appear, so a refresh reads only the new parts and costs in
proportion to the new posts. Parts only ever appear (by an atomic rename), so their names
and sizes say whether there is anything new, and any number of dashboards polling every 30 s
cost one refresh per new part. DuckDB runs in a worker thread, never on the event loop.
`summarize` computes the same figures from every part at once (the batch measures), as the
panel did before; the benchmark and tests compare the two."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, Field

from jalsa.config import Settings
from jalsa.conversation import measures as m
from jalsa.conversation.analysis import analyze, definitions, minute_time
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.live_figures import LIVE_NOTES, LiveFigures
from jalsa.conversation.sketches import Estimate
from jalsa.timeutil import utc_now

log = logging.getLogger(__name__)

MEASURES = ("overview", "top_hashtags", "tag_minutes", "tag_spikes", "spike_evidence")
RETRY_FAILED = 60.0  # seconds before a dataset that could not be read is tried again
NOT_MEASURED = (
    "No posts have been collected for this event yet, so nothing is measured: the figures "
    "are unknown, not zero. Add posts with `jalsa ingest {slug} FILE`."
)
UNREADABLE = (
    "The event's posts could not be read ({error}); nothing is measured. The figures are "
    "unknown until the dataset is readable again."
)
VOLUME_GAPS = (
    "A minute in which none of these hashtags was used is left out (drawn as a gap): the "
    "dataset cannot tell a quiet minute from one in which nobody collected posts."
)


# -- the response ----------------------------------------------------------------------------


class AuthorBounds(BaseModel):
    """How sure a count of accounts is, when a sketch estimated it."""

    lower: int = Field(description="95% lower bound (two standard deviations).")
    upper: int = Field(description="95% upper bound (two standard deviations).")
    exact: bool = Field(description="True when the sketch held every account: the count is exact.")


def bounds(estimate: Estimate) -> AuthorBounds:
    return AuthorBounds(lower=estimate.lower, upper=estimate.upper, exact=estimate.exact)


class Overview(BaseModel):
    posts: int = Field(description="Posts of every kind in the dataset.")
    authors: int = Field(
        description="Accounts that posted at least once: exact up to 4,096 accounts, an "
        "estimate above (see `authors_bounds`)."
    )
    authors_bounds: AuthorBounds | None = Field(
        None, description="The estimate's 95% bounds; absent when counted exactly."
    )
    originals: int = Field(description="Posts that are not reposts, replies or quotes.")
    reposts: int
    replies: int
    quotes: int
    first_at: datetime | None = Field(description="Start (UTC) of the minute of the first post.")
    last_at: datetime | None = Field(description="Start (UTC) of the minute of the last post.")


class HashtagCount(BaseModel):
    tag: str = Field(description="The hashtag without '#', in lower case.")
    posts: int
    authors: int = Field(description="Accounts that used it (see `authors_bounds`).")
    authors_bounds: AuthorBounds | None = Field(
        None, description="The estimate's 95% bounds; absent when counted exactly."
    )
    complete: bool = Field(
        True,
        description="False when some of its posts were left out of a part's per-minute "
        "counts (a part with more hashtags in a minute than it keeps): posts and authors "
        "are then lower bounds.",
    )


class TagSeries(BaseModel):
    tag: str
    posts: list[int] = Field(description="Posts carrying the tag, one per entry of `times`.")


class TagVolume(BaseModel):
    times: list[datetime] = Field(description="Start of each minute, ISO 8601 in UTC.")
    epochs: list[int] = Field(description="The same minutes as seconds since 1970-01-01 UTC.")
    series: list[TagSeries] = Field(description="One per top hashtag, most used first.")
    note: str = VOLUME_GAPS
    left_out: int = Field(
        0,
        description="Posts carrying hashtags that parts left out of their per-minute counts; "
        "0 means every count is exact.",
    )


class SpikePeak(BaseModel):
    at: datetime = Field(description="Start (UTC) of the spike's highest-scoring minute.")
    epoch: int
    posts: int = Field(description="Uses of the tag in that minute.")
    expected: float = Field(description="The uses its share of the window before predicts.")
    score: float = Field(description="(posts - expected) / sqrt(expected + 1).")


class SpikePost(BaseModel):
    id: str
    text: str
    engagement: int = Field(description="Likes + reposts when collected.")


class SpikeAccount(BaseModel):
    id: str
    handle: str | None
    posts: int = Field(description="Posts with the tag by the account during the spike.")


class Spike(BaseModel):
    tag: str
    first_at: datetime = Field(description="Start (UTC) of the first spike minute.")
    first_epoch: int
    last_at: datetime = Field(description="Start (UTC) of the last spike minute.")
    last_epoch: int
    minutes: int
    posts: int = Field(description="Uses of the tag over the spike's minutes.")
    peak: SpikePeak
    threshold: float = Field(description="The score a minute needs to be a spike minute.")
    top_posts: list[SpikePost]
    top_accounts: list[SpikeAccount]


class SpikeRule(BaseModel):
    window_minutes: int
    threshold: float
    min_count: int


class ConversationOut(BaseModel):
    event: str
    timezone: str = Field(description="The event's time zone, for showing the UTC times.")
    measured: bool = Field(description="False when there is nothing to measure (see `note`).")
    note: str | None = Field(description="Why nothing is measured, when `measured` is false.")
    computed_at: datetime | None = None
    seconds: float | None = Field(None, description="How long the computation took.")
    parts: int = Field(description="Part files of the dataset the figures were computed from.")
    overview: Overview | None = None
    top_hashtags: list[HashtagCount] = Field(default_factory=list)
    tag_volume: TagVolume | None = None
    spikes: list[Spike] = Field(default_factory=list, description="Strongest first.")
    spike_rule: SpikeRule
    definitions: dict[str, str] = Field(description="Each figure's definition, by measure.")


# -- computing it ----------------------------------------------------------------------------

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(parts: Sequence[Path]) -> Fingerprint:
    """What identifies the dataset's content: its part files' names, sizes and times."""
    out = []
    for part in parts:
        try:
            stat = part.stat()
        except FileNotFoundError:  # not expected (parts are never removed); seen next time
            continue
        out.append((part.name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def panel_definitions(live: bool = True) -> dict[str, str]:
    """Each figure's batch definition; for the live figures with what is exact and what is
    a sketch's estimate."""
    every = definitions()
    return {name: every[name] + (" " + LIVE_NOTES[name] if live else "") for name in MEASURES}


def spike_rule() -> SpikeRule:
    params = m.TAG_SPIKES.params
    return SpikeRule(
        window_minutes=params["window"],
        threshold=params["threshold"],
        min_count=params["min_count"],
    )


def _epoch(minute: int) -> int:
    return int(minute) * 60


def not_measured(
    slug: str, parts: int = 0, note: str | None = None, live: bool = True
) -> ConversationOut:
    return ConversationOut(
        event=slug,
        timezone="UTC",
        measured=False,
        note=note or NOT_MEASURED.format(slug=slug),
        computed_at=utc_now(),
        parts=parts,
        spike_rule=spike_rule(),
        definitions=panel_definitions(live),
    )


def tag_volume(rows: list[dict[str, Any]], order: list[str]) -> TagVolume:
    """The per-minute rows of TAG_MINUTES as aligned columns for a chart: the minutes in
    which any of the tags was used, and per tag its posts in each (0 where others were used
    and it was not)."""
    minutes = sorted({int(r["minute"]) for r in rows})
    index = {minute: i for i, minute in enumerate(minutes)}
    counts: dict[str, list[int]] = {}
    for row in rows:
        counts.setdefault(row["tag"], [0] * len(minutes))[index[int(row["minute"])]] = int(
            row["posts"]
        )
    rank = {tag: i for i, tag in enumerate(order)}
    tags = sorted(counts, key=lambda t: (rank.get(t, len(rank)), -sum(counts[t]), t))
    return TagVolume(
        times=[minute_time(x) for x in minutes],
        epochs=[_epoch(x) for x in minutes],
        series=[TagSeries(tag=t, posts=counts[t]) for t in tags],
    )


def spike_out(spike: dict[str, Any], threshold: float) -> Spike:
    peak = spike["peak"]
    return Spike(
        tag=spike["tag"],
        first_at=minute_time(spike["first_minute"]),
        first_epoch=_epoch(spike["first_minute"]),
        last_at=minute_time(spike["last_minute"]),
        last_epoch=_epoch(spike["last_minute"]),
        minutes=int(spike["last_minute"]) - int(spike["first_minute"]) + 1,
        posts=int(spike["posts"]),
        peak=SpikePeak(
            at=minute_time(peak["minute"]),
            epoch=_epoch(peak["minute"]),
            posts=int(peak["posts"]),
            expected=float(peak["expected"]),
            score=float(peak["score"]),
        ),
        threshold=threshold,
        top_posts=evidence_posts(spike),
        top_accounts=evidence_accounts(spike),
    )


def evidence_posts(spike: dict[str, Any]) -> list[SpikePost]:
    """The top posts `attach_evidence` gave a spike, as the API shows them."""
    return [
        SpikePost(id=p["id"], text=p["text"] or "", engagement=int(p["value"]))
        for p in spike.get("top_posts", [])
    ]


def evidence_accounts(spike: dict[str, Any]) -> list[SpikeAccount]:
    """The top accounts `attach_evidence` gave a spike, as the API shows them."""
    return [
        SpikeAccount(id=a["id"], handle=a["text"], posts=int(a["value"]))
        for a in spike.get("top_accounts", [])
    ]


def live_summary(figures: LiveFigures, slug: str) -> ConversationOut:
    """The panel's figures from the live state, after taking in the parts that are new
    (DuckDB: call it from a worker thread)."""
    started = time.perf_counter()
    report = figures.refresh()
    overview = figures.overview()
    if not overview["posts"]:
        return not_measured(slug, len(figures.counted))
    top = [
        HashtagCount(
            tag=r["item"],
            posts=r["posts"],
            authors=r["authors"].value,
            authors_bounds=bounds(r["authors"]),
            complete=r["complete"],
        )
        for r in figures.top_hashtags()
    ]
    spikes = figures.spikes()
    figures.add_evidence(spikes, report)
    volume = tag_volume(figures.tag_minutes(), [t.tag for t in top])
    volume.left_out = figures.left_out("tag")
    rule = spike_rule()
    authors: Estimate = overview["authors"]
    return ConversationOut(
        event=slug,
        timezone="UTC",
        measured=True,
        note=None,
        computed_at=utc_now(),
        seconds=round(time.perf_counter() - started, 3),
        parts=len(figures.counted),
        overview=Overview(
            posts=overview["posts"],
            authors=authors.value,
            authors_bounds=bounds(authors),
            originals=overview["originals"],
            reposts=overview["reposts"],
            replies=overview["replies"],
            quotes=overview["quotes"],
            first_at=minute_time(overview["first_minute"]),
            last_at=minute_time(overview["last_minute"]),
        ),
        top_hashtags=top,
        tag_volume=volume,
        spikes=_spikes_out(figures, spikes, rule.threshold),
        spike_rule=rule,
        definitions=panel_definitions(),
    )


def _spikes_out(
    figures: LiveFigures, spikes: list[dict[str, Any]], threshold: float
) -> list[Spike]:
    """The spikes as the response has them, each built once while it stays the same (an
    event has hundreds: building them all was a tenth of a refresh)."""
    built: dict[Any, Spike] = figures.outputs.setdefault("spikes", {})
    out, keys = [], set()
    for spike in spikes:
        peak = spike["peak"]
        key = (
            spike["tag"],
            spike["first_minute"],
            spike["last_minute"],
            spike["posts"],
            peak["minute"],
            peak["posts"],
            peak["expected"],
            tuple((p["id"], p["value"]) for p in spike.get("top_posts", [])),
            tuple((a["id"], a["text"], a["value"]) for a in spike.get("top_accounts", [])),
        )
        if key not in built:
            built[key] = spike_out(spike, threshold)
        out.append(built[key])
        keys.add(key)
    for key in [k for k in built if k not in keys]:
        del built[key]
    return out


def summarize(slug: str, parts: Sequence[Path]) -> ConversationOut:
    """The panel's figures for these part files, every one read again: the batch measures,
    exact (DuckDB: call it from a worker thread)."""
    if not parts:
        return not_measured(slug, live=False)
    started = time.perf_counter()
    engine = DuckDBEngine(parts)
    try:
        result = analyze(engine, only=MEASURES)
    finally:
        engine.close()
    overview = result.results["overview"][0]
    if not overview["posts"]:  # parts with no rows: still nothing measured
        return not_measured(slug, len(parts), live=False)
    top = [
        HashtagCount(tag=r["item"], posts=int(r["posts"]), authors=int(r["authors"]))
        for r in result.results["top_hashtags"]
    ]
    rule = spike_rule()
    return ConversationOut(
        event=slug,
        timezone="UTC",
        measured=True,
        note=None,
        computed_at=utc_now(),
        seconds=round(time.perf_counter() - started, 3),
        parts=len(parts),
        overview=Overview(
            posts=int(overview["posts"]),
            authors=int(overview["authors"]),
            originals=int(overview["originals"]),
            reposts=int(overview["reposts"]),
            replies=int(overview["replies"]),
            quotes=int(overview["quotes"]),
            first_at=minute_time(overview["first_minute"]),
            last_at=minute_time(overview["last_minute"]),
        ),
        top_hashtags=top,
        tag_volume=tag_volume(result.results["tag_minutes"], [t.tag for t in top]),
        spikes=[spike_out(s, rule.threshold) for s in result.spikes],
        spike_rule=rule,
        definitions=panel_definitions(live=False),
    )


@dataclass
class _Entry:
    fingerprint: Fingerprint
    result: ConversationOut
    failed_at: float | None = None  # monotonic time of a failure, to try again later


class ConversationCache:
    """The last result per event, the part files it was computed from and the live state
    it came from. One refresh per event at a time: callers that arrive meanwhile wait for it
    and share it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._entries: dict[str, _Entry] = {}
        self._figures: dict[str, LiveFigures] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.computations = 0  # how many times the figures were refreshed (for tests)

    async def get(self, slug: str) -> ConversationOut:
        dataset = PostDataset.of_event(self.settings, slug)
        lock = self._locks.setdefault(slug, asyncio.Lock())
        async with lock:
            parts, seen = await asyncio.to_thread(_look, dataset)
            entry = self._entries.get(slug)
            if entry is not None and entry.fingerprint == seen:
                retry = entry.failed_at is not None and (
                    time.monotonic() - entry.failed_at > RETRY_FAILED
                )
                if not retry:
                    return entry.result
            self.computations += 1
            figures = self._figures.get(slug)
            if figures is None:
                figures = self._figures[slug] = LiveFigures(dataset)
            try:
                result = await asyncio.to_thread(live_summary, figures, slug)
                self._entries[slug] = _Entry(seen, result)
            except (duckdb.Error, OSError, pa.ArrowException) as exc:
                log.exception("the conversation figures of %s could not be computed", slug)
                # the state may hold part of a refresh: the next one starts from the partials
                self._figures.pop(slug).close()
                note = UNREADABLE.format(error=type(exc).__name__)
                result = not_measured(slug, len(parts), note)
                self._entries[slug] = _Entry(seen, result, time.monotonic())
            return result

    def close(self) -> None:
        for figures in self._figures.values():
            figures.close()
        self._figures.clear()


def _look(dataset: PostDataset) -> tuple[list[Path], Fingerprint]:
    parts = dataset.parts()
    seen = fingerprint(parts)
    names = {name for name, _, _ in seen}
    return [p for p in parts if p.name in names], seen
