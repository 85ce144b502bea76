"""What is behind each spike of the live figures (the top posts and accounts): the batch
measure SPIKE_EVIDENCE, run over only the part files whose minutes overlap the spike, and kept
per spike with the names of those parts. Parts never change once published, so the evidence
stays right until another part overlaps the spike (a late post, or the spike growing).

The kept evidence is also stored beside the partials (`partials/spike-evidence.json`,
temporary name then rename), so a restarted panel does not read every spike's minutes again:
on 10 million posts that is most of a first refresh."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping
from typing import Any

import duckdb

from jalsa.conversation import measures as m
from jalsa.conversation.analysis import attach_evidence
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.measure_sql import Rows, render
from jalsa.conversation.partials import folder_of

log = logging.getLogger(__name__)

FILE = "spike-evidence.json"
VERSION = 1

Key = tuple[str, int, int]  # tag, first minute, last minute
Ranges = Mapping[str, tuple[int | None, int | None]]  # part -> its first and last minute


class SpikeEvidence:
    """The evidence of an event's spikes, kept per spike (see the module's docstring)."""

    def __init__(self, dataset: PostDataset) -> None:
        self.dataset = dataset
        self.kept: dict[Key, tuple[frozenset[str], dict[str, Any]]] = self._read()

    def attach(self, spikes: list[dict[str, Any]], ranges: Ranges) -> list[str]:
        """Give each spike its `top_posts` and `top_accounts`; the parts read for them."""
        missing: list[tuple[dict[str, Any], frozenset[str]]] = []
        for spike in spikes:
            names = overlapping(ranges, spike["first_minute"], spike["last_minute"])
            found = self.kept.get(key_of(spike))
            if found is not None and found[0] == names:
                spike.update(found[1])
            else:
                missing.append((spike, names))
        read: list[str] = []
        if missing:
            read = sorted(set().union(*(names for _, names in missing)))
            given = [spike for spike, _ in missing]
            try:
                rows = self._rows(given, read)
            except (duckdb.Error, OSError):
                if all((self.dataset.posts / name).exists() for name in read):
                    raise
                attach_evidence(given, [])  # a compaction replaced a part: next time
                return []
            attach_evidence(given, rows)
            for spike, names in missing:
                evidence = {k: spike[k] for k in ("top_posts", "top_accounts")}
                self.kept[key_of(spike)] = (names, evidence)
        wanted = {key_of(s) for s in spikes}
        stale = [k for k in self.kept if k not in wanted]
        for k in stale:
            del self.kept[k]
        if missing or stale:
            self._write()
        return read

    def renamed(self, replaces: set[str], merged: str) -> None:
        """A compaction merged these parts into `merged`: the evidence read from them holds."""
        for k, (names, evidence) in list(self.kept.items()):
            if names & replaces:
                self.kept[k] = ((names - replaces) | {merged}, evidence)

    def _rows(self, spikes: list[dict[str, Any]], parts: list[str]) -> list[dict[str, Any]]:
        keys = tuple(key_of(s) for s in spikes)
        sql = render(
            m.SPIKE_EVIDENCE,
            spikes=Rows(3, keys),
            since=min(k[1] for k in keys) * 60,
            until=(max(k[2] for k in keys) + 1) * 60,
        )
        engine = DuckDBEngine([self.dataset.posts / name for name in parts])
        try:
            engine.con.execute("SET enable_progress_bar = false").fetchall()
            rows: list[dict[str, Any]] = engine.table(sql).to_pylist()
        finally:
            engine.close()
        return rows

    def _read(self) -> dict[Key, tuple[frozenset[str], dict[str, Any]]]:
        try:
            data = json.loads((folder_of(self.dataset) / FILE).read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                return {}
            return {
                (str(e["tag"]), int(e["first"]), int(e["last"])): (
                    frozenset(str(n) for n in e["parts"]),
                    {"top_posts": list(e["top_posts"]), "top_accounts": list(e["top_accounts"])},
                )
                for e in data["spikes"]
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # none stored, or not ours: computed again when needed

    def _write(self) -> None:
        folder = folder_of(self.dataset)
        final = folder / FILE
        temporary = folder / f".{FILE}.{uuid.uuid4().hex[:8]}.tmp"
        entries = [
            {"tag": k[0], "first": k[1], "last": k[2], "parts": sorted(names), **evidence}
            for k, (names, evidence) in self.kept.items()
        ]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temporary.write_text(
                json.dumps({"version": VERSION, "spikes": entries}, ensure_ascii=False),
                encoding="utf-8",
            )
            os.replace(temporary, final)
        except OSError as exc:
            log.warning("the spike evidence could not be stored: %s", exc)
            temporary.unlink(missing_ok=True)


def key_of(spike: Mapping[str, Any]) -> Key:
    return (spike["tag"], int(spike["first_minute"]), int(spike["last_minute"]))


def overlapping(ranges: Ranges, first: int, last: int) -> frozenset[str]:
    """The parts with posts in minutes first..last."""
    return frozenset(
        name
        for name, (low, high) in ranges.items()
        if low is not None and high is not None and low <= last and high >= first
    )
