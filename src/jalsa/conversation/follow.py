"""Ingest what the collectors append to their raw logs, as they append it: each round takes
the complete lines after the last ingested byte of every log (a line still being written
waits for the next round) and records how far it got only after the part is published. A
crash in between ingests those lines again, which adds nothing: posts are deduplicated."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import IngestSummary, ingest
from jalsa.conversation.lines import Piece
from jalsa.platforms.collect.rawlog import raw_dir

# raw log name prefix -> source format; x-counts holds counts, not posts
FORMATS = {"x-search": "x", "x-stream": "x", "youtube-chat": "youtube-chat"}
FORMATS["facebook-comments"] = "facebook-comments"
TAIL = 1 << 16


def format_of(log: Path) -> str | None:
    name = log.name.removesuffix(".jsonl")
    return next((f for prefix, f in FORMATS.items() if name.startswith(prefix)), None)


@dataclass
class Mark:
    offset: int = 0  # bytes of the log already ingested
    lines: int = 0  # lines of the log already ingested

    @classmethod
    def of(cls, log: Path) -> Mark:
        try:
            data = json.loads(_mark_path(log).read_text())
            return cls(int(data["offset"]), int(data["lines"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, log: Path) -> None:
        path = _mark_path(log)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"offset": self.offset, "lines": self.lines}))
        os.replace(tmp, path)


def _mark_path(log: Path) -> Path:
    return log.with_name(log.name.removesuffix(".jsonl") + ".ingested.json")


def complete_end(log: Path, start: int) -> int:
    """The byte just after the last newline of the log (not before `start`)."""
    size = log.stat().st_size
    with log.open("rb") as f:
        end = size
        while end > start:
            begin = max(start, end - TAIL)
            f.seek(begin)
            chunk = f.read(end - begin)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return begin + cut + 1
            end = begin
    return start


def ingest_new_lines(dataset: PostDataset) -> IngestSummary | None:
    """One round over every raw log of the dataset; None when nothing new was written."""
    folder = raw_dir(dataset.root)
    pieces: list[Piece] = []
    for log in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        fmt = format_of(log)
        if fmt is None:
            continue
        mark = Mark.of(log)
        end = complete_end(log, mark.offset)
        if end > mark.offset:
            pieces.append(Piece(log, mark.offset, mark.lines + 1, end, fmt))
    if not pieces:
        return None
    summary = ingest(dataset, pieces)
    for piece, done in zip(pieces, summary.files, strict=True):
        Mark(piece.end or 0, piece.first_line - 1 + done.lines).save(piece.path)
    return summary
