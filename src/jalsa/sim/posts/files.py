"""The generated posts as zstd Parquet in POST_SCHEMA: one file, or part files of a set number
of rows in a directory, each written under a temporary name and renamed when complete."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from jalsa.platforms.post_record import POST_SCHEMA
from jalsa.sim.posts.batches import generate_batches
from jalsa.sim.posts.plan import PostSimConfig


def write_parquet(
    config: PostSimConfig,
    out: Path,
    progress: Callable[[int], None] | None = None,
    *,
    directory: bool | None = None,
) -> list[Path]:
    """Write the posts as zstd Parquet in POST_SCHEMA. One file, or part files of about
    `config.part_rows` rows (part-00000.parquet, ...) when `out` is a directory (or
    `directory=True`); stale part files of an earlier run there are removed.
    `progress` gets the number of posts written so far."""
    as_dir = out.is_dir() if directory is None else directory
    if as_dir:
        out.mkdir(parents=True, exist_ok=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    writer: pq.ParquetWriter | None = None
    tmp: Path | None = None
    rows_in_file = done = 0

    def close() -> None:
        nonlocal writer, tmp
        if writer is not None and tmp is not None:
            writer.close()
            final = tmp.with_name(tmp.name.removesuffix(".tmp"))
            os.replace(tmp, final)
            written.append(final)
        writer, tmp = None, None

    try:
        for batch in generate_batches(config):
            if writer is None or (as_dir and rows_in_file >= config.part_rows):
                close()
                name = f"part-{len(written):05d}.parquet" if as_dir else out.name
                tmp = (out if as_dir else out.parent) / f"{name}.tmp"
                writer = pq.ParquetWriter(
                    tmp,
                    POST_SCHEMA,
                    compression="zstd",
                    use_dictionary=[
                        "platform",
                        "lang",
                        "source",
                        "hashtags.list.element",
                        "urls.list.element",
                        "mentions.list.element",
                    ],
                )
                rows_in_file = 0
            writer.write_batch(batch, row_group_size=len(batch))
            rows_in_file += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done)
        close()
    finally:
        if writer is not None:
            writer.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    if as_dir:
        keep = set(written)
        for stale in out.glob("part-*.parquet"):
            if stale not in keep and re.fullmatch(r"part-\d{5}\.parquet", stale.name):
                stale.unlink()
    return written
