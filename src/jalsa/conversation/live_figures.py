"""An event's live conversation figures, kept up to date part by part: the partial aggregates
of each part file (partials.py) merged into one state as parts appear, so a refresh reads
the partials of the new parts and nothing else, and costs in proportion to the new posts.

The state is small tables in an in-memory DuckDB (posts per minute and kind, per hashtag and
minute, per word and minute, text keys, fast posters' minutes) and Theta sketches of
accounts (per minute, for the whole event, per hashtag and per text key). The tables carry
the names and columns of the batch stages (`tag_minute`, ...), so the figures are the batch
measures' own SQL run over them: one rule, one home.

Compaction (many small parts merged into one, dataset.py) must not count a post twice. A part
the state counted that is no longer in the dataset was replaced: when the compaction's record
(`{"compaction": {"merged": ..., "replaces": [...]}}` in `ingested.jsonl`, or the dataset's
journal while it runs) says the merged part replaces only counted parts, the merged part is
taken as counted and nothing is read (its partial is made from the replaced parts' partials,
for the next start). When the records cannot tell, the state is rebuilt from the partials of
the parts there are now (the posts are read only for parts without a partial).

Spike evidence (top posts and accounts) needs the posts themselves: it is computed by the batch
measure over only the parts whose minutes overlap the spike, and kept per spike until a new
part overlaps it (spike_evidence.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from jalsa.conversation import measures as m
from jalsa.conversation import partials, sketches
from jalsa.conversation.analysis import join_spikes
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import connect
from jalsa.conversation.measure_sql import render
from jalsa.conversation.partials import Partial
from jalsa.conversation.sketches import Accumulator
from jalsa.conversation.spike_evidence import SpikeEvidence
from jalsa.conversation.stages import FAST

FAST_PER_MINUTE = int(FAST.params["per_minute"])
MAX_KEYS = 20_000  # text keys kept in the state (most posts first); the rest are `other`
MAX_FAST_ROWS = 200_000  # (account, minute) rows kept (most posts first)
NO_MINUTE = -1  # the minute of per-part rows (text keys) in the `others` table

TABLES = """
CREATE TABLE minutes (m BIGINT PRIMARY KEY, posts BIGINT, originals BIGINT, reposts BIGINT,
    replies BIGINT, quotes BIGINT);
CREATE TABLE tags (tag VARCHAR, m BIGINT, posts BIGINT, uses BIGINT, PRIMARY KEY (tag, m));
CREATE TABLE tag_totals (tag VARCHAR PRIMARY KEY, posts BIGINT);
CREATE TABLE words (item VARCHAR, m BIGINT, posts BIGINT, PRIMARY KEY (item, m));
CREATE TABLE text_keys (k VARCHAR PRIMARY KEY, posts BIGINT, first_second BIGINT,
    last_second BIGINT);
CREATE TABLE fast (author_id VARCHAR, m BIGINT, n BIGINT, PRIMARY KEY (author_id, m));
CREATE TABLE others (kind VARCHAR, m BIGINT, posts BIGINT, uses BIGINT, items BIGINT,
    PRIMARY KEY (kind, m));
"""

MERGE = (
    """INSERT INTO minutes SELECT m, posts, originals, reposts, replies, quotes FROM new
WHERE kind = 'minute' ON CONFLICT (m) DO UPDATE SET posts = minutes.posts + excluded.posts,
    originals = minutes.originals + excluded.originals,
    reposts = minutes.reposts + excluded.reposts, replies = minutes.replies + excluded.replies,
    quotes = minutes.quotes + excluded.quotes""",
    """INSERT INTO tags SELECT item, m, posts, uses FROM new
WHERE kind = 'tag' AND item IS NOT NULL ON CONFLICT (tag, m) DO UPDATE
SET posts = tags.posts + excluded.posts, uses = tags.uses + excluded.uses""",
    """INSERT INTO tag_totals SELECT item, sum(posts) FROM new
WHERE kind = 'tag' AND item IS NOT NULL GROUP BY item ON CONFLICT (tag) DO UPDATE
SET posts = tag_totals.posts + excluded.posts""",
    """INSERT INTO words SELECT item, m, posts FROM new
WHERE kind = 'word' AND item IS NOT NULL ON CONFLICT (item, m) DO UPDATE
SET posts = words.posts + excluded.posts""",
    """INSERT INTO text_keys SELECT item, posts, first_second, last_second FROM new
WHERE kind = 'key' AND item IS NOT NULL ON CONFLICT (k) DO UPDATE
SET posts = text_keys.posts + excluded.posts,
    first_second = least(text_keys.first_second, excluded.first_second),
    last_second = greatest(text_keys.last_second, excluded.last_second)""",
    """INSERT INTO fast SELECT item, m, posts FROM new
WHERE kind = 'fast' AND item IS NOT NULL ON CONFLICT (author_id, m) DO UPDATE
SET n = fast.n + excluded.n""",
    f"""INSERT INTO others SELECT kind, coalesce(m, {NO_MINUTE}), posts, coalesce(uses, 0),
    coalesce(items, 0) FROM new
WHERE item IS NULL AND kind NOT IN ('minute', 'tag_authors') ON CONFLICT (kind, m) DO UPDATE
SET posts = others.posts + excluded.posts, uses = others.uses + excluded.uses,
    items = others.items + excluded.items""",
)

# What the live panel adds to each figure's batch definition: which figures are exact.
LIVE_NOTES = {
    "overview": "Live: posts and their kinds are exact (counted per part file and minute, "
    "then summed); authors is " + sketches.STATEMENT + " (`authors_bounds`).",
    "top_hashtags": "Live: posts are exact (see `complete`); authors is "
    + sketches.STATEMENT
    + " (`authors_bounds`). "
    + partials.BOUNDS,
    "tag_minutes": "Live: exact, the same counts per part file and minute summed (see `left_out`).",
    "tag_spikes": "Live: the same rule over the same per-minute counts, so exact; minutes "
    "are scored again from the earliest minute new posts fell in.",
    "spike_evidence": "Live: exact; read from the part files whose minutes overlap the "
    "spike, once per spike and again only when a new part overlaps it.",
}


@dataclass(frozen=True)
class Counted:
    """A part whose posts are in the state."""

    posts: int
    min_minute: int | None
    max_minute: int | None


@dataclass
class Refresh:
    """What one refresh read (for tests and the benchmark: counted, not timed)."""

    read: list[str] = field(default_factory=list)  # partials merged
    computed: list[str] = field(default_factory=list)  # of them, computed from the part
    absorbed: list[str] = field(default_factory=list)  # compacted parts already counted
    rebuilt: bool = False
    evidence_parts: list[str] = field(default_factory=list)  # parts read for spike evidence


class LiveFigures:
    """The merged partials of one event's dataset (see the module's docstring). Not thread
    safe: one refresh or read at a time (the panel's per-event lock)."""

    def __init__(self, dataset: PostDataset) -> None:
        self.dataset = dataset
        self.evidence = SpikeEvidence(dataset)
        partials.sweep(dataset)
        self.outputs: dict[Any, Any] = {}  # what a caller built from the figures, to reuse
        self.con = connect(threads=1)
        self._run("SET enable_progress_bar = false")
        self._reset()

    def _reset(self) -> None:
        for table in ("minutes", "tags", "tag_totals", "words", "text_keys", "fast", "others"):
            self._run(f"DROP TABLE IF EXISTS {table}")
        for statement in TABLES.split(";"):
            if statement.strip():
                self._run(statement)
        self.counted: dict[str, Counted] = {}
        self.minute_authors: dict[int, Accumulator] = {}
        self.all_authors = Accumulator()
        self.tag_authors: dict[str, Accumulator] = {}
        self.tag_covered: dict[str, int] = {}  # posts of the tag its sketch has seen
        self.key_authors: dict[str, Accumulator] = {}
        self.spike_minutes: list[dict[str, Any]] = []
        self.dirty_from: int | None = None  # earliest minute changed since spikes were scored

    def close(self) -> None:
        self.con.close()

    # -- taking in parts ---------------------------------------------------------------------

    def refresh(self) -> Refresh:
        """Take in the parts that appeared since the last refresh."""
        report = Refresh()
        parts = self.dataset.parts()
        present = {p.name for p in parts}
        new = [p for p in parts if p.name not in self.counted]
        compactions: dict[str, set[str]] = {}
        if any(name not in present for name in self.counted):
            compactions = self._compactions()
            for part in list(new):
                replaces = compactions.get(part.name, set())
                if replaces and replaces <= self.counted.keys():
                    self._absorb(part.name, replaces)
                    new.remove(part)
                    report.absorbed.append(part.name)
            if any(name not in present for name in self.counted):
                return self._rebuild(compactions, report)
        for part in new:
            found = self._load(part)
            if found is not None:
                self._merge(*found, report)
        return report

    def _load(self, part: Path) -> tuple[Partial, bool] | None:
        """A new part's partial; None if a compaction removed the part meanwhile (the next
        refresh finds what replaced it)."""
        try:
            return partials.load(self.dataset, part)
        except (duckdb.Error, OSError):
            if part.exists():
                raise
            return None

    def _rebuild(self, compactions: dict[str, set[str]], report: Refresh) -> Refresh:
        """Start again from the partials of the parts there are now."""
        gone = [name for name in self.counted if not (self.dataset.posts / name).exists()]
        self._reset()
        report.rebuilt = True
        for part in self.dataset.parts():
            found = None
            if part.name in compactions and part.exists():
                size = part.stat().st_size
                found = partials.read(self.dataset, part.name, size) or self._combined(
                    part.name, size, compactions[part.name]
                )
            if found is not None:
                self._merge(found, False, report)
            elif (loaded := self._load(part)) is not None:
                self._merge(*loaded, report)
        partials.forget(self.dataset, gone)
        return report

    def _compactions(self) -> dict[str, set[str]]:
        """merged part -> the parts it replaces, from the dataset's lineage (its records, and
        the journal of a merge published before its record was written)."""
        out: dict[str, set[str]] = {}
        for entry in self.dataset.lineage():
            if not isinstance(entry, dict):
                continue
            merged, replaces = entry.get("merged"), entry.get("replaces")
            if isinstance(merged, str) and isinstance(replaces, list):
                out[merged] = {str(name) for name in replaces}
        return out

    def _absorb(self, merged: str, replaces: set[str]) -> None:
        """A compacted part whose posts are all counted already: count it instead of the
        parts it replaced, and give it its partial from theirs."""
        done = [self.counted.pop(name) for name in sorted(replaces)]
        lows = [c.min_minute for c in done if c.min_minute is not None]
        highs = [c.max_minute for c in done if c.max_minute is not None]
        self.counted[merged] = Counted(
            sum(c.posts for c in done), min(lows, default=None), max(highs, default=None)
        )
        self.evidence.renamed(replaces, merged)
        path = self.dataset.posts / merged
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        if partials.read(self.dataset, merged, size) is None:
            combined = self._combined(merged, size, replaces)
            if combined is None:
                return  # computed from the part when a rebuild needs it
        partials.forget(self.dataset, sorted(replaces))

    def _combined(self, merged: str, size: int, replaces: set[str]) -> Partial | None:
        found = [partials.read(self.dataset, name, None) for name in sorted(replaces)]
        if any(p is None for p in found):
            return None
        combined = partials.combine(merged, size, [p for p in found if p is not None])
        partials.store(self.dataset, combined)
        return combined

    def _merge(self, partial: Partial, computed: bool, report: Refresh) -> None:
        with partial.scan(self.con, "given"):
            self._run("CREATE OR REPLACE TEMP TABLE new AS SELECT * EXCLUDE (sketch) FROM given")
            sketched = self.con.sql(
                "SELECT kind, m, item, posts, sketch FROM given WHERE sketch IS NOT NULL"
            ).fetchall()
        try:
            for sql in MERGE:
                self._run(sql)
        finally:
            self._run("DROP TABLE IF EXISTS new")
        for kind, minute, item, posts, blob in sketched:
            sketch = sketches.from_bytes(blob)
            if kind == "minute":
                self.minute_authors.setdefault(minute, Accumulator()).add(sketch)
                self.all_authors.add(sketch)
            elif kind == "tag_authors":
                self.tag_authors.setdefault(item, Accumulator()).add(sketch)
                self.tag_covered[item] = self.tag_covered.get(item, 0) + int(posts)
            elif kind == "key":
                self.key_authors.setdefault(item, Accumulator()).add(sketch)
        self._prune()
        self.counted[partial.part] = Counted(partial.posts, partial.min_minute, partial.max_minute)
        if partial.min_minute is not None:
            low = partial.min_minute
            self.dirty_from = low if self.dirty_from is None else min(self.dirty_from, low)
        report.read.append(partial.part)
        if computed:
            report.computed.append(partial.part)

    def _prune(self) -> None:
        """Keep the text keys and fast posters' rows within their bounds (most posts
        first); what is dropped is added to `others`."""
        keys = self._one("SELECT count(*) FROM text_keys")
        if keys > MAX_KEYS:
            dropped = self._run(
                "SELECT k, posts FROM text_keys ORDER BY posts DESC, k OFFSET ?", [MAX_KEYS]
            )
            self._run(
                "INSERT INTO others VALUES ('key', ?, ?, 0, ?) ON CONFLICT (kind, m) DO UPDATE "
                "SET posts = others.posts + excluded.posts, items = others.items + excluded.items",
                [NO_MINUTE, sum(p for _, p in dropped), len(dropped)],
            )
            self._run(
                "DELETE FROM text_keys WHERE k IN (SELECT unnest(?))", [[k for k, _ in dropped]]
            )
            for k, _ in dropped:
                self.key_authors.pop(k, None)
        if self._one("SELECT count(*) FROM fast") > MAX_FAST_ROWS:
            self._run(
                "DELETE FROM fast WHERE (author_id, m) IN (SELECT (author_id, m) FROM fast "
                "ORDER BY n DESC, m DESC, author_id OFFSET ?)",
                [MAX_FAST_ROWS],
            )

    def _run(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        """Run a statement to its end (the connection takes no other work before)."""
        return self.con.execute(sql, params).fetchall()

    def _one(self, sql: str) -> int:
        rows = self._run(sql)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    # -- the figures -------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """OVERVIEW's figures: exact counts, authors from the sketch (an `Estimate`)."""
        (row,) = self._run(
            "SELECT coalesce(sum(posts), 0), coalesce(sum(originals), 0), "
            "coalesce(sum(reposts), 0), coalesce(sum(replies), 0), coalesce(sum(quotes), 0), "
            "min(m), max(m) FROM minutes"
        )
        names = ("posts", "originals", "reposts", "replies", "quotes")
        out: dict[str, Any] = {k: int(v) for k, v in zip(names, row[:5], strict=True)}
        out.update(first_minute=row[5], last_minute=row[6])
        out["authors"] = sketches.Estimate.of(self.all_authors.result())
        return out

    def left_out(self, kind: str) -> int:
        """Posts of items a part left out of its per-minute counts (0: every count exact)."""
        return self._one(f"SELECT coalesce(sum(posts), 0) FROM others WHERE kind = '{kind}'")

    def top_hashtags(self, limit: int | None = None) -> list[dict[str, Any]]:
        """TOP_HASHTAGS: the tags most posts carry; authors from each tag's sketch, with
        `complete` false when some of its posts were left out of a part's counts."""
        limit = limit or int(m.TOP_HASHTAGS.params["limit"])
        rows = self._run(
            "SELECT tag, posts FROM tag_totals ORDER BY posts DESC, tag LIMIT ?", [limit]
        )
        truncated = self.left_out("tag") > 0
        out = []
        for tag, posts in rows:
            found = self.tag_authors.get(tag)
            sketch = found.result() if found is not None else sketches.empty()
            covered = self.tag_covered.get(tag, 0)
            out.append(
                {
                    "item": tag,
                    "posts": int(posts),
                    "authors": sketches.Estimate.of(sketch),
                    "complete": not truncated and covered == posts,
                }
            )
        return out

    def tag_minutes(self) -> list[dict[str, Any]]:
        """TAG_MINUTES, by its own SQL over the merged per-minute counts of the tags with the
        most posts (the measure then picks its top among them: the same tags)."""
        top = int(m.TAG_MINUTES.params["top"])
        self._run(
            "CREATE OR REPLACE TEMP VIEW tag_minute AS SELECT tag, m, posts, uses FROM tags "
            "WHERE tag IN (SELECT tag FROM tag_totals ORDER BY posts DESC, tag "
            f"LIMIT {top})"
        )
        return self._rows(_rendered(m.TAG_MINUTES.name))

    def spikes(self) -> list[dict[str, Any]]:
        """TAG_SPIKES joined into spikes (as `analyze` does), scoring again only the minutes
        from the earliest one new posts fell in."""
        if self.dirty_from is not None:
            window = int(m.TAG_SPIKES.params["window"])
            since = self.dirty_from
            self._tag_minute_view(since - window)
            fresh = [
                r
                for r in self._rows(_rendered(m.TAG_SPIKES.name))
                if r["tag"] is not None and r["minute"] >= since
            ]
            kept = [r for r in self.spike_minutes if r["minute"] < since]
            self.spike_minutes = kept + fresh
            self.dirty_from = None
        return join_spikes([dict(r) for r in self.spike_minutes])

    def _tag_minute_view(self, since: int) -> None:
        """`tag_minute` as the stage has it from minute `since` on, with the posts and uses
        of tags left out of a part's counts as a tag NULL (they count in the minute's total
        of uses)."""
        self._run(
            "CREATE OR REPLACE TEMP VIEW tag_minute AS SELECT tag, m, posts, uses FROM tags "
            f"WHERE m >= {int(since)} UNION ALL SELECT NULL AS tag, m, posts, uses FROM others "
            f"WHERE kind = 'tag' AND m >= {int(since)}"
        )

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.con.sql(sql).to_arrow_table().to_pylist()
        return result

    def per_minute(self) -> list[dict[str, Any]]:
        """PER_MINUTE: posts, authors (an `Estimate` per minute) and reposts."""
        rows = self._rows("SELECT m AS minute, posts, reposts FROM minutes ORDER BY m")
        for row in rows:
            found = self.minute_authors.get(row["minute"])
            row["authors"] = sketches.Estimate.of(found.result() if found else sketches.empty())
        return rows

    def top_words(self, limit: int | None = None) -> list[dict[str, Any]]:
        """TOP_TERMS' counts (posts per word; lower bounds where `left_out('word')`)."""
        limit = limit or int(m.TOP_TERMS.params["limit"])
        return self._rows(
            "SELECT item, CAST(sum(posts) AS BIGINT) AS posts FROM words GROUP BY item "
            f"ORDER BY posts DESC, item LIMIT {int(limit)}"
        )

    def text_keys(self, limit: int = 25) -> list[dict[str, Any]]:
        """The near-identical text keys posted most, with their accounts (an `Estimate`)
        and first and last second: the candidates copied_text looks at."""
        rows = self._rows(
            "SELECT k, posts, first_second, last_second FROM text_keys "
            f"ORDER BY posts DESC, k LIMIT {int(limit)}"
        )
        for row in rows:
            found = self.key_authors.get(row["k"])
            row["authors"] = sketches.Estimate.of(found.result() if found else sketches.empty())
        return rows

    def fast_posters(self) -> list[dict[str, Any]]:
        """Accounts seen posting at least FAST's rate within one minute of one part's
        posts (a lower bound: posts of a minute split over parts add up only for accounts
        a part kept)."""
        return self._rows(
            "SELECT author_id, max(n) AS max_per_minute, "
            f"count(*) FILTER (WHERE n >= {FAST_PER_MINUTE}) AS fast_minutes FROM fast "
            f"GROUP BY author_id HAVING max(n) >= {FAST_PER_MINUTE} "
            "ORDER BY max_per_minute DESC, author_id"
        )

    # -- spike evidence ----------------------------------------------------------------------

    def add_evidence(self, spikes: list[dict[str, Any]], report: Refresh) -> None:
        """SPIKE_EVIDENCE for each spike, from the parts whose minutes overlap it; kept per
        spike and computed again only when the parts overlapping it change."""
        ranges = {name: (c.min_minute, c.max_minute) for name, c in self.counted.items()}
        report.evidence_parts.extend(self.evidence.attach(spikes, ranges))


@functools.cache
def _rendered(measure: str) -> str:
    """A measure's SQL over the kept relation `tag_minute`, rendered once."""
    return render(m.BY_NAME[measure], kept=["tag_minute"])
