"""Partial aggregates of one part file: what the live figures need from that part's posts,
computed once from the part alone (DuckDB over one file) and kept beside the dataset, so a
refresh reads the parts that are new and nothing else.

    <data_dir>/conversation/<event>/partials/<part name>   one Parquet file per part

A partial is written under a temporary name and renamed into place, so a crash leaves either
the whole partial or none; a part without one (or with one of an older layout, or of another
file size) gets it computed again when it is next needed.

Rows, one table per part (`kind` says which; minutes are whole minutes since 1970 UTC, as in
the batch measures, and every rule comes from measures.py and stages.py, not restated here):
    minute       per minute: posts, originals, reposts, replies, quotes (the `minutes`
                 stage) and a Theta sketch of the accounts that posted in it
    tag          per hashtag and minute: posts carrying it and its uses (`tag_minute` stage)
    word         per word and minute: original posts that use it (as `top_terms` counts)
    fast         per account and minute: its posts, for accounts with two or more
    key          per near-identical text key (`keyed` stage, at least `min_letters` long):
                 posts, first and last second, and a sketch of the accounts that posted it
    tag_authors  per hashtag: the posts carrying it and a sketch of the accounts that did

Bounded whatever the part holds: per minute at most TAGS_PER_MINUTE hashtags,
WORDS_PER_MINUTE words and FAST_PER_MINUTE accounts, per part KEYS_PER_PART text keys and
TAG_SKETCHES hashtag sketches, each time the items with the most posts (ties: more uses, then
by name). What is left out is not lost from the totals: one `other` row per kind and minute
(per part for keys; item NULL) holds the posts (and uses) of the items left out and how many
items they were, so per-minute totals stay exact and a figure can say when its per-item
counts are lower bounds. Partials combine (`combine`: sums, sketch unions, the same bounds),
which is how a compacted part gets its partial from the partials of the parts it replaced."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jalsa.conversation import sketches
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import connect
from jalsa.conversation.measure_sql import render_stage
from jalsa.conversation.measures import HASHTAG_ITEMS, WORD_FILTER, WORDS
from jalsa.conversation.stages import KEYED, MINUTE, MINUTES, RUN_POSTS, TAG_MINUTE

log = logging.getLogger(__name__)

VERSION = 1  # of the layout below; a partial of another version is computed again
FOLDER = "partials"
META_KEY = b"jalsa.partial"

TAGS_PER_MINUTE = 2000
WORDS_PER_MINUTE = 200
FAST_PER_MINUTE = 100
KEYS_PER_PART = 500
TAG_SKETCHES = 2000
CAPS = {
    "tag": TAGS_PER_MINUTE,
    "word": WORDS_PER_MINUTE,
    "fast": FAST_PER_MINUTE,
    "key": KEYS_PER_PART,
    "tag_authors": TAG_SKETCHES,
}
MIN_LETTERS = int(RUN_POSTS.params["min_letters"])  # a text key long enough to be copied text
SKETCHED = ("minute", "key", "tag_authors")

SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("m", pa.int64()),
        ("item", pa.string()),
        ("posts", pa.int64()),
        ("uses", pa.int64()),
        ("originals", pa.int64()),
        ("reposts", pa.int64()),
        ("replies", pa.int64()),
        ("quotes", pa.int64()),
        ("first_second", pa.int64()),
        ("last_second", pa.int64()),
        ("items", pa.int64()),
        ("sketch", pa.binary()),
    ]
)
COLUMNS = ", ".join(SCHEMA.names)
SUMS = ("posts", "uses", "originals", "reposts", "replies", "quotes", "items")

BOUNDS = (
    f"Each part file's counts are bounded: per minute the {TAGS_PER_MINUTE:,} hashtags and "
    f"{WORDS_PER_MINUTE} words with the most posts, per part the {TAG_SKETCHES:,} hashtags "
    "with the most posts get an account sketch; the rest of a minute's posts are kept as "
    "one 'other' total, so totals stay exact and a per-item count is a lower bound only when "
    "something was left out (the figure then says so)."
)


@dataclass
class Partial:
    """The partial aggregates of one part (rows in SCHEMA) and what they were made from:
    `table` when computed in this process, else `path`, the stored file, which DuckDB reads
    (a Parquet file read into Arrow holds several times its size in memory)."""

    part: str
    part_bytes: int
    posts: int
    min_minute: int | None
    max_minute: int | None
    table: pa.Table | None = None
    path: Path | None = None

    def meta(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "part": self.part,
            "part_bytes": self.part_bytes,
            "posts": self.posts,
            "min_minute": self.min_minute,
            "max_minute": self.max_minute,
            "caps": CAPS,
            "lg_k": sketches.LG_K,
        }

    @contextmanager
    def scan(self, con: duckdb.DuckDBPyConnection, name: str) -> Iterator[str]:
        """The rows as the relation `name` on `con` while the block runs."""
        if self.table is not None:
            con.register(name, self.table)
            try:
                yield name
            finally:
                con.unregister(name)
            return
        assert self.path is not None
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet("
            f"{_quote(str(self.path))})"
        ).fetchall()
        try:
            yield name
        finally:
            con.execute(f"DROP VIEW IF EXISTS {name}").fetchall()

    def to_table(self) -> pa.Table:
        if self.table is not None:
            return self.table
        assert self.path is not None
        return pq.read_table(self.path).replace_schema_metadata(None).cast(SCHEMA)


def folder_of(dataset: PostDataset) -> Path:
    return dataset.root / FOLDER


def path_of(dataset: PostDataset, part: str) -> Path:
    return folder_of(dataset) / part


# -- computing one ---------------------------------------------------------------------------


def compute(part: Path) -> Partial:
    """The partial aggregates of one part file, from that file alone."""
    size = part.stat().st_size
    con = _connect()
    try:
        con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet({_quote(str(part))})")
        for stage in STAGES:
            con.execute(f"CREATE TEMP TABLE {stage.name} AS {_stage_sql(stage.name)}")
        con.execute(f"CREATE TEMP TABLE raw AS {_raw_rows()}")
        kept = _bounded(con, "raw")
        con.register("kept", kept)
        con.register("sketched", _sketches(con))
        table = con.sql(
            "SELECT k.* EXCLUDE (sketch), s.sketch FROM kept k LEFT JOIN sketched s "
            "ON s.kind = k.kind AND s.m IS NOT DISTINCT FROM k.m "
            "AND s.item IS NOT DISTINCT FROM k.item"
        ).to_arrow_table()
    finally:
        con.close()
    return _partial(part.name, size, table)


STAGES = (MINUTES, TAG_MINUTE, KEYED)


@functools.cache
def _stage_sql(name: str) -> str:
    """A stage's SQL, rendered once (sqlglot takes tens of milliseconds to render one)."""
    return render_stage(next(s for s in STAGES if s.name == name))


def _raw_rows() -> str:
    """Every row of the partial before the bounds, without sketches."""
    return f"""
SELECT 'minute' AS kind, m, posts, originals, reposts, replies, quotes FROM minutes
UNION ALL BY NAME
SELECT 'tag' AS kind, m, tag AS item, posts, uses FROM tag_minute
UNION ALL BY NAME
SELECT 'word' AS kind, t // 60 AS m, item, count(*) AS posts
FROM (SELECT t, {WORDS} AS item FROM keyed) WHERE {WORD_FILTER} GROUP BY 2, 3
UNION ALL BY NAME
SELECT 'fast' AS kind, {MINUTE} AS m, author_id AS item, count(*) AS posts
FROM posts WHERE author_id IS NOT NULL GROUP BY 2, 3 HAVING count(*) >= 2
UNION ALL BY NAME
SELECT 'key' AS kind, k AS item, count(*) AS posts, min(t) AS first_second,
    max(t) AS last_second
FROM keyed WHERE length(k) >= {MIN_LETTERS} GROUP BY k
UNION ALL BY NAME
SELECT 'tag_authors' AS kind, tag AS item, CAST(sum(posts) AS BIGINT) AS posts
FROM tag_minute GROUP BY tag"""


def _sketches(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The account sketches of every minute and of the kept keys and hashtags."""
    groups = {
        "minute": f"SELECT {MINUTE} AS m, NULL::VARCHAR AS item, author_id FROM posts",
        "key": "SELECT NULL::BIGINT AS m, k AS item, author_id FROM keyed "
        "WHERE k IN (SELECT item FROM kept WHERE kind = 'key' AND item IS NOT NULL)",
        "tag_authors": f"SELECT NULL::BIGINT AS m, item, author_id FROM ({HASHTAG_ITEMS}) "
        "WHERE item IN (SELECT item FROM kept WHERE kind = 'tag_authors')",
    }
    found = [
        con.sql(
            f"SELECT '{kind}' AS kind, m, item, list(DISTINCT author_id) AS ids FROM ({sql}) "
            "WHERE author_id IS NOT NULL GROUP BY m, item"
        ).to_arrow_table()
        for kind, sql in groups.items()
    ]
    table = pa.concat_tables(found)
    ids = pa.chunked_array([c.flatten() for c in table["ids"].chunks], pa.string()).to_pylist()
    lengths = pc.list_value_length(table["ids"]).to_pylist()
    made, start = [], 0
    for length in lengths:
        made.append(sketches.to_bytes(sketches.of_ids(ids[start : start + length])))
        start += length
    return table.drop_columns(["ids"]).append_column(
        SCHEMA.field("sketch"), pa.array(made, pa.binary())
    )


def _bounded(con: duckdb.DuckDBPyConnection, relation: str) -> pa.Table:
    """The rows of `relation` within the bounds: per kind and minute (per part for keys and
    hashtag sketches) the items with the most posts; the others summed into the kind's
    `other` row of that minute (none for hashtag sketches: a hashtag without one is known by
    its posts)."""
    caps = ", ".join(f"('{kind}', {cap})" for kind, cap in CAPS.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE given AS SELECT {_columns(relation, con)} FROM {relation}"
    )
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE ranked AS
SELECT g.*, row_number() OVER (
        PARTITION BY g.kind, g.m ORDER BY g.posts DESC, g.uses DESC NULLS LAST, g.item
    ) AS rank, c.cap
FROM (SELECT * FROM given WHERE item IS NOT NULL) g
JOIN (VALUES {caps}) c(kind, cap) ON c.kind = g.kind"""
    )
    table = con.sql(
        f"""
SELECT * FROM (
SELECT * FROM given WHERE kind = 'minute'
UNION ALL BY NAME
SELECT {COLUMNS} FROM ranked WHERE rank <= cap
UNION ALL BY NAME
SELECT kind, m, CAST(sum(posts) AS BIGINT) AS posts, CAST(sum(uses) AS BIGINT) AS uses,
    CAST(sum(items) AS BIGINT) AS items
FROM (
    SELECT kind, m, posts, uses, 1 AS items FROM ranked
    WHERE rank > cap AND kind <> 'tag_authors'
    UNION ALL
    SELECT kind, m, posts, uses, items FROM given
    WHERE item IS NULL AND kind NOT IN ('minute', 'tag_authors')
)
GROUP BY kind, m
)
ORDER BY kind, m, item"""
    ).to_arrow_table()
    con.execute("DROP TABLE given")
    con.execute("DROP TABLE ranked")
    return table.select(SCHEMA.names).cast(SCHEMA)


def _columns(relation: str, con: duckdb.DuckDBPyConnection) -> str:
    """SCHEMA's columns as `relation` has them (NULL for those it lacks), cast to SCHEMA."""
    have = {r[0] for r in con.sql(f"DESCRIBE {relation}").fetchall()}
    types = {"string": "VARCHAR", "int64": "BIGINT", "binary": "BLOB"}
    out = []
    for field in SCHEMA:
        kind = types[str(field.type)]
        value = field.name if field.name in have else "NULL"
        out.append(f"CAST({value} AS {kind}) AS {field.name}")
    return ", ".join(out)


def _partial(part: str, size: int, table: pa.Table) -> Partial:
    table = table.select(SCHEMA.names).cast(SCHEMA)
    minutes = table.filter(pc.equal(table["kind"], "minute"))
    posts = pc.sum(minutes["posts"]).as_py() or 0
    return Partial(
        part=part,
        part_bytes=size,
        table=table,
        posts=int(posts),
        min_minute=pc.min(minutes["m"]).as_py(),
        max_minute=pc.max(minutes["m"]).as_py(),
    )


# -- combining -------------------------------------------------------------------------------


def combine(part: str, size: int, partials: Sequence[Partial]) -> Partial:
    """The partial of a part holding the posts of these parts (a compaction's merged part),
    from their partials: counts summed, sketches united, the same bounds applied again."""
    if not partials:
        return _partial(part, size, SCHEMA.empty_table())
    con = _connect()
    try:
        with ExitStack() as stack:
            names = [stack.enter_context(p.scan(con, f"given_{i}")) for i, p in enumerate(partials)]
            every = " UNION ALL ".join(f"SELECT {COLUMNS} FROM {n}" for n in names)
            sums = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in SUMS)
            grouped = con.sql(
                f"""
SELECT kind, m, item, {sums}, min(first_second) AS first_second,
    max(last_second) AS last_second, list(sketch) FILTER (WHERE sketch IS NOT NULL) AS parts
FROM ({every}) GROUP BY kind, m, item"""
            ).to_arrow_table()
        united = [
            sketches.to_bytes(sketches.union(sketches.from_bytes(b) for b in found))
            if found
            else None
            for found in grouped["parts"].to_pylist()
        ]
        merged = grouped.drop_columns(["parts"]).append_column(
            SCHEMA.field("sketch"), pa.array(united, pa.binary())
        )
        con.register("merged", merged)
        kept = _bounded(con, "merged")
    finally:
        con.close()
    return _partial(part, size, kept)


# -- storing ---------------------------------------------------------------------------------


def store(dataset: PostDataset, partial: Partial) -> Path | None:
    """Write the partial beside the dataset (temporary name, then an atomic rename); None if
    the folder cannot be written (the partial is then computed again next time)."""
    folder = folder_of(dataset)
    final = folder / partial.part
    temporary = folder / f".{partial.part}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table = partial.to_table().replace_schema_metadata({META_KEY: json.dumps(partial.meta())})
        pq.write_table(table, temporary, compression="zstd")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except OSError as exc:
        log.warning("the partial of %s could not be stored: %s", partial.part, exc)
        temporary.unlink(missing_ok=True)
        return None
    return final


def read(dataset: PostDataset, part: str, size: int | None) -> Partial | None:
    """The stored partial of `part` when there is one of this layout for a file of `size`
    bytes (any size if None: a part that is gone); None otherwise (missing, unreadable,
    older or of another file)."""
    path = path_of(dataset, part)
    try:
        found = pq.read_metadata(path)
        meta = json.loads((found.metadata or {}).get(META_KEY, b"{}"))
        if found.schema.to_arrow_schema().remove_metadata() != SCHEMA:
            return None
    except (OSError, ValueError, pa.ArrowException):
        return None
    expected = {"version": VERSION, "part": part, "caps": CAPS, "lg_k": sketches.LG_K}
    if size is not None:
        expected["part_bytes"] = size
    if any(meta.get(k) != v for k, v in expected.items()):
        return None
    return Partial(
        part=part,
        part_bytes=int(meta["part_bytes"]),
        path=path,
        posts=int(meta["posts"]),
        min_minute=meta["min_minute"],
        max_minute=meta["max_minute"],
    )


def load(dataset: PostDataset, part: Path) -> tuple[Partial, bool]:
    """The partial of a part: stored, or computed now (and stored). True when computed."""
    size = part.stat().st_size
    found = read(dataset, part.name, size)
    if found is not None:
        return found, False
    partial = compute(part)
    store(dataset, partial)
    return partial, True


def forget(dataset: PostDataset, parts: Sequence[str]) -> None:
    """Remove the partials of parts that are gone (a compaction removed them)."""
    for name in parts:
        if not (dataset.posts / name).exists():
            try:
                path_of(dataset, name).unlink(missing_ok=True)
            except OSError:
                continue


def sweep(dataset: PostDataset, older_than: float = 3600.0) -> None:
    """Remove temporary files a killed process left in the partials' folder (a writer
    renames its own within seconds, so an hour-old one is nobody's)."""
    now = time.time()
    for stale in folder_of(dataset).glob(".*.tmp"):
        try:
            if now - stale.stat().st_mtime > older_than:
                stale.unlink()
        except OSError:
            continue


def _connect() -> duckdb.DuckDBPyConnection:
    con = connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
