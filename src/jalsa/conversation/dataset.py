"""An event's posts: an append-only Parquet dataset, one file per ingestion
(`posts/part-*.parquet`), never two records with the same (platform, id). A part appears by
an atomic rename after it was written and checked against the existing ones under the
dataset's lock, so a crash leaves either the whole part or none, and ingesting again adds
only what is missing. Compaction (`compaction.py`) later merges small parts into large ones;
`parts()` never lists a post twice while it does, and `snapshot()` keeps a reader's parts
readable until the reader is done.

    <data_dir>/conversation/<event>/
        posts/part-<time>-<n>.parquet   the posts
        posts/compacting.json            the compaction under way: merged part, parts replaced
        quarantine/<time>.jsonl          what could not become a post, with line numbers
        raw/                             API responses as collectors received them
        ingested.jsonl                   one line per ingestion (files, counts, part) and per
                                         compaction ({"compaction": {"merged", "replaces", ...}})
        snapshots/<pid>-<n>/             readers' hard links to the parts they read
        .lock, .compact.lock             one writer at a time; one compaction at a time
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jalsa.config import Settings

PARTS = "part-*.parquet"
# How every part is written (zstd level 1: 6% larger than the default level 3, 18% faster)
PART_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 500000"
COMPACTING = "compacting.json"  # the compaction under way (see compaction.py)
SNAPSHOTS = "snapshots"  # readers' hard links (see PostDataset.snapshot)


class PostDataset:
    """The posts dataset of one event, in the folder `root` (see the module's docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.posts = root / "posts"
        self.quarantine = root / "quarantine"
        self.raw = root / "raw"
        self.manifest = root / "ingested.jsonl"

    @classmethod
    def of_event(cls, settings: Settings, slug: str) -> PostDataset:
        return cls(Path(settings.data_dir) / "conversation" / slug)

    def parts(self) -> list[Path]:
        """The part files, without any that a published compaction replaced (their removal
        may not have happened yet). The listing is one instant's: a compaction publishes
        under the same folder lock (see `compaction.py`), so no post is listed twice or
        missed. A listed part may still be removed by a later compaction before it is read:
        readers that take their time read a `snapshot()`."""
        if not self.posts.is_dir():
            return []
        with self.view_lock(exclusive=False):
            return self._visible()

    def _visible(self) -> list[Path]:
        parts = sorted(self.posts.glob(PARTS))
        journal = self.journal()
        if journal and journal["merged"] in {p.name for p in parts}:
            replaced = set(journal["replaces"])
            parts = [p for p in parts if p.name not in replaced]
        return parts

    @contextmanager
    def snapshot(self) -> Iterator[list[Path]]:
        """The parts of one instant, as hard links in a folder of this reader's own
        (`snapshots/<pid>-<n>/`), removed when the block ends: a compaction that replaces
        them meanwhile removes its names, not the files this reader holds. Linking costs one
        system call per part, no copy."""
        if not self.posts.is_dir():
            yield []
            return
        folder = self.root / SNAPSHOTS / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        try:
            links = []
            with self.view_lock(exclusive=False):
                for part in self._visible():
                    os.link(part, folder / part.name)
                    links.append(folder / part.name)
            yield links
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def view_lock(self, exclusive: bool) -> Iterator[None]:
        """The lock on the posts folder itself: shared while listing the parts, exclusive
        while a compaction changes which parts are listed (a rename, the journal's end)."""
        fd = os.open(self.posts, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    def journal(self) -> dict[str, Any] | None:
        """The compaction under way, if any: {"merged", "replaces", "posts", "at"}."""
        try:
            data = json.loads((self.posts / COMPACTING).read_text())
        except (OSError, ValueError):
            return None
        ok = isinstance(data, dict) and isinstance(data.get("merged"), str)
        return data if ok and isinstance(data.get("replaces"), list) else None

    def lineage(self) -> list[dict[str, Any]]:
        """Every published compaction, oldest first: {"merged": NAME, "replaces": [NAMES],
        "posts": N, "at": ISO}, from the manifest's `compaction` lines, and the one under way
        when its merged part is already published but its line is not written yet (after a
        crash in between): a merged part's posts are those of the parts it replaces. Every
        merged part of a `parts()` listing taken before this call is in it."""
        journal = self.journal()  # before the manifest: the line is written before it ends
        found = [e["compaction"] for e in self.history() if isinstance(e.get("compaction"), dict)]
        if (
            journal
            and (self.posts / journal["merged"]).exists()
            and all(e.get("merged") != journal["merged"] for e in found)
        ):
            found.append({k: journal.get(k) for k in ("merged", "replaces", "posts", "at")})
        return found

    def exists(self) -> bool:
        return bool(self.parts())

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Only one writer at a time, across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A scratch folder for one ingestion, removed afterwards (and, if a crash left one
        behind, by the next ingestion: it only ever holds uncommitted work)."""
        base = self.root / "staging"
        shutil.rmtree(base, ignore_errors=True)
        folder = base / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def new_part(self, staging: Path, stamp: str | None = None) -> tuple[Path, Path]:
        """A fresh part name (stamped now, or with `stamp`), and where to write it first (in
        the staging folder, so an unfinished part never shows among the posts)."""
        self.posts.mkdir(parents=True, exist_ok=True)
        stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        final = self.posts / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        return final, staging / final.name

    def publish(self, temporary: Path, final: Path) -> None:
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        temporary.rename(final)
        fd = os.open(self.posts, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def quarantine_file(self) -> Path:
        self.quarantine.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return self.quarantine / f"{stamp}-{uuid.uuid4().hex[:6]}.jsonl"

    def record(self, entry: dict[str, Any]) -> None:
        """Append one line to the manifest in a single write (lines from several processes
        never interleave); a line torn by a crash is closed first, so it spoils only itself."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
        fd = os.open(self.manifest, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            while line:
                line = line[os.write(fd, line) :]
        finally:
            os.close(fd)

    def history(self) -> list[dict[str, Any]]:
        """The manifest's lines: one per ingestion, and one per compaction (see lineage)."""
        if not self.manifest.exists():
            return []
        out = []
        for line in self.manifest.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash
            if isinstance(entry, dict):
                out.append(entry)
        return out
