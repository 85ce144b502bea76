"""The live figures (partials merged part by part) against `analyze` over the same posts:
generated posts in several parts, added over several refreshes, with a compaction in the
middle. Exact figures must be equal; accounts counted by sketches must hold the exact count
within the sketch's stated 95% bounds. A refresh after one new part reads that part only,
and a compaction whose parts were all counted reads none."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jalsa.conversation import compaction, partials, spike_evidence
from jalsa.conversation.analysis import Analysis, analyze
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.live_figures import LiveFigures, Refresh
from jalsa.conversation.measure_sql import render_stage
from jalsa.conversation.sketches import Estimate
from jalsa.conversation.stages import KEYED, TAG_MINUTE
from jalsa.platforms.post_record import POST_SCHEMA

BATCH = (
    "overview",
    "per_minute",
    "top_hashtags",
    "tag_minutes",
    "tag_spikes",
    "spike_evidence",
    "top_terms",
    "fast_posters",
)


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """30,000 generated posts of a one-hour rally (several spikes, over 4,096 accounts), in
    time order."""
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import PostSimConfig

    folder = tmp_path_factory.mktemp("generated")
    (path,) = write_parquet(PostSimConfig(count=30_000, seed=7, hours=1.0), folder / "p.parquet")
    table = pq.read_table(path).cast(POST_SCHEMA)
    return table.sort_by([("created_at", "ascending"), ("id", "ascending")])


def chunks(table: pa.Table, shares: list[float]) -> list[pa.Table]:
    """The table cut in time order at these shares (the last chunk takes the rest)."""
    out, start = [], 0
    for share in shares:
        end = start + round(share * table.num_rows)
        out.append(table.slice(start, end - start))
        start = end
    out.append(table.slice(start))
    return out


def interleaved(table: pa.Table, ways: int) -> list[pa.Table]:
    """The rows dealt round-robin into `ways` parts: each part spans the same minutes."""
    return [table.take(list(range(i, table.num_rows, ways))) for i in range(ways)]


def add(dataset: PostDataset, rows: pa.Table, name: str) -> Path:
    """One more part file, published the way the dataset publishes them (temporary name,
    then a rename)."""
    dataset.posts.mkdir(parents=True, exist_ok=True)
    final = dataset.posts / f"part-{name}.parquet"
    temporary = dataset.posts.parent / f"{name}.tmp"
    pq.write_table(rows, temporary)
    temporary.rename(final)
    return final


def batch(dataset: PostDataset) -> Analysis:
    engine = DuckDBEngine(dataset.parts())
    try:
        return analyze(engine, only=BATCH)
    finally:
        engine.close()


def key_counts(dataset: PostDataset) -> dict[str, int]:
    """Original posts per near-identical text key, exactly, over every part."""
    files = ", ".join(f"'{p}'" for p in dataset.parts())
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet([{files}])")
        rows = con.sql(f"SELECT k, count(*) FROM ({render_stage(KEYED)}) GROUP BY k").fetchall()
    return dict(rows)


def within(estimate: Estimate, exact: int) -> None:
    assert estimate.lower <= exact <= estimate.upper, (estimate, exact)
    if estimate.exact:
        assert estimate.value == exact


def spike_view(spike: dict[str, Any]) -> dict[str, Any]:
    peak = spike["peak"]
    return {
        "tag": spike["tag"],
        "first": spike["first_minute"],
        "last": spike["last_minute"],
        "posts": spike["posts"],
        "peak": (
            peak["minute"],
            peak["posts"],
            round(peak["expected"], 9),
            round(peak["score"], 9),
        ),
        "top_posts": spike["top_posts"],
        "top_accounts": spike["top_accounts"],
    }


def check(figures: LiveFigures, dataset: PostDataset, report: Refresh) -> None:
    """Every live figure against the batch figures of the same parts."""
    truth = batch(dataset)
    want = truth.results["overview"][0]
    got = figures.overview()
    for name in ("posts", "originals", "reposts", "replies", "quotes"):
        assert got[name] == want[name], name
    assert (got["first_minute"], got["last_minute"]) == (
        want["first_minute"],
        want["last_minute"],
    )
    within(got["authors"], want["authors"])

    per_minute = figures.per_minute()
    assert [(r["minute"], r["posts"], r["reposts"]) for r in per_minute] == [
        (r["minute"], r["posts"], r["reposts"]) for r in truth.results["per_minute"]
    ]
    for live, exact in zip(per_minute, truth.results["per_minute"], strict=True):
        within(live["authors"], exact["authors"])

    assert figures.left_out("tag") == 0
    top = figures.top_hashtags()
    assert [(r["item"], r["posts"]) for r in top] == [
        (r["item"], r["posts"]) for r in truth.results["top_hashtags"]
    ]
    assert all(r["complete"] for r in top)
    for live, exact in zip(top, truth.results["top_hashtags"], strict=True):
        within(live["authors"], exact["authors"])

    def cells(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((r["tag"], r["minute"], r["posts"]) for r in rows)

    assert cells(figures.tag_minutes()) == cells(truth.results["tag_minutes"])

    spikes = figures.spikes()
    figures.add_evidence(spikes, report)
    assert truth.spikes, "the generated rally has spikes"
    assert [spike_view(s) for s in spikes] == [spike_view(s) for s in truth.spikes]

    words = figures.top_words()
    exact_words = {r["item"]: r["posts"] for r in truth.results["top_terms"]}
    if figures.left_out("word") == 0:
        assert [(r["item"], r["posts"]) for r in words] == list(exact_words.items())
    for row in words:  # parts keep their 200 top words a minute: never more than the truth
        assert row["item"] not in exact_words or row["posts"] <= exact_words[row["item"]]
    counts = key_counts(dataset)
    for row in figures.text_keys(50):
        assert 0 < row["posts"] <= counts[row["k"]]
        if figures.left_out("key") == 0:
            assert row["posts"] == counts[row["k"]]
    fast = {r["author_id"]: r["max_per_minute"] for r in truth.results["fast_posters"]}
    for row in figures.fast_posters():
        assert row["max_per_minute"] <= fast[row["author_id"]]


def test_the_live_figures_are_the_batch_figures(
    posts: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = PostDataset(tmp_path / "event")
    big, rest = chunks(posts, [0.5])
    b, c = interleaved(chunks(rest, [0.3])[0], 2)
    d, e, f = chunks(chunks(rest, [0.3])[1], [0.4, 0.3])
    computed: list[str] = []
    compute = partials.compute

    def counting(part: Path) -> partials.Partial:
        computed.append(part.name)
        return compute(part)

    monkeypatch.setattr(partials, "compute", counting)

    add(dataset, big, "1-a")
    add(dataset, b, "2-b")
    add(dataset, c, "3-c")
    figures = LiveFigures(dataset)
    report = figures.refresh()
    assert sorted(report.read) == sorted(p.name for p in dataset.parts())
    assert figures.overview()["authors"].exact is False, "over 4,096 accounts: estimated"
    check(figures, dataset, report)

    # two more parts, in a second refresh: only they are read
    add(dataset, d, "4-d")
    add(dataset, e, "5-e")
    computed.clear()
    report = figures.refresh()
    assert sorted(report.read) == ["part-4-d.parquet", "part-5-e.parquet"]
    assert sorted(computed) == sorted(report.read) and not report.rebuilt
    check(figures, dataset, report)

    # the small parts compacted into one (as live gathering does), and its record
    size_a = (dataset.posts / "part-1-a.parquet").stat().st_size
    merged = compact_below(dataset, size_a)
    replaced = ["part-2-b.parquet", "part-3-c.parquet", "part-4-d.parquet", "part-5-e.parquet"]
    assert dataset.lineage()[-1]["replaces"] == replaced
    computed.clear()
    report = figures.refresh()
    assert report.absorbed == [merged.name] and report.read == [] and computed == []
    assert not report.rebuilt
    assert partials.path_of(dataset, merged.name).exists(), "made from the replaced partials"
    assert not any(partials.path_of(dataset, name).exists() for name in replaced)
    check(figures, dataset, report)

    # and the last part
    add(dataset, f, "6-f")
    report = figures.refresh()
    assert report.read == ["part-6-f.parquet"] and computed == ["part-6-f.parquet"]
    check(figures, dataset, report)

    # a fresh state (a restart) reads the stored partials and computes none
    computed.clear()
    again = LiveFigures(dataset)
    report = again.refresh()
    assert computed == [] and sorted(report.read) == sorted(p.name for p in dataset.parts())
    check(again, dataset, report)
    assert report.evidence_parts == [], "the spikes' evidence was stored, not read again"


def compact_below(dataset: PostDataset, size: int, *, record: bool = True) -> Path:
    """Merge the parts smaller than `size` bytes into one, as live gathering does; without
    `record`, its lineage line is taken out of the manifest again (a compaction jalsa has no
    record of)."""
    [merge] = compaction.compact(
        dataset, compaction.Policy(tiers=(size,), max_bytes=1 << 40, at_least=2)
    )
    if not record:
        lines = dataset.manifest.read_text().splitlines()
        kept = [line for line in lines if '"compaction"' not in line]
        dataset.manifest.write_text("".join(line + "\n" for line in kept))
    return dataset.posts / merge.merged


def three_parts(posts: pa.Table, dataset: PostDataset) -> list[Path]:
    return [add(dataset, rows, f"{i}") for i, rows in enumerate(chunks(posts, [0.6, 0.2]))]


def test_a_compaction_without_a_record_is_rebuilt_not_counted_twice(
    posts: pa.Table, tmp_path: Path
) -> None:
    dataset = PostDataset(tmp_path / "event")
    three_parts(posts, dataset)
    figures = LiveFigures(dataset)
    check(figures, dataset, figures.refresh())
    size = (dataset.posts / "part-0.parquet").stat().st_size
    merged = compact_below(dataset, size, record=False)  # parts 1 and 2, no record of it
    assert len(dataset.parts()) == 2
    report = figures.refresh()
    assert report.rebuilt and report.computed == [merged.name]
    assert sorted(report.read) == sorted(p.name for p in dataset.parts())
    check(figures, dataset, report)
    assert not partials.path_of(dataset, "part-1.parquet").exists(), "a gone part's partial"


def test_a_merged_part_holding_posts_not_yet_counted_is_rebuilt(
    posts: pa.Table, tmp_path: Path
) -> None:
    dataset = PostDataset(tmp_path / "event")
    first, second, third = chunks(posts, [0.6, 0.2])
    add(dataset, first, "0")
    add(dataset, second, "1")
    figures = LiveFigures(dataset)
    figures.refresh()
    add(dataset, third, "2")  # compacted with part 1 before any refresh sees it
    size = (dataset.posts / "part-0.parquet").stat().st_size
    compact_below(dataset, size)  # its lineage: parts 1 and 2
    report = figures.refresh()
    assert report.rebuilt and not report.absorbed
    check(figures, dataset, report)


def test_a_refresh_after_one_small_part_reads_only_that_part(
    posts: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = PostDataset(tmp_path / "event")
    parts = three_parts(posts, dataset)
    figures = LiveFigures(dataset)
    report = figures.refresh()
    figures.add_evidence(figures.spikes(), report)
    assert report.evidence_parts, "the spikes' evidence, from the parts they overlap"
    read: list[list[Path]] = []
    opened: list[str] = []
    compute, engine = partials.compute, spike_evidence.DuckDBEngine

    def counting(part: Path) -> partials.Partial:
        opened.append(part.name)
        return compute(part)

    def evidence_engine(parts: list[Path]) -> DuckDBEngine:
        read.append(parts)
        return engine(parts)

    monkeypatch.setattr(partials, "compute", counting)
    monkeypatch.setattr(spike_evidence, "DuckDBEngine", evidence_engine)
    last = posts.slice(posts.num_rows - 10)  # ten posts, a minute after the last one
    later = pc.add(last["created_at"], pa.scalar(60_000_000, pa.duration("us")))
    ids = pc.binary_join_element_wise(last["id"], "-late", "")
    small = last.set_column(5, "created_at", later).set_column(1, "id", ids)
    add(dataset, small, "9-small")
    report = figures.refresh()
    figures.add_evidence(figures.spikes(), report)
    assert report.read == ["part-9-small.parquet"] == report.computed == opened
    assert report.evidence_parts == [] and read == [], "no spike overlaps the new minute"
    assert figures.counted["part-9-small.parquet"].posts == 10
    assert sum(c.posts for c in figures.counted.values()) == posts.num_rows + 10
    assert len(parts) == 3


def test_a_partial_is_whole_or_computed_again(posts: pa.Table, tmp_path: Path) -> None:
    dataset = PostDataset(tmp_path / "event")
    part = add(dataset, chunks(posts, [0.1])[0], "0")
    made, computed = partials.load(dataset, part)
    assert computed and partials.path_of(dataset, part.name).exists()
    again, computed = partials.load(dataset, part)
    assert not computed and again.to_table().equals(made.to_table())
    assert not list(partials.folder_of(dataset).glob(".*.tmp")), "no temporary file is left"
    # one left by a process killed while writing is swept once it is old
    left = partials.folder_of(dataset) / f".{part.name}.dead.tmp"
    left.write_bytes(b"half a partial")
    partials.sweep(dataset)
    assert left.exists(), "it might still be written"
    os.utime(left, (0, 0))
    partials.sweep(dataset)
    assert not left.exists()

    # a partial cut short (as a crash in the middle of writing one in place would leave it)
    stored = partials.path_of(dataset, part.name)
    stored.write_bytes(stored.read_bytes()[:100])
    assert partials.read(dataset, part.name, part.stat().st_size) is None
    again, computed = partials.load(dataset, part)
    assert computed and again.to_table().equals(made.to_table())
    # a partial of another file of that name, or of another layout, is not used
    assert partials.read(dataset, part.name, part.stat().st_size + 1) is None
    table = pq.read_table(stored)
    meta = table.schema.metadata[partials.META_KEY].replace(b'"version": 1', b'"version": 0')
    pq.write_table(table.replace_schema_metadata({partials.META_KEY: meta}), stored)
    assert partials.read(dataset, part.name, part.stat().st_size) is None


def test_a_part_compacted_away_while_its_partial_is_computed(
    posts: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = PostDataset(tmp_path / "event")
    first, second, third = chunks(posts, [0.6, 0.2])
    add(dataset, first, "0")
    add(dataset, second, "1")
    figures = LiveFigures(dataset)
    figures.refresh()
    add(dataset, third, "2")
    compute = partials.compute

    def compacted_meanwhile(part: Path) -> partials.Partial:
        size = (dataset.posts / "part-0.parquet").stat().st_size
        compact_below(dataset, size)
        assert not part.exists()
        monkeypatch.setattr(partials, "compute", compute)
        return compute(part)

    monkeypatch.setattr(partials, "compute", compacted_meanwhile)
    report = figures.refresh()  # part 2 is gone before its partial is made: left for later
    assert report.read == [] and "part-2.parquet" not in figures.counted
    report = figures.refresh()  # the merged part holds part 1 (counted) and 2 (not yet)
    assert report.rebuilt
    check(figures, dataset, report)


def test_bounded_partials_keep_totals_exact_and_say_what_is_a_lower_bound(
    posts: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(partials.CAPS, "tag", 3)  # three hashtags a minute per part
    monkeypatch.setitem(partials.CAPS, "tag_authors", 5)
    dataset = PostDataset(tmp_path / "event")
    three_parts(posts, dataset)
    figures = LiveFigures(dataset)
    figures.refresh()
    truth = batch(dataset)
    assert figures.overview()["posts"] == truth.results["overview"][0]["posts"]
    left_out = figures.left_out("tag")
    assert left_out > 0
    exact = {(r["item"]): r["posts"] for r in truth.results["top_hashtags"]}
    top = figures.top_hashtags()
    assert all(not r["complete"] for r in top)
    assert all(r["posts"] <= exact.get(r["item"], r["posts"]) for r in top)
    # what was left out is what the kept counts miss: the totals are whole
    kept = figures.con.sql("SELECT sum(posts) FROM tags").fetchall()[0][0]
    with duckdb.connect() as con:
        files = ", ".join(f"'{p}'" for p in dataset.parts())
        con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet([{files}])")
        ((total,),) = con.sql(f"SELECT sum(posts) FROM ({render_stage(TAG_MINUTE)})").fetchall()
    assert kept + left_out == total
