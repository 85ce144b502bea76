"""The full analysis of an event's posts: every measure in measures.py run on one engine,
spike minutes joined into spikes with what is behind them, and the coordination signs
summed up as shares of volume. The result is plain data (JSON-ready), the same whichever
engine computed it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from jalsa.conversation import measures as m
from jalsa.conversation.engines import Engine
from jalsa.conversation.measure_sql import Measure, Rows, render, render_stage
from jalsa.conversation.stages import VOICE_POSTS
from jalsa.errors import UserError


@dataclass(frozen=True)
class Voices:
    """Tracked parties or campaigns for share of voice: name -> hashtags and phrases."""

    terms: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Voices:
        """From `NAME=#tag,phrase,...` (a term with '#' is a hashtag, else a phrase)."""
        terms: dict[str, tuple[str, ...]] = {}
        for spec in specs:
            name, sep, rest = spec.partition("=")
            words = tuple(w.strip().lower() for w in rest.split(",") if w.strip())
            if not sep or not name.strip() or not words:
                raise UserError(f"--voice {spec!r}: write NAME=#hashtag,phrase,...")
            terms[name.strip()] = words
        return cls(terms)

    def rows(self) -> tuple[Rows, Rows]:
        tags = tuple((v, w[1:]) for v, ws in self.terms.items() for w in ws if w.startswith("#"))
        phrases = tuple((v, w) for v, ws in self.terms.items() for w in ws if not w.startswith("#"))
        return Rows(2, tags), Rows(2, phrases)


@dataclass
class Analysis:
    engine: str
    sketch_error: float  # relative standard error of the engine's distinct-count sketch
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    spikes: list[dict[str, Any]] = field(default_factory=list)
    coordination: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "sketch_error": self.sketch_error,
            "definitions": definitions(),
            "results": self.results,
            "spikes": self.spikes,
            "coordination": self.coordination,
            "seconds": self.seconds,
        }


def definitions() -> dict[str, str]:
    """Every measure's definition in words, with its default parameters filled in."""
    return {x.name: _definition(x) for x in m.ALL}


def _definition(measure: Measure) -> str:
    plain = {k: v for k, v in measure.defaults.items() if not isinstance(v, Rows)}
    return measure.definition.format_map(_Keep(plain))


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


Step = Callable[[str], None]


def analyze(
    engine: Engine,
    voices: Voices | None = None,
    only: Iterable[str] | None = None,
    step: Step | None = None,
) -> Analysis:
    """Run the measures (all, or `only` these) and put the spikes and coordination together.
    Each stage the measures start from is kept as a table from the first measure that reads
    it to the last, so the posts are read for it once."""
    wanted = set(only) if only is not None else {x.name for x in m.ALL}
    if not (voices and voices.terms):
        wanted -= {m.SHARE_OF_VOICE.name, m.VOICE_MINUTES.name}
    if m.TAG_SPIKES.name not in wanted:
        wanted.discard(m.SPIKE_EVIDENCE.name)
    order = [x for x in m.ALL if x.name in wanted]
    last_use = {s.name: i for i, measure in enumerate(order) for s in measure.stages}
    out = Analysis(engine.name, engine.distinct_error)
    kept: list[str] = []
    try:
        for i, measure in enumerate(order):
            if step:
                step(measure.title)
            started = perf_counter()
            params = _params(measure, out, voices)
            out.results[measure.name] = []
            if params is not None:
                for stage in measure.stages:
                    if stage.name not in kept:
                        engine.keep(stage.name, render_stage(stage, **params))
                        kept.append(stage.name)
                sql = render(measure, kept, **params)
                out.results[measure.name] = engine.table(sql).to_pylist()
            for name in [k for k in kept if last_use[k] == i]:
                engine.drop(name)
                kept.remove(name)
            out.seconds[measure.name] = round(perf_counter() - started, 3)
            if measure is m.TAG_SPIKES:
                out.spikes = join_spikes(out.results[measure.name])
            if measure is m.SPIKE_EVIDENCE:
                attach_evidence(out.spikes, out.results[measure.name])
    finally:
        for name in kept:
            engine.drop(name)
    if "coordinated_accounts" in wanted and "overview" in wanted:
        out.coordination = summarize_coordination(
            out.results["coordinated_accounts"], out.results["overview"][0]["posts"]
        )
    return out


def _params(measure: Measure, done: Analysis, voices: Voices | None) -> dict[str, Any] | None:
    """What a measure needs from the run so far (None: nothing to look at)."""
    if VOICE_POSTS in measure.stages and voices:
        tags, phrases = voices.rows()
        return {"tags": tags, "phrases": phrases}
    if measure is m.SPIKE_EVIDENCE:
        if not done.spikes:
            return None
        spikes = [(s["tag"], s["first_minute"], s["last_minute"]) for s in done.spikes]
        return {
            "spikes": Rows(3, tuple(spikes)),
            "since": min(s[1] for s in spikes) * 60,
            "until": (max(s[2] for s in spikes) + 1) * 60,
        }
    return {}


def join_spikes(minutes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive spike minutes of a tag become one spike: first and last minute, the peak
    minute, its count, expected count and score."""
    spikes: list[dict[str, Any]] = []
    for row in sorted(minutes, key=lambda r: (r["tag"], r["minute"])):
        last = spikes[-1] if spikes else None
        if last and last["tag"] == row["tag"] and row["minute"] == last["last_minute"] + 1:
            last["last_minute"] = row["minute"]
            last["posts"] += row["posts"]
            if row["score"] > last["peak"]["score"]:
                last["peak"] = row
            continue
        spikes.append(
            {
                "tag": row["tag"],
                "first_minute": row["minute"],
                "last_minute": row["minute"],
                "posts": row["posts"],
                "peak": row,
            }
        )
    spikes.sort(key=lambda s: -s["peak"]["score"])
    return spikes


def attach_evidence(spikes: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    by_spike: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        entry = by_spike.setdefault((row["tag"], row["first_minute"]), {"post": [], "account": []})
        entry[row["kind"]].append({"id": row["item"], "text": row["detail"], "value": row["value"]})
    for spike in spikes:
        found = by_spike.get((spike["tag"], spike["first_minute"]), {"post": [], "account": []})
        spike["top_posts"] = found["post"]
        spike["top_accounts"] = found["account"]


SIGNS = ("copied_text", "fast_posting", "new_account_burst", "coordinated")


def summarize_coordination(accounts: list[dict[str, Any]], total_posts: int) -> dict[str, Any]:
    """Shares of all posts made by accounts with each sign, with any sign, and by the
    accounts marked coordinated (see measures.COORDINATED_ACCOUNTS)."""

    def share(rows: list[dict[str, Any]]) -> dict[str, Any]:
        posts = sum(int(r["posts"]) for r in rows)
        return {
            "accounts": len(rows),
            "posts": posts,
            "share_of_posts": posts / total_posts if total_posts else None,
        }

    summary = {sign: share([a for a in accounts if a[sign]]) for sign in SIGNS}
    summary["any"] = share(accounts)
    return summary


def precision_recall(flagged: Iterable[str], truth: Iterable[str]) -> dict[str, float | int]:
    """How well flagged accounts match the accounts known to be in a campaign."""
    found, known = set(flagged), set(truth)
    hits = len(found & known)
    return {
        "flagged": len(found),
        "members": len(known),
        "true_positives": hits,
        "precision": hits / len(found) if found else 0.0,
        "recall": hits / len(known) if known else 0.0,
    }


def minute_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)
