"""Compaction: an event's small parts merged into large ones, in tiers, with no post lost or
shown twice whatever moment the process is killed at.

Live gathering writes a part every few seconds. Parts are tiered by size (`Policy`): when a
tier holds `at_least` parts (or enough bytes for a part of the largest size), its oldest
parts are merged into one of at most `max_bytes`, which falls in a higher tier; parts of the
last tier's size are final and never rewritten. Each post is rewritten once per tier.

One merge, and what `parts()` shows if the process dies after each step (`STEPS`):

    staged    the merged part written in `compacting/`      the old parts (the file is junk)
    fsynced   the merged part on disk                        the old parts
    journal   posts/compacting.json names the merged part    the old parts (the merged one is
              and the parts it replaces                      not published: journal forgotten)
    renamed   the merged part moved into posts/              the merged part only: the journal
                                                             hides the parts it replaces
    lineage   {"compaction": ...} appended to ingested.jsonl, unless already there
    unlinked  one replaced part removed (once per part)      the merged part only
    finished  the journal removed                            the merged part only

Every compaction first finishes the one a crash interrupted (`finish`: lineage line if
missing, removals, journal), so the manifest ends with exactly one lineage line per published
merged part. Locks: `.compact.lock` for the whole compaction (one at a time, across
processes); the dataset's writer lock only from the journal to the lineage line, so ingestion
waits milliseconds, not for the merge; the posts folder's own lock (`PostDataset.view_lock`)
exclusively around the rename and the journal's removal, so a `parts()` listing is one
instant's. Readers that take longer than one listing read a `PostDataset.snapshot()`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import duckdb

from jalsa.conversation.dataset import COMPACTING, PART_OPTIONS, SNAPSHOTS, PostDataset
from jalsa.conversation.ingest import connect
from jalsa.limits import MiB

log = logging.getLogger(__name__)

STEPS = ("staged", "fsynced", "journal", "renamed", "lineage", "unlinked", "finished")
STAMP = re.compile(r"part-(\d{8}T\d{6})-")
STAGING = "compacting"  # the merge being written; never read by anyone
# Called with each step's name once it is done (tests kill the process there); None in use.
on_step: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if on_step is not None:
        on_step(name)


@dataclass(frozen=True)
class Policy:
    """When to merge: `tiers` are the upper bounds (bytes) of the tiers still merged; a part
    at or above the last is final. A tier is merged when it holds `at_least` parts, or
    `max_bytes` of them; a merge takes its oldest parts up to `max_bytes` in all."""

    tiers: tuple[int, ...] = (16 * MiB, 128 * MiB)
    max_bytes: int = 512 * MiB
    at_least: int = 16

    def __post_init__(self) -> None:
        if not self.tiers or list(self.tiers) != sorted(set(self.tiers)) or self.tiers[0] <= 0:
            raise ValueError("tiers must be increasing sizes above zero")
        if self.max_bytes < 2 * self.tiers[-1] or self.at_least < 2:
            raise ValueError("max_bytes must hold two parts of the last tier; at_least >= 2")

    def tier(self, size: int) -> int | None:
        """The tier of a part of `size` bytes; None for a final part."""
        return next((n for n, bound in enumerate(self.tiers) if size < bound), None)

    def plan(self, parts: Sequence[tuple[Path, int]], everything: bool = False) -> list[Path]:
        """The parts to merge next (oldest first; empty when nothing is due). `parts`: each
        part with its size. `everything`: merge any two or more parts below the final size,
        whatever their tiers (at the end of an event)."""
        tiers: dict[int, list[tuple[Path, int]]] = {}
        for path, size in sorted(parts):
            key = self.tier(size)
            if key is not None:
                tiers.setdefault(0 if everything else key, []).append((path, size))
        for _, members in sorted(tiers.items()):
            due = everything or (
                len(members) >= self.at_least or sum(s for _, s in members) >= self.max_bytes
            )
            group: list[Path] = []
            total = 0
            for path, size in members if due else []:
                if group and total + size > self.max_bytes:
                    break
                group.append(path)
                total += size
            if len(group) >= 2:
                return group
        return []


@dataclass
class Merge:
    """One merge that was published."""

    merged: str
    replaces: list[str]
    posts: int
    bytes_in: int
    bytes_out: int
    seconds: float
    locked_seconds: float  # how long ingestion had to wait for it (the writer lock)


class Cancelled(Exception):
    """The merge was stopped before it published anything."""


@dataclass
class Cancel:
    """Stops a compaction from another thread: the merge under way is interrupted and
    nothing of it is published."""

    event: threading.Event = field(default_factory=threading.Event)
    connection: duckdb.DuckDBPyConnection | None = None

    def set(self) -> None:
        self.event.set()
        con = self.connection
        if con is not None:
            with contextlib.suppress(duckdb.Error):  # closed meanwhile: nothing to stop
                con.interrupt()

    def check(self) -> None:
        if self.event.is_set():
            raise Cancelled


def sized(parts: Sequence[Path]) -> list[tuple[Path, int]]:
    """Each part with its size (a part a compaction removed meanwhile is left out)."""
    out = []
    for part in parts:
        try:
            out.append((part, part.stat().st_size))
        except FileNotFoundError:
            continue
    return out


def due(dataset: PostDataset, policy: Policy) -> bool:
    """Whether a compaction has something to do (cheap: one listing, one stat per part)."""
    return dataset.journal() is not None or bool(policy.plan(sized(dataset.parts())))


@contextmanager
def compaction_lock(dataset: PostDataset, wait: bool = True) -> Iterator[bool]:
    """One compaction at a time, across processes; yields False (without waiting) when
    another one holds it and `wait` is False."""
    dataset.root.mkdir(parents=True, exist_ok=True)
    with (dataset.root / ".compact.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file releases the lock


def compact(
    dataset: PostDataset,
    policy: Policy | None = None,
    *,
    everything: bool = False,
    wait: bool = True,
    threads: int | None = None,
    cancel: Cancel | None = None,
    progress: Callable[[str, Merge | None], None] | None = None,
) -> list[Merge] | None:
    """Merge until no tier is due (see `Policy`); the merges done, or None when another
    compaction is running and `wait` is False. `progress` is told what starts and ends."""
    policy = policy or Policy()
    cancel = cancel or Cancel()
    done: list[Merge] = []
    with compaction_lock(dataset, wait) as mine:
        if not mine:
            return None
        finish(dataset)
        _remove_leftovers(dataset)
        while not cancel.event.is_set() and (
            group := policy.plan(sized(dataset.parts()), everything)
        ):
            if progress:
                progress(f"merging {len(group)} parts ({_mb(sized(group))})", None)
            try:
                merge = merge_parts(dataset, group, threads=threads, cancel=cancel)
            except Cancelled:
                break
            done.append(merge)
            if progress:
                progress(f"merged {len(group)} parts into {merge.merged}", merge)
    return done


def merge_parts(
    dataset: PostDataset,
    group: Sequence[Path],
    *,
    threads: int | None = None,
    cancel: Cancel | None = None,
) -> Merge:
    """Merge `group` into one part and publish it (the caller holds the compaction lock)."""
    started = perf_counter()
    cancel = cancel or Cancel()
    folder = dataset.root / STAGING
    folder.mkdir(parents=True, exist_ok=True)
    try:
        final, temporary, entry = _write_merged(dataset, group, folder, threads, cancel)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing of it was published
        raise
    bytes_in = sum(s for _, s in sized(group))
    with dataset.locked():
        locked = perf_counter()
        _write_journal(dataset, entry)
        _step("journal")
        with dataset.view_lock(exclusive=True):
            os.rename(temporary, final)
            _fsync(dataset.posts)
            _step("renamed")
            _record_lineage(dataset, entry)
            _step("lineage")
        locked = perf_counter() - locked
    _complete(dataset, entry, recorded=True)
    shutil.rmtree(folder, ignore_errors=True)
    size, seconds = final.stat().st_size, perf_counter() - started
    return Merge(final.name, entry["replaces"], entry["posts"], bytes_in, size, seconds, locked)


def _write_merged(
    dataset: PostDataset, group: Sequence[Path], folder: Path, threads: int | None, cancel: Cancel
) -> tuple[Path, Path, dict[str, Any]]:
    """The merged part written and synced in `folder`: its final path, where it is, and its
    journal entry."""
    # named for its oldest part's time, so that parts sort in the order of their posts
    stamp = STAMP.match(group[0].name)
    final, temporary = dataset.new_part(folder, stamp.group(1) if stamp else None)
    files = ", ".join(f"'{_sql_str(str(p))}'" for p in group)
    con = connect(folder, threads=threads or 1)
    cancel.connection = con
    try:
        cancel.check()
        posts = con.execute(
            f"SELECT sum(num_rows)::BIGINT FROM parquet_file_metadata([{files}])"
        ).fetchall()[0][0]
        written = con.execute(
            f"COPY (SELECT * FROM read_parquet([{files}])) TO '{_sql_str(str(temporary))}' "
            f"({PART_OPTIONS})"
        ).fetchall()[0][0]
    except duckdb.InterruptException:
        raise Cancelled from None
    finally:
        cancel.connection = None
        con.close()
    if written != posts:
        raise RuntimeError(f"merging {len(group)} parts wrote {written} posts of {posts}")
    _step("staged")
    _fsync(temporary)
    _step("fsynced")
    cancel.check()
    entry = {
        "merged": final.name,
        "replaces": [p.name for p in group],
        "posts": posts,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return final, temporary, entry


def finish(dataset: PostDataset) -> None:
    """Complete the compaction in the journal: when its merged part is published, write its
    lineage line if missing and remove the parts it replaces; then forget the journal.
    Idempotent: a crash anywhere in it is finished by the next call."""
    journal = dataset.journal()
    if journal is not None:
        _complete(dataset, journal)
    elif dataset.posts.is_dir():
        (dataset.posts / COMPACTING).unlink(missing_ok=True)  # unreadable: never published


def _complete(dataset: PostDataset, journal: dict[str, Any], recorded: bool = False) -> None:
    if (dataset.posts / journal["merged"]).exists():
        if not recorded:
            _record_lineage(dataset, journal)
        for name in journal["replaces"]:
            (dataset.posts / name).unlink(missing_ok=True)
            _step("unlinked")
        _fsync(dataset.posts)
    with dataset.view_lock(exclusive=True):
        (dataset.posts / COMPACTING).unlink(missing_ok=True)
        _fsync(dataset.posts)
    _step("finished")


class Compactor:
    """Compaction in a background thread of a live gatherer: `poke()` after each ingestion
    round starts one when a tier is due (and none is running); `stop()` interrupts it."""

    def __init__(
        self, dataset: PostDataset, policy: Policy | None = None, threads: int = 1
    ) -> None:
        self.dataset = dataset
        self.policy = policy or Policy()
        self.threads = threads
        self.merges: list[Merge] = []
        self.cancel = Cancel()
        self._thread: threading.Thread | None = None

    def poke(self) -> bool:
        """Start compacting if due; True when a compaction started."""
        if self.cancel.event.is_set() or (self._thread and self._thread.is_alive()):
            return False
        if not due(self.dataset, self.policy):
            return False
        self._thread = threading.Thread(target=self._run, name="jalsa-compaction", daemon=True)
        self._thread.start()
        return True

    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def join(self, timeout: float | None = None) -> None:
        """Wait for the compaction under way, if any, to end."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            merges = compact(
                self.dataset, self.policy, wait=False, threads=self.threads, cancel=self.cancel
            )
            self.merges += merges or []
        except Exception:  # the gathering goes on; the next poke tries again
            log.exception("compacting %s failed", self.dataset.root)

    def stop(self, timeout: float | None = None) -> None:
        """Interrupt the compaction under way (nothing of the merge it was writing is
        published) and start no other."""
        self.cancel.set()
        self.join(timeout)


def _record_lineage(dataset: PostDataset, entry: dict[str, Any]) -> None:
    """The lineage line of a published merge, unless the manifest has it already."""
    name = entry["merged"]
    if dataset.manifest.exists() and name.encode() in dataset.manifest.read_bytes():
        for line in dataset.history():
            if isinstance(c := line.get("compaction"), dict) and c.get("merged") == name:
                return
    keys = ("merged", "replaces", "posts", "at")
    dataset.record({"compaction": {k: entry.get(k) for k in keys}})


def _write_journal(dataset: PostDataset, entry: dict[str, Any]) -> None:
    tmp = dataset.posts / (COMPACTING + ".tmp")
    with tmp.open("w") as f:
        f.write(json.dumps(entry))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dataset.posts / COMPACTING)
    _fsync(dataset.posts)


def _remove_leftovers(dataset: PostDataset) -> None:
    """What killed processes left: a half-written merge, and snapshots of readers that are
    gone (folders named by the reader's process id)."""
    shutil.rmtree(dataset.root / STAGING, ignore_errors=True)
    (dataset.posts / (COMPACTING + ".tmp")).unlink(missing_ok=True)
    snapshots = dataset.root / SNAPSHOTS
    for folder in snapshots.iterdir() if snapshots.is_dir() else []:
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _mb(parts: Sequence[tuple[Path, int]]) -> str:
    return f"{sum(s for _, s in parts) / 1e6:,.1f} MB"
