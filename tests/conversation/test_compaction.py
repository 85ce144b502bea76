"""Compaction of an event's parts: the tiered policy, merging with a lineage, ingestion going
on meanwhile, the live gatherer's background compactor, and `jalsa compact`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from compactkit import check_dataset, check_finished, check_posts, write_parts
from typer.testing import CliRunner

from jalsa.config import get_settings
from jalsa.conversation import compaction
from jalsa.conversation.compaction import STAGING, Compactor, Policy, compact, due, sized
from jalsa.conversation.dataset import COMPACTING, PostDataset
from jalsa.conversation.ingest import ingest
from jalsa.limits import MiB

KB = 1000


@pytest.fixture
def dataset(tmp_path: Path) -> PostDataset:
    return PostDataset(tmp_path / "ds")


@pytest.fixture
def hook() -> Iterator[Callable[[Callable[[str], None]], None]]:
    def set_hook(function: Callable[[str], None]) -> None:
        compaction.on_step = function

    yield set_hook
    compaction.on_step = None


def sizes(*kb: int) -> list[tuple[Path, int]]:
    return [(Path(f"part-{n:03d}.parquet"), size * KB) for n, size in enumerate(kb)]


def names(group: list[Path]) -> list[int]:
    return [int(p.name[5:8]) for p in group]


def test_a_tier_is_merged_once_full_oldest_first_up_to_the_largest_part() -> None:
    policy = Policy(tiers=(10 * KB, 100 * KB), max_bytes=250 * KB, at_least=4)
    assert policy.tier(9 * KB) == 0 and policy.tier(10 * KB) == 1 and policy.tier(100 * KB) is None
    assert policy.plan(sizes(5, 5, 5)) == []  # three small parts: not yet
    assert names(policy.plan(sizes(5, 5, 5, 5))) == [0, 1, 2, 3]
    # the next tier is merged only when it is full too; final parts never
    assert names(policy.plan(sizes(300, 40, 40, 5, 40, 40))) == [1, 2, 4, 5]
    assert policy.plan(sizes(300, 40, 40, 5, 40)) == []
    # a full tier whose parts do not all fit: the oldest that do
    assert names(policy.plan(sizes(90, 90, 90, 90))) == [0, 1]
    # enough bytes for a largest part is full too, whatever the count
    assert names(policy.plan(sizes(95, 95, 95))) == [0, 1]
    # at the end of an event: any two or more below the final size, across tiers
    assert names(policy.plan(sizes(300, 40, 5), everything=True)) == [1, 2]
    assert policy.plan(sizes(300, 40), everything=True) == []


def test_a_policy_that_cannot_merge_is_refused() -> None:
    with pytest.raises(ValueError):
        Policy(tiers=(100, 10))
    with pytest.raises(ValueError):
        Policy(tiers=(10, 100), max_bytes=150)  # two parts of the last tier would not fit
    with pytest.raises(ValueError):
        Policy(at_least=1)
    assert Policy().max_bytes == 512 * MiB


def test_tiers_merge_into_larger_parts_and_each_merge_leaves_one_lineage_line(
    dataset: PostDataset,
) -> None:
    originals = write_parts(dataset, 3, 2000)
    size = max(s for _, s in sized(dataset.parts()))
    # below 1.5 parts: the first tier; below 5: the second; 10 parts at most in one
    policy = Policy(tiers=(size * 3 // 2, size * 5), max_bytes=size * 10, at_least=3)
    merges = []
    for n in range(3):  # three rounds of three small parts, as live gathering leaves them
        if n:
            originals += write_parts(dataset, 3, 2000, first=n * 6000)
        merges += compact(dataset, policy) or []
        check_finished(dataset, originals, (n + 1) * 6000)
    assert [len(m.replaces) for m in merges] == [3, 3, 3, 3]  # the last: the second tier
    assert sorted(merges[-1].replaces) == sorted(m.merged for m in merges[:3])
    assert [p.name for p in dataset.parts()] == [merges[-1].merged]
    lines = [e["compaction"] for e in dataset.history()]
    assert [(e["merged"], e["replaces"], e["posts"]) for e in lines] == [
        (m.merged, m.replaces, m.posts) for m in merges
    ]
    assert merges[-1].posts == 18000 and merges[-1].bytes_out <= policy.max_bytes
    assert compact(dataset, policy) == []  # nothing due any more


def test_a_crash_after_publishing_is_finished_by_the_next_compaction(
    dataset: PostDataset, hook: Callable[[Callable[[str], None]], None]
) -> None:
    originals = write_parts(dataset, 5, 100)
    policy = Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=5)

    def crash(step: str) -> None:
        if step == "unlinked":
            raise KeyboardInterrupt  # stopped after removing the first replaced part

    hook(crash)
    with pytest.raises(KeyboardInterrupt):
        compact(dataset, policy)
    hook(lambda step: None)
    assert len(dataset.parts()) == 1  # the journal hides the replaced parts
    assert len(list(dataset.posts.glob("part-*.parquet"))) == 5  # one removed of five
    check_dataset(dataset, originals, 500)
    assert compact(dataset, policy) == []  # finishes the removal, nothing to merge
    check_finished(dataset, originals, 500)
    assert len([e for e in dataset.history() if "compaction" in e]) == 1


def test_ingesting_after_compaction_adds_nothing_twice_and_the_history_still_leads_somewhere(
    tmp_path: Path, dataset: PostDataset
) -> None:
    files = []
    for n in range(6):
        tweet = {"id": str(n), "text": f"t{n}", "author_id": "1", "created_at": "2023-12-17T15:00Z"}
        path = tmp_path / f"{n}.jsonl"
        path.write_text(json.dumps(tweet) + "\n" + ("{broken\n" if n == 0 else ""))
        files.append(path)
        assert ingest(dataset, [path], "x").accepted == 1
    quarantined = sorted(dataset.quarantine.glob("*.jsonl"))
    assert len(quarantined) == 1 and len(dataset.parts()) == 6
    merges = compact(dataset, Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=6))
    assert merges and len(dataset.parts()) == 1
    for path in files:  # twice: nothing new, the first time nor the second
        assert ingest(dataset, [path], "x").accepted == 0
        assert ingest(dataset, [path], "x").accepted == 0
    assert sorted(dataset.quarantine.glob("*.jsonl"))[0] == quarantined[0]  # untouched
    # every part an ingestion line names was merged into a part that is there
    replaced_by = {n: e["merged"] for e in dataset.lineage() for n in e["replaces"]}
    visible = {p.name for p in dataset.parts()}
    parts = [e["part"] for e in dataset.history() if e.get("part")]
    assert len(parts) == 6 and all(replaced_by[p] in visible for p in parts)
    new = tmp_path / "new.jsonl"
    tweet = {"id": "99", "text": "new", "author_id": "1", "created_at": "2023-12-17T15:01Z"}
    new.write_text(json.dumps(tweet) + "\n")
    assert ingest(dataset, [new, files[2]], "x").accepted == 1


def test_ingestion_goes_on_while_a_merge_is_written(
    tmp_path: Path, dataset: PostDataset, hook: Callable[[Callable[[str], None]], None]
) -> None:
    originals = write_parts(dataset, 4, 1000)
    staged, go = threading.Event(), threading.Event()

    def wait_at_staged(step: str) -> None:
        if step == "staged":
            staged.set()
            assert go.wait(30)

    hook(wait_at_staged)
    policy = Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=4)
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(compact(dataset, policy)))
    worker.start()
    try:
        assert staged.wait(30)
        tweet = {"id": "x1", "text": "t", "author_id": "1", "created_at": "2023-12-17T15:00Z"}
        path = tmp_path / "new.jsonl"
        path.write_text(json.dumps(tweet) + "\n")
        done: list[int] = []
        ingesting = threading.Thread(target=lambda: done.append(ingest(dataset, [path]).accepted))
        ingesting.start()
        ingesting.join(30)
        assert done == [1]  # not waiting for the merge: the writer lock is free meanwhile
        # a second compaction does not start beside the first
        assert compact(dataset, policy, wait=False) is None
    finally:
        go.set()
        worker.join(30)
    assert result[0] and result[0][0].replaces == originals  # the new part is not in it
    assert len(dataset.parts()) == 2


def test_the_background_compactor_merges_when_due_and_stops_without_publishing(
    dataset: PostDataset, hook: Callable[[Callable[[str], None]], None]
) -> None:
    write_parts(dataset, 4, 500)
    policy = Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=5)
    compactor = Compactor(dataset, policy)
    assert not due(dataset, policy) and not compactor.poke()
    write_parts(dataset, 1, 500, first=2000)
    originals = sorted(p.name for p in dataset.parts())
    assert compactor.poke()
    compactor.join(30)
    assert [m.replaces for m in compactor.merges] == [originals]
    check_finished(dataset, originals, 2500)
    assert not compactor.poke()  # nothing due
    compactor.stop(30)
    assert not compactor.poke()  # stopped for good

    stopped = Compactor(dataset, Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=2))
    write_parts(dataset, 1, 500, first=2500)
    before = sorted(p.name for p in dataset.parts())
    reached = threading.Event()

    def stop_at_staged(step: str) -> None:
        if step == "staged":
            reached.set()
            assert stopped.cancel.event.wait(30)

    hook(stop_at_staged)
    assert stopped.poke()
    assert reached.wait(30)
    stopped.stop(30)
    assert not stopped.running() and stopped.merges == []
    assert sorted(p.name for p in dataset.parts()) == before  # nothing published
    assert not (dataset.posts / COMPACTING).exists()
    assert not (dataset.root / STAGING).exists()


def test_stopping_the_compactor_while_it_writes_publishes_nothing(dataset: PostDataset) -> None:
    originals = write_parts(dataset, 8, 20000)
    policy = Policy(tiers=(64 * MiB, 128 * MiB), max_bytes=256 * MiB, at_least=8)
    compactor = Compactor(dataset, policy)
    assert compactor.poke()
    deadline = time.monotonic() + 60
    while not list((dataset.root / STAGING).glob("part-*")) and compactor.running():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    compactor.stop(60)  # interrupts DuckDB's COPY, or the merge before it publishes
    assert compactor.merges == [] and not compactor.running()
    assert [p.name for p in dataset.parts()] == originals
    assert not (dataset.root / STAGING).exists() and dataset.journal() is None
    check_finished(dataset, originals, 160000)


def test_a_reader_keeps_its_snapshot_while_a_compaction_removes_the_parts(
    dataset: PostDataset,
) -> None:
    originals = write_parts(dataset, 4, 300)
    with dataset.snapshot() as parts:
        assert [p.name for p in parts] == originals
        compact(dataset, Policy(tiers=(1 * MiB, 2 * MiB), max_bytes=4 * MiB, at_least=4))
        assert not any((dataset.posts / n).exists() for n in originals)
        check_dataset(dataset, originals, 1200)
        check_posts(parts, 1200)  # still readable
    assert not any((dataset.root / "snapshots").iterdir())


def test_a_torn_manifest_line_spoils_only_itself(dataset: PostDataset) -> None:
    dataset.record({"at": "1"})
    with dataset.manifest.open("ab") as f:
        f.write(b'{"compaction": {"merged": "p')  # killed while appending
    dataset.record({"at": "2"})
    assert dataset.history() == [{"at": "1"}, {"at": "2"}]


# the command


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Any]:
    from jalsa.cli import app

    monkeypatch.setenv("JALSA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JALSA_DATABASE_URL", database_url)
    monkeypatch.setenv("JALSA_CONFIG", str(tmp_path / "jalsa.toml"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    get_settings.cache_clear()


def test_jalsa_compact_and_ingest_merge_small_parts(cli: Any, tmp_path: Path) -> None:
    assert cli("event", "create", "Jalsa", "--starts", "2023-12-17 19:00", "--slug", "j")
    missing = cli("compact", "nope")
    assert missing.exit_code == 3 and "no event 'nope'" in missing.output
    empty = cli("compact", "j")
    assert empty.exit_code == 2 and "has no posts yet" in empty.output
    assert "Traceback" not in missing.output + empty.output
    write_parts(PostDataset(tmp_path / "data" / "conversation" / "j"), 15, 10)  # 150 posts
    files = []
    for n in range(2):
        tweet = {"id": f"x{n}", "text": "t", "author_id": "1", "created_at": "2023-12-17T15:00Z"}
        files.append(tmp_path / f"{n}.jsonl")
        files[-1].write_text(json.dumps(tweet) + "\n")
        result = cli("ingest", "j", str(files[-1]), "--format", "x")
        assert result.exit_code == 0, result.output
        # the sixteenth small part fills the first tier: `jalsa ingest` merges them
        assert ("merged 16 parts into part-" in result.output) == (n == 0)
    nothing = cli("compact", "j")
    assert nothing.exit_code == 0 and "nothing to merge" in nothing.output
    assert "2 parts before, 2 after" in nothing.output
    everything = cli("compact", "j", "--all", "--json")
    assert everything.exit_code == 0, everything.output
    report = json.loads(everything.output)
    assert report["parts_before"] == 2 and report["parts_after"] == 1
    assert report["merges"][0]["posts"] == 152
    again = cli("ingest", "j", *map(str, files), "--format", "x")
    assert "0 new posts, 2 already there" in again.output
    posts = tmp_path / "data" / "conversation" / "j" / "posts"
    (posts / "part-20231217T000000-0bad0bad.parquet").write_bytes(b"PAR1 damaged")
    damaged = cli("compact", "j", "--all")
    assert damaged.exit_code == 2 and "compaction stopped: " in damaged.output
    assert "No post was lost or doubled" in damaged.output and "Traceback" not in damaged.output
    assert len(list(posts.glob("part-*.parquet"))) == 2
