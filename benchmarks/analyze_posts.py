"""Benchmark: the full conversation analysis of tens of millions of generated posts.

Issue targets: the full analysis (`jalsa.conversation.analysis.analyze` on DuckDB, every
measure) of 65 million posts within 1.3x the wall time of hand-written DuckDB SQL computing
the same figures on the same files, at least 10x faster than a straightforward pandas
implementation, peak memory under 6 GB, and time from 10M to 65M posts near-linear.

Three implementations of the same figures, each run in its own child process (a fresh
interpreter running this script with `--child`), timed from opening the files to having every
figure, with the child's peak resident memory (`ru_maxrss` from `os.wait4`, so DuckDB's and
Arrow's memory count):

  ours    analyze(DuckDBEngine(parts), voices=...): every measure's SQL from measures.py.
  hand    DuckDB SQL written here, independently, the way an analyst would write one script:
          shared temp tables (per-minute and per-account counts, hashtag uses per minute, the
          near-identical text key computed once), list_distinct instead of DISTINCT over
          unnested rows, row-group pruning by time for spike evidence.
  pandas  pyarrow -> pandas, explode, groupby, rolling sums over a dense minute grid, str
          methods with the same regular expressions (pandas' pyarrow strings run them with
          RE2, DuckDB's regex engine).

`--check` runs all three on a small generated set and asserts that hand SQL and pandas give
the same figures as ours (everything but the HyperLogLog estimate of authors). The full run
compares ours with hand SQL at every size and with pandas at the pandas sizes as well.

The hand SQL and pandas count a post once per hashtag / mention / link / word by
de-duplicating within the row (list_distinct, drop_duplicates per post); this equals the
measures' DISTINCT over (platform, id, ...) because (platform, id) is unique in a dataset
(record.py), which `--check` verifies on the generated posts.

Usage (needs the bench extra, for pandas: `pip install -c requirements/lock.txt -e '.[bench]'`):
  python benchmarks/analyze_posts.py --check
  python benchmarks/analyze_posts.py --posts 10000000 65000000 --pandas-posts 2000000 10000000 \\
      --json benchmarks/results/analyze_posts.json
Generated posts are cached under --workdir (default /tmp/jalsa-bench/posts-<N>-<seed>/) and
reused. Results are written down in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from jalsa.conversation.analysis import Voices

HERE = Path(__file__).resolve()
DEFAULT_WORKDIR = Path("/tmp/jalsa-bench")
# The generator's one party, its leader and the outage story (hashtags as it writes them,
# lower case, and phrases found in its texts).
DEFAULT_VOICES = [
    "PTI=#pti,#ptivirtualjalsa,#voteforpti,#ptijalsa,#insaf,pti",
    "Imran Khan=#imrankhan,#imrankhanzindabad,#releaseimrankhan,#khankajalsa,imran khan",
    "Internet shutdown=#internetshutdown,#keepiton,#xdown,#twitterdown,vpn",
]
ENGINES = ("ours", "hand", "pandas")

# The measures' constants, restated (definitions in measures.py and docs/decisions.md §11).
NEAR_RE = r"https?://[^ ]+|[@#][\pL\pN_]+|[^\pL ]+"
TOP, TAG_MINUTE_TOP = 25, 5
SPIKE_WINDOW, SPIKE_THRESHOLD, SPIKE_MIN = 15, 6, 30
MIN_LETTERS, MIN_ACCOUNTS, RUN_SECONDS = 40, 5, 300
SHARE_OF = 200  # a run takes at least 1/200 (0.005) of all posts in its minutes
FAST_PER_MINUTE = 10
RECENT_DAYS, BURST_ACCOUNTS, BURST_SCORE, USUAL_DAYS = 90, 20, 6, 7


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------


def dataset(count: int, seed: int, workdir: Path) -> list[Path]:
    """The generated posts as Parquet part files, made once and reused (complete.json marks
    a finished set)."""
    from jalsa.sim.posts.files import write_parquet
    from jalsa.sim.posts.plan import PostSimConfig

    folder = workdir / f"posts-{count}-{seed}"
    marker = folder / "complete.json"
    if marker.exists():
        return [folder / name for name in json.loads(marker.read_text())["parts"]]
    print(f"generating {count:,} posts (seed {seed}) in {folder} ...", flush=True)
    started = time.perf_counter()
    parts = write_parquet(PostSimConfig(count=count, seed=seed), folder, directory=True)
    seconds = round(time.perf_counter() - started, 1)
    info = {"posts": count, "seed": seed, "parts": [p.name for p in parts], "seconds": seconds}
    marker.write_text(json.dumps(info))
    print(f"  generated in {seconds} s", flush=True)
    return parts


def warm(parts: list[Path]) -> float:
    """Read the files once so every engine starts with them in the page cache."""
    size = 0
    for part in parts:
        with open(part, "rb") as fh:
            while chunk := fh.read(1 << 24):
                size += len(chunk)
    return size / 1e6


class Peaks:
    """Peak resident memory of each step of this process: at the end of a step its VmHWM is
    read and reset (`clear_refs` 5), so the process's peak is the largest of the steps."""

    def __init__(self) -> None:
        self.mb: dict[str, float] = {}

    @staticmethod
    def reset() -> None:
        with contextlib.suppress(OSError):  # not Linux: steps then show the peak so far
            Path("/proc/self/clear_refs").write_text("5")

    def mark(self, name: str) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                mb = int(line.split()[1]) / 1024
                self.mb[name] = round(max(self.mb.get(name, 0.0), mb), 1)
        self.reset()
        print(f"{time.strftime('%H:%M:%S')} done {name} peak {self.mb.get(name)} MB", flush=True)


PEAKS = Peaks()


# ----------------------------------------------------------------------------------------
# ours
# ----------------------------------------------------------------------------------------


def run_ours(
    parts: list[Path], voices: Voices, opts: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, float]]:
    from jalsa.conversation import measures as m
    from jalsa.conversation.analysis import analyze
    from jalsa.conversation.engines import DuckDBEngine

    names = {x.title: x.name for x in m.ALL}
    current = ["open"]

    def step(title: str) -> None:  # analyze calls this as each measure starts
        PEAKS.mark(current[0])
        current[0] = names[title]

    engine = DuckDBEngine(parts, memory_limit=opts.memory_limit)
    wanted = [x.name for x in m.ALL if x.name not in opts.skip]
    try:
        result = analyze(engine, voices=voices, only=wanted, step=step)
        PEAKS.mark(current[0])
    finally:
        engine.close()
    figures: dict[str, Any] = dict(result.results)
    figures["spikes"] = [
        {
            "tag": s["tag"],
            "first_minute": s["first_minute"],
            "last_minute": s["last_minute"],
            "posts": s["posts"],
            "peak_score": s["peak"]["score"],
        }
        for s in sorted(result.spikes, key=lambda s: (s["tag"], s["first_minute"]))
    ]
    return figures, dict(result.seconds)


# ----------------------------------------------------------------------------------------
# hand-written DuckDB SQL
# ----------------------------------------------------------------------------------------


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]::VARCHAR[]"


def run_hand(
    parts: list[Path], voices: Voices, opts: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, float]]:
    import os

    import duckdb

    from jalsa.conversation.measures import STOP_WORDS

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    if opts.memory_limit:
        con.execute(f"SET memory_limit = {_q(opts.memory_limit)}")
    files = ", ".join(_q(str(p)) for p in parts)
    con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet([{files}])")
    out: dict[str, Any] = {}
    seconds: dict[str, float] = {}

    def step(name: str, *statements: str) -> list[dict[str, Any]]:
        """Run the statements; the last one's rows are the figure `name` (if it returns)."""
        if name in opts.skip:
            return []
        started = time.perf_counter()
        rows: list[dict[str, Any]] = []
        for sql in statements:
            rel = con.sql(sql)
            if rel is not None:
                rows = rel.to_arrow_table().to_pylist()
        seconds[name] = round(time.perf_counter() - started, 3)
        PEAKS.mark(name)
        out[name] = rows
        return rows

    minute = "epoch_us(created_at) // 60000000"
    # Per minute: volume, authors, kinds; the overview is its sum.
    step(
        "per_minute",
        f"""CREATE TEMP TABLE minutes AS
        SELECT {minute} AS m, count(*) AS posts, count(DISTINCT author_id) AS authors,
            count(repost_of) AS reposts, count(reply_to) AS replies, count(quote_of) AS quotes,
            count(*) FILTER (WHERE repost_of IS NULL AND reply_to IS NULL AND quote_of IS NULL)
                AS originals,
            min(created_at) AS first_at
        FROM posts GROUP BY 1""",
        "SELECT m AS minute, posts, authors, reposts FROM minutes ORDER BY m",
    )
    step(
        "platform_minutes",
        f"""SELECT platform, {minute} AS minute, count(*) AS posts FROM posts
        GROUP BY 1, 2 ORDER BY 1, 2""",
    )
    # Per account: volume, reposts, handle, creation.
    step(
        "accounts",
        """CREATE TEMP TABLE accounts AS
        SELECT author_id, count(*) AS posts, count(repost_of) AS reposts,
            max(author_handle) AS handle, min(author_created_at) AS created,
            count(author_created_at) AS dated_posts
        FROM posts GROUP BY 1""",
    )
    step(
        "overview",
        """SELECT sum(posts)::BIGINT AS posts,
            (SELECT count(*) FROM accounts) AS authors,
            (SELECT approx_count_distinct(author_id) FROM accounts) AS authors_approx,
            sum(originals)::BIGINT AS originals, sum(reposts)::BIGINT AS reposts,
            sum(replies)::BIGINT AS replies, sum(quotes)::BIGINT AS quotes,
            min(m) AS first_minute, max(m) AS last_minute
        FROM minutes""",
    )
    step(
        "top_authors",
        f"""SELECT author_id AS item, handle, posts, reposts FROM accounts
        ORDER BY posts DESC, item LIMIT {TOP}""",
    )
    # Hashtag uses per minute: posts carrying the tag (once per post) and raw uses.
    step(
        "tag_uses",
        f"""CREATE TEMP TABLE tag_minute AS
        SELECT tag, m, count(*) AS posts, sum(n) AS uses FROM (
            SELECT m, tag, len(list_filter(hashtags, lambda x: x = tag)) AS n FROM (
                SELECT {minute} AS m, hashtags, unnest(list_distinct(hashtags)) AS tag
                FROM posts WHERE len(hashtags) > 0))
        GROUP BY 1, 2""",
    )
    lists = (("top_hashtags", "hashtags"), ("top_mentions", "mentions"), ("top_urls", "urls"))
    for name, column in lists:
        step(
            name,
            f"""SELECT item, count(*) AS posts, count(DISTINCT author_id) AS authors FROM (
                SELECT author_id, unnest(list_distinct({column})) AS item
                FROM posts WHERE len({column}) > 0)
            GROUP BY 1 ORDER BY posts DESC, item LIMIT {TOP}""",
        )
    step(
        "tag_minutes",
        f"""WITH top AS (SELECT tag FROM tag_minute GROUP BY tag
            ORDER BY sum(posts) DESC, tag LIMIT {TAG_MINUTE_TOP})
        SELECT tag, m AS minute, posts FROM tag_minute WHERE tag IN (SELECT tag FROM top)
        ORDER BY tag, minute""",
    )
    window = f"RANGE BETWEEN {SPIKE_WINDOW} PRECEDING AND 1 PRECEDING"
    step(
        "tag_spikes",
        f"""CREATE TEMP TABLE spike_minutes AS
        WITH per_minute AS (
            SELECT m, total, sum(total) OVER (ORDER BY m {window}) AS before
            FROM (SELECT m, sum(uses) AS total FROM tag_minute GROUP BY m)
        ),
        scored AS (
            SELECT t.tag, t.m, t.uses, p.before,
                CASE WHEN p.before > 0 THEN p.total * coalesce(sum(t.uses) OVER (
                    PARTITION BY t.tag ORDER BY t.m {window}), 0) / p.before ELSE 0 END
                    AS expected
            FROM tag_minute t JOIN per_minute p USING (m)
        )
        SELECT tag, m AS minute, uses AS posts, expected,
            (uses - expected) / sqrt(expected + 1) AS score
        FROM scored WHERE before > 0 AND uses >= {SPIKE_MIN}
            AND (uses - expected) / sqrt(expected + 1) >= {SPIKE_THRESHOLD}""",
        "SELECT * FROM spike_minutes ORDER BY tag, minute",
    )
    spikes = step(
        "spikes",
        """CREATE TEMP TABLE spikes AS
        SELECT tag, min(minute) AS first_minute, max(minute) AS last_minute,
            sum(posts)::BIGINT AS posts, max(score) AS peak_score
        FROM (SELECT *, minute - row_number() OVER (PARTITION BY tag ORDER BY minute) AS island
            FROM spike_minutes)
        GROUP BY tag, island""",
        "SELECT * FROM spikes ORDER BY tag, first_minute",
    )
    if spikes:
        # The spikes' time span as literals, so the Parquet reader skips other row groups.
        since = min(s["first_minute"] for s in spikes) * 60
        until = (max(s["last_minute"] for s in spikes) + 1) * 60
        step(
            "spike_evidence",
            f"""WITH hits AS (
                SELECT s.tag, s.first_minute, p.id, p.author_id, p.author_handle, p.text,
                    p.repost_of, p.engagement
                FROM (
                    SELECT id, author_id, author_handle, text, repost_of, {minute} AS m,
                        coalesce(like_count, 0) + coalesce(repost_count, 0) AS engagement,
                        unnest(list_distinct(hashtags)) AS tag
                    FROM posts
                    WHERE created_at >= to_timestamp({since})
                        AND created_at < to_timestamp({until})
                ) p
                JOIN spikes s ON s.tag = p.tag AND p.m BETWEEN s.first_minute AND s.last_minute
            ),
            top_posts AS (
                SELECT 'post' AS kind, tag, first_minute, id AS item, text AS detail,
                    engagement AS value, row_number() OVER (
                        PARTITION BY tag, first_minute ORDER BY engagement DESC, id) AS rank
                FROM hits WHERE repost_of IS NULL
                QUALIFY rank <= 3
            ),
            top_accounts AS (
                SELECT 'account' AS kind, tag, first_minute, author_id AS item,
                    max(author_handle) AS detail, count(*) AS value, row_number() OVER (
                        PARTITION BY tag, first_minute ORDER BY count(*) DESC, author_id)
                        AS rank
                FROM hits GROUP BY tag, first_minute, author_id
                QUALIFY rank <= 3
            )
            SELECT * FROM top_posts UNION ALL SELECT * FROM top_accounts
            ORDER BY tag, first_minute, kind, rank""",
        )
    # Share of voice: one pass, each post gives the voices it mentions.
    if voices.terms:
        cases = []
        for name, terms in voices.terms.items():
            tags = [t[1:] for t in terms if t.startswith("#")]
            phrases = [t for t in terms if not t.startswith("#")]
            tests = ([f"list_has_any(hashtags, {_list(tags)})"] if tags else []) + [
                f"contains(low, {_q(p)})" for p in phrases
            ]
            cases.append(f"CASE WHEN {' OR '.join(tests)} THEN {_q(name)} END")
        step(
            "share_of_voice",
            f"""CREATE TEMP TABLE voiced AS
            SELECT * FROM (
                SELECT author_id, m, unnest([{", ".join(cases)}]) AS voice
                FROM (SELECT author_id, {minute} AS m, hashtags, lower(text) AS low FROM posts)
            )
            WHERE voice IS NOT NULL""",
            """SELECT voice, count(*) AS posts, count(DISTINCT author_id) AS authors,
                count(*) / sum(count(*)) OVER () AS share
            FROM voiced GROUP BY voice ORDER BY posts DESC, voice""",
        )
        step(
            "voice_minutes",
            """SELECT voice, m AS minute, count(*) AS posts FROM voiced
            GROUP BY 1, 2 ORDER BY 1, 2""",
        )
    # The near-identical text key, once, for every original.
    near = (
        f"trim(regexp_replace(regexp_replace(lower(text), {_q(NEAR_RE)}, ' ', 'g'), "
        "' +', ' ', 'g'))"
    )
    step(
        "text_key",
        f"""CREATE TEMP TABLE keyed AS
        SELECT platform, id, author_id, epoch_us(created_at) // 1000000 AS t, {near} AS k
        FROM posts WHERE repost_of IS NULL""",
    )
    step(
        "top_terms",
        f"""SELECT word AS item, count(*) AS posts, count(DISTINCT author_id) AS authors FROM (
            SELECT author_id, unnest(list_distinct(list_filter(string_split(k, ' '),
                lambda w: length(w) >= 3 AND NOT list_contains({_list(STOP_WORDS)}, w))))
                AS word
            FROM keyed)
        GROUP BY 1 ORDER BY posts DESC, item LIMIT {TOP}""",
    )
    step(
        "copied_text",
        f"""CREATE TEMP TABLE run_posts AS
        WITH long AS (SELECT * FROM keyed WHERE length(k) >= {MIN_LETTERS}),
        shared AS (
            SELECT k FROM long GROUP BY k HAVING count(DISTINCT author_id) >= {MIN_ACCOUNTS}
        ),
        starts AS (
            SELECT l.*, CASE WHEN t - lag(t) OVER (PARTITION BY k ORDER BY t, id)
                <= {RUN_SECONDS} THEN 0 ELSE 1 END AS starts_run
            FROM long l SEMI JOIN shared USING (k)
        ),
        runs AS (
            SELECT *, sum(starts_run) OVER (PARTITION BY k ORDER BY t, id
                ROWS UNBOUNDED PRECEDING) AS run
            FROM starts
        )
        SELECT * FROM runs QUALIFY count(DISTINCT author_id) OVER (PARTITION BY k, run)
            >= {MIN_ACCOUNTS}""",
        f"""CREATE TEMP TABLE copied_runs AS
        WITH c AS (
            SELECT k, run, count(*) AS posts, count(DISTINCT author_id) AS accounts,
                min(t) AS first_second, max(t) AS last_second
            FROM run_posts GROUP BY k, run
        )
        SELECT c.*, c.posts / sum(mi.posts) AS share
        FROM c JOIN minutes mi ON mi.m BETWEEN c.first_second // 60 AND c.last_second // 60
        GROUP BY c.k, c.run, c.posts, c.accounts, c.first_second, c.last_second
        HAVING c.posts * {SHARE_OF} >= sum(mi.posts)""",
        """WITH examples AS (
            SELECT r.k, r.run, min(p.text) AS example
            FROM (SELECT * FROM run_posts SEMI JOIN copied_runs USING (k, run)) r
            JOIN posts p USING (platform, id) GROUP BY r.k, r.run
        )
        SELECT c.k AS text_key, c.run, e.example, c.posts, c.accounts, c.first_second,
            c.last_second, c.share
        FROM copied_runs c JOIN examples e USING (k, run)
        ORDER BY posts DESC, text_key, run""",
    )
    step(
        "fast_posters",
        f"""CREATE TEMP TABLE fast AS
        SELECT author_id, max(n) AS max_per_minute, sum(n) AS posts, count(*) AS active_minutes
        FROM (
            SELECT author_id, {minute} AS m, count(*) AS n FROM posts
            WHERE author_id IN (SELECT author_id FROM accounts WHERE posts >= {FAST_PER_MINUTE})
            GROUP BY 1, 2)
        GROUP BY 1 HAVING max(n) >= {FAST_PER_MINUTE}""",
        "SELECT * FROM fast ORDER BY max_per_minute DESC, author_id",
    )
    day = "epoch_us(created) // 86400000000"
    step(
        "new_account_bursts",
        f"""CREATE TEMP TABLE bursts AS
        WITH days AS (
            SELECT {day} AS day, count(*) AS accounts, sum(dated_posts)::BIGINT AS posts
            FROM accounts WHERE created IS NOT NULL GROUP BY 1
        ),
        scored AS (
            SELECT *, coalesce(sum(accounts) OVER (
                ORDER BY day RANGE BETWEEN {USUAL_DAYS} PRECEDING AND 1 PRECEDING), 0)
                ::DOUBLE / {USUAL_DAYS} AS usual
            FROM days
        )
        SELECT day, accounts, posts, usual FROM scored
        WHERE accounts >= {BURST_ACCOUNTS}
            AND (accounts - usual) / sqrt(usual + 1) >= {BURST_SCORE}
            AND day >= (SELECT epoch_us(min(first_at)) // 86400000000 FROM minutes)
                - {RECENT_DAYS}""",
        "SELECT * FROM bursts ORDER BY day",
    )
    step(
        "coordinated_accounts",
        f"""WITH copied AS (
            SELECT DISTINCT author_id FROM run_posts SEMI JOIN copied_runs USING (k, run)
        ),
        burst AS (
            SELECT author_id FROM accounts
            WHERE created IS NOT NULL AND {day} IN (SELECT day FROM bursts)
        ),
        flagged AS (
            SELECT author_id FROM copied UNION SELECT author_id FROM fast
            UNION SELECT author_id FROM burst
        )
        SELECT f.author_id, a.posts,
            f.author_id IN (SELECT author_id FROM copied) AS copied_text,
            f.author_id IN (SELECT author_id FROM fast) AS fast_posting,
            f.author_id IN (SELECT author_id FROM burst) AS new_account_burst,
            (f.author_id IN (SELECT author_id FROM copied)) OR (
                f.author_id IN (SELECT author_id FROM fast)
                AND f.author_id IN (SELECT author_id FROM burst)) AS coordinated
        FROM flagged f JOIN accounts a USING (author_id)
        ORDER BY a.posts DESC, f.author_id""",
    )
    con.close()
    for helper in ("accounts", "tag_uses", "text_key"):
        out.pop(helper, None)
    return out, seconds


# ----------------------------------------------------------------------------------------
# pandas
# ----------------------------------------------------------------------------------------


def run_pandas(
    parts: list[Path], voices: Voices, opts: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, float]]:
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from jalsa.conversation.measures import STOP_WORDS

    seconds: dict[str, float] = {}
    out: dict[str, Any] = {}
    clock = [time.perf_counter()]

    def done(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = round(now - clock[0], 3)
        clock[0] = now
        PEAKS.mark(name)

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: _py(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

    def top(frame: pd.DataFrame, column: str) -> list[dict[str, Any]]:
        per_post = frame.drop_duplicates(["platform", "id", column])
        stats = (
            per_post.groupby(column)
            .agg(posts=("author_id", "size"), authors=("author_id", "nunique"))
            .reset_index()
            .rename(columns={column: "item"})
            .sort_values(["posts", "item"], ascending=[False, True])
        )
        return records(stats.head(TOP))

    columns = [
        "platform",
        "id",
        "author_id",
        "author_handle",
        "author_created_at",
        "created_at",
        "text",
        "hashtags",
        "mentions",
        "urls",
        "reply_to",
        "repost_of",
        "quote_of",
        "like_count",
        "repost_count",
    ]
    df = pq.read_table(parts, columns=columns).to_pandas()
    created_us = df["created_at"].astype("int64")  # microseconds since 1970 (UTC)
    df["minute"] = created_us // 60_000_000
    done("read")

    original = df["repost_of"].isna() & df["reply_to"].isna() & df["quote_of"].isna()
    first_second = int(created_us.min() // 1_000_000)  # whole seconds, truncated
    out["overview"] = [
        {
            "posts": len(df),
            "authors": df["author_id"].nunique(),
            "authors_approx": None,
            "originals": int(original.sum()),
            "reposts": int(df["repost_of"].notna().sum()),
            "replies": int(df["reply_to"].notna().sum()),
            "quotes": int(df["quote_of"].notna().sum()),
            "first_minute": int(df["minute"].min()),
            "last_minute": int(df["minute"].max()),
        }
    ]
    done("overview")
    per_minute = (
        df.assign(repost=df["repost_of"].notna())
        .groupby("minute")
        .agg(
            posts=("author_id", "size"),
            authors=("author_id", "nunique"),
            reposts=("repost", "sum"),
        )
        .reset_index()
    )
    out["per_minute"] = records(per_minute)
    done("per_minute")
    platform_minutes = df.groupby(["platform", "minute"]).size().rename("posts").reset_index()
    out["platform_minutes"] = records(platform_minutes)
    done("platform_minutes")

    tags = df[["platform", "id", "author_id", "minute", "hashtags"]].explode("hashtags")
    tags = tags.dropna(subset=["hashtags"]).rename(columns={"hashtags": "tag"})
    out["top_hashtags"] = top(tags, "tag")
    done("top_hashtags")
    tagged = tags.drop_duplicates(["platform", "id", "tag"])
    top_tags = (
        tagged.groupby("tag")
        .size()
        .reset_index(name="n")
        .sort_values(["n", "tag"], ascending=[False, True])
        .head(TAG_MINUTE_TOP)["tag"]
    )
    tag_minutes = (
        tagged[tagged["tag"].isin(top_tags)].groupby(["tag", "minute"]).size().reset_index()
    )
    out["tag_minutes"] = records(tag_minutes.rename(columns={0: "posts"}))
    done("tag_minutes")
    for name, column in (("top_mentions", "mentions"), ("top_urls", "urls")):
        items = df[["platform", "id", "author_id", column]].explode(column).dropna()
        out[name] = top(items, column)
        done(name)

    authors = (
        df.assign(repost=df["repost_of"].notna())
        .groupby("author_id")
        .agg(
            handle=("author_handle", "max"),
            posts=("author_id", "size"),
            reposts=("repost", "sum"),
        )
        .reset_index()
        .rename(columns={"author_id": "item"})
        .sort_values(["posts", "item"], ascending=[False, True])
    )
    out["top_authors"] = records(authors.head(TOP))
    done("top_authors")

    originals = df.loc[df["repost_of"].isna(), ["platform", "id", "author_id", "text"]]
    originals = originals.assign(
        k=originals["text"]
        .str.lower()
        .str.replace(NEAR_RE, " ", regex=True)
        .str.replace(" +", " ", regex=True)
        .str.strip(" "),
        t=created_us[originals.index] // 1_000_000,
    )
    if "top_terms" not in opts.skip:
        words = originals[["platform", "id", "author_id"]].assign(
            word=originals["k"].str.split(" ")
        )
        words = words.explode("word")
        words = words[(words["word"].str.len() >= 3) & ~words["word"].isin(STOP_WORDS)]
        out["top_terms"] = top(words, "word")
        del words
        done("top_terms")

    # Spikes: hashtag uses (not once per post) on a dense tag x minute grid.
    uses = tags.groupby(["tag", "minute"]).size().rename("n")
    grid = uses.unstack("tag", fill_value=0)
    grid = grid.reindex(range(grid.index.min(), grid.index.max() + 1), fill_value=0)
    tag_before = grid.rolling(SPIKE_WINDOW, min_periods=1).sum().shift(1).fillna(0)
    total = grid.sum(axis=1)
    all_before = total.rolling(SPIKE_WINDOW, min_periods=1).sum().shift(1).fillna(0)
    scored = uses.reset_index()
    before = all_before.reindex(scored["minute"]).to_numpy()
    scored["expected"] = np.where(
        before > 0,
        total.reindex(scored["minute"]).to_numpy()
        * tag_before.stack()
        .reindex(list(zip(scored["minute"], scored["tag"], strict=True)))
        .to_numpy()
        / np.where(before > 0, before, 1),
        0.0,
    )
    scored["score"] = (scored["n"] - scored["expected"]) / np.sqrt(scored["expected"] + 1)
    spike_minutes = scored[
        (before > 0) & (scored["n"] >= SPIKE_MIN) & (scored["score"] >= SPIKE_THRESHOLD)
    ].rename(columns={"n": "posts"})
    spike_minutes = spike_minutes.sort_values(["tag", "minute"])
    out["tag_spikes"] = records(spike_minutes[["tag", "minute", "posts", "expected", "score"]])
    island = spike_minutes["minute"] - spike_minutes.groupby("tag").cumcount()
    spikes = (
        spike_minutes.assign(island=island)
        .groupby(["tag", "island"])
        .agg(
            first_minute=("minute", "min"),
            last_minute=("minute", "max"),
            posts=("posts", "sum"),
            peak_score=("score", "max"),
        )
        .reset_index()
        .drop(columns="island")
        .sort_values(["tag", "first_minute"])
    )
    out["spikes"] = records(spikes)
    done("tag_spikes")

    if len(spikes):
        hits = tagged.merge(spikes[["tag", "first_minute", "last_minute"]], on="tag")
        hits = hits[
            (hits["minute"] >= hits["first_minute"]) & (hits["minute"] <= hits["last_minute"])
        ]
        hits = hits.merge(
            df[["platform", "id", "author_handle", "text", "repost_of"]].assign(
                engagement=df["like_count"].fillna(0).astype("int64")
                + df["repost_count"].fillna(0).astype("int64")
            ),
            on=["platform", "id"],
        )
        first = hits[hits["repost_of"].isna()].sort_values(
            ["tag", "first_minute", "engagement", "id"], ascending=[True, True, False, True]
        )
        first = first.assign(rank=first.groupby(["tag", "first_minute"]).cumcount() + 1)
        top_posts = first[first["rank"] <= 3].rename(
            columns={"id": "item", "text": "detail", "engagement": "value"}
        )
        counts = (
            hits.groupby(["tag", "first_minute", "author_id"])
            .agg(detail=("author_handle", "max"), value=("id", "size"))
            .reset_index()
            .sort_values(
                ["tag", "first_minute", "value", "author_id"], ascending=[True, True, False, True]
            )
        )
        counts = counts.assign(rank=counts.groupby(["tag", "first_minute"]).cumcount() + 1)
        top_accounts = counts[counts["rank"] <= 3].rename(columns={"author_id": "item"})
        keep = ["kind", "tag", "first_minute", "item", "detail", "value", "rank"]
        evidence = pd.concat(
            [top_posts.assign(kind="post")[keep], top_accounts.assign(kind="account")[keep]]
        ).sort_values(["tag", "first_minute", "kind", "rank"])
        out["spike_evidence"] = records(evidence)
    done("spike_evidence")

    if voices.terms:
        lower = df["text"].str.lower()
        found = []
        for name, terms in voices.terms.items():
            voice_tags = [t[1:] for t in terms if t.startswith("#")]
            hit = df.index.isin(tags.index[tags["tag"].isin(voice_tags)])
            for phrase in (t for t in terms if not t.startswith("#")):
                hit |= lower.str.contains(phrase, regex=False)
            found.append(df.loc[hit, ["author_id", "minute"]].assign(voice=name))
        matched = pd.concat(found)
        voice = (
            matched.groupby("voice")
            .agg(posts=("author_id", "size"), authors=("author_id", "nunique"))
            .reset_index()
        )
        voice["share"] = voice["posts"] / voice["posts"].sum()
        out["share_of_voice"] = records(
            voice.sort_values(["posts", "voice"], ascending=[False, True])
        )
        done("share_of_voice")
        per_minute_voice = matched.groupby(["voice", "minute"]).size().rename("posts")
        out["voice_minutes"] = records(
            per_minute_voice.reset_index().sort_values(["voice", "minute"])
        )
        done("voice_minutes")

    long = originals[originals["k"].str.len() >= MIN_LETTERS]
    shared = long.groupby("k")["author_id"].nunique()
    long = long[long["k"].isin(shared[shared >= MIN_ACCOUNTS].index)]
    long = long.sort_values(["k", "t", "id"])
    gap = long.groupby("k")["t"].diff()
    long = long.assign(run=(~(gap <= RUN_SECONDS)).astype("int64").groupby(long["k"]).cumsum())
    runs = (
        long.groupby(["k", "run"])
        .agg(
            example=("text", "min"),
            posts=("id", "size"),
            accounts=("author_id", "nunique"),
            first_second=("t", "min"),
            last_second=("t", "max"),
        )
        .reset_index()
        .rename(columns={"k": "text_key"})
    )
    runs = runs[runs["accounts"] >= MIN_ACCOUNTS]
    # posts in the run's minutes: cumulative posts over a dense minute grid
    per_min = df.groupby("minute").size()
    cum = per_min.reindex(range(per_min.index.min() - 1, per_min.index.max() + 1), fill_value=0)
    cum = cum.cumsum()
    in_minutes = (
        cum.reindex(runs["last_second"] // 60).to_numpy()
        - cum.reindex(runs["first_second"] // 60 - 1).to_numpy()
    )
    runs = runs.assign(share=runs["posts"] / in_minutes)
    runs = runs[runs["posts"] * SHARE_OF >= in_minutes].sort_values(
        ["posts", "text_key", "run"], ascending=[False, True, True]
    )
    out["copied_text"] = records(runs)
    copied = set(
        long.merge(runs[["text_key", "run"]], left_on=["k", "run"], right_on=["text_key", "run"])[
            "author_id"
        ]
    )
    done("copied_text")

    per_author_minute = df.groupby(["author_id", "minute"]).size().rename("n").reset_index()
    fast = (
        per_author_minute.groupby("author_id")
        .agg(max_per_minute=("n", "max"), posts=("n", "sum"), active_minutes=("n", "size"))
        .reset_index()
    )
    fast = fast[fast["max_per_minute"] >= FAST_PER_MINUTE].sort_values(
        ["max_per_minute", "author_id"], ascending=[False, True]
    )
    out["fast_posters"] = records(fast)
    done("fast_posters")

    dated = df[df["author_created_at"].notna()]
    accounts = dated.groupby("author_id").agg(
        created=("author_created_at", "min"), posts=("id", "size")
    )
    accounts["day"] = accounts["created"].astype("int64") // 86_400_000_000
    days = accounts.groupby("day").agg(accounts=("posts", "size"), posts=("posts", "sum"))
    dense = days["accounts"].reindex(range(days.index.min(), days.index.max() + 1), fill_value=0)
    usual = dense.rolling(USUAL_DAYS, min_periods=1).sum().shift(1).fillna(0) / USUAL_DAYS
    days["usual"] = usual.reindex(days.index)
    bursts = days[
        (days["accounts"] >= BURST_ACCOUNTS)
        & ((days["accounts"] - days["usual"]) / np.sqrt(days["usual"] + 1) >= BURST_SCORE)
        & (days.index >= first_second // 86400 - RECENT_DAYS)
    ].reset_index()
    out["new_account_bursts"] = records(bursts[["day", "accounts", "posts", "usual"]])
    done("new_account_bursts")

    burst_accounts = set(accounts.index[accounts["day"].isin(bursts["day"])])
    fast_accounts = set(fast["author_id"])
    flagged = pd.DataFrame({"author_id": sorted(copied | fast_accounts | burst_accounts)})
    volume = df.groupby("author_id").size().rename("posts").reset_index()
    flagged = flagged.merge(volume, on="author_id")
    flagged["copied_text"] = flagged["author_id"].isin(copied)
    flagged["fast_posting"] = flagged["author_id"].isin(fast_accounts)
    flagged["new_account_burst"] = flagged["author_id"].isin(burst_accounts)
    flagged["coordinated"] = flagged["copied_text"] | (
        flagged["fast_posting"] & flagged["new_account_burst"]
    )
    out["coordinated_accounts"] = records(
        flagged.sort_values(["posts", "author_id"], ascending=[False, True])
    )
    done("coordinated_accounts")
    return out, seconds


def _py(value: Any) -> Any:
    """numpy / Decimal scalars as plain int, float, bool or str."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# ----------------------------------------------------------------------------------------
# Child process and comparison
# ----------------------------------------------------------------------------------------

RUNNERS = {"ours": run_ours, "hand": run_hand, "pandas": run_pandas}


def child(engine: str, folder: Path, voices: Voices, out: Path, opts: argparse.Namespace) -> None:
    parts = sorted(folder.glob("part-*.parquet"))
    # If the machine runs out of memory, the kernel kills this benchmark before anyone's work.
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")
    PEAKS.mark("startup")
    started = time.perf_counter()
    figures, seconds = RUNNERS[engine](parts, voices, opts)
    wall = time.perf_counter() - started
    plain = {
        name: [{k: _py(v) for k, v in row.items()} for row in rows]
        for name, rows in figures.items()
    }
    data = {"seconds": wall, "steps": seconds, "figures": plain}
    PEAKS.mark("output")
    data["peak_mb_by_step"] = PEAKS.mb
    out.write_text(json.dumps(data))


def run_child(
    engine: str, parts: list[Path], args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """Run one engine in a fresh interpreter; wall time as the child measured it (after
    imports), peak RSS from wait4; the child is killed if its RSS passes --cap-mb or it runs
    longer than --timeout."""
    cap_mb, timeout = args.cap_mb, args.timeout
    cmd = [sys.executable, str(HERE), "--child", engine, "--child-dir", str(parts[0].parent)]
    cmd += [a for v in args.voice for a in ("--voice", v)] + ["--child-out", str(out)]
    if args.memory_limit and engine != "pandas":
        cmd += ["--memory-limit", args.memory_limit]
    cmd += [a for name in args.skip for a in ("--skip", name)]
    out.unlink(missing_ok=True)
    log = out.with_suffix(".log")
    started = time.perf_counter()
    load_before = os.getloadavg()
    with open(log, "w") as fh:
        # cwd: where DuckDB spills (.tmp) if it runs short of memory
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=out.parent)
    killed, finished = threading.Event(), threading.Event()
    seen_mb = [0.0]
    why = [""]

    def watch() -> None:  # reads /proc only: reaping is left to wait4 below
        while not finished.wait(0.2):
            if time.perf_counter() - started > timeout:
                why[0] = f"killed after the {timeout:.0f} s timeout; "
                killed.set()
                os.kill(proc.pid, 9)
                return
            try:
                with open(f"/proc/{proc.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            seen_mb[0] = max(seen_mb[0], int(line.split()[1]) / 1024)
                            if seen_mb[0] > cap_mb:
                                why[0] = f"killed: RSS passed the {cap_mb:.0f} MB cap; "
                                killed.set()
                                os.kill(proc.pid, 9)
            except (FileNotFoundError, ProcessLookupError):
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    finished.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    watcher.join()
    process_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "engine": engine,
        "code": _code_version(),
        "posts": None,
        "ok": proc.returncode == 0 and out.exists(),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "process_seconds": round(process_seconds, 2),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    if killed.is_set():
        result["error"] = why[0] + _last_line(log)
    elif not result["ok"]:
        result["error"] = f"exit {proc.returncode}: " + log.read_text()[-2000:]
    else:
        data = json.loads(out.read_text())
        result["seconds"] = round(data["seconds"], 2)
        result["steps"] = data["steps"]
        result["figures"] = data["figures"]
        result["rows"] = {name: len(rows) for name, rows in data["figures"].items()}
        result["peak_mb_by_step"] = data["peak_mb_by_step"]
        # clear_refs resets what wait4 reports, so the peak is the largest step's
        result["peak_mb"] = max(result["peak_mb"], *data["peak_mb_by_step"].values())
    result["peak_mb_polled"] = round(seen_mb[0], 1)
    return result


def _last_line(log: Path) -> str:
    lines = log.read_text().splitlines()
    return "last step done: " + (lines[-1] if lines else "none")


COMPARED = (
    "overview",
    "per_minute",
    "platform_minutes",
    "top_hashtags",
    "tag_minutes",
    "top_mentions",
    "top_urls",
    "top_authors",
    "top_terms",
    "tag_spikes",
    "spikes",
    "spike_evidence",
    "share_of_voice",
    "voice_minutes",
    "copied_text",
    "fast_posters",
    "new_account_bursts",
    "coordinated_accounts",
)
NOT_COMPARED = {"authors_approx"}  # each engine's own HyperLogLog estimate


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def compare(ours: dict[str, Any], other: dict[str, Any]) -> dict[str, str]:
    """Figure name -> what differs (empty when every compared figure is the same)."""
    problems: dict[str, str] = {}
    for name in COMPARED:
        a, b = ours.get(name, []), other.get(name, [])
        if len(a) != len(b):
            problems[name] = f"{len(a)} rows vs {len(b)}"
            continue
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            keys = set(x) - NOT_COMPARED
            if keys != set(y) - NOT_COMPARED:
                problems[name] = f"columns {sorted(keys)} vs {sorted(set(y) - NOT_COMPARED)}"
                break
            bad = [k for k in sorted(keys) if not _same(x[k], y[k])]
            if bad:
                problems[name] = f"row {i}: " + ", ".join(f"{k} {x[k]!r} vs {y[k]!r}" for k in bad)
                break
    return problems


def _unique_ids(parts: list[Path]) -> bool:
    import duckdb

    files = ", ".join(_q(str(p)) for p in parts)
    n, distinct = duckdb.sql(
        f"SELECT count(*), count(DISTINCT (platform, id)) FROM read_parquet([{files}])"
    ).fetchall()[0]
    return bool(n == distinct)


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------


def _code_version() -> str:
    """The commit, and whether the measures differ from it (others edit while this runs)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=HERE.parent.parent, capture_output=True, text=True
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "src/jalsa/conversation")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "figures"}


def check(args: argparse.Namespace) -> int:
    parts = dataset(args.check_posts, args.seed, args.workdir)
    assert _unique_ids(parts), "(platform, id) is not unique in the generated posts"
    runs = {e: run_child(e, parts, args, args.workdir / f"check-{e}.json") for e in ENGINES}
    failed = 0
    for engine in ("hand", "pandas"):
        if not runs[engine]["ok"]:
            print(f"{engine}: failed: {runs[engine].get('error')}")
            failed += 1
            continue
        problems = compare(runs["ours"]["figures"], runs[engine]["figures"])
        for name, what in problems.items():
            print(f"{engine} differs from ours in {name}: {what}")
        failed += bool(problems)
        if not problems:
            print(f"{engine}: every compared figure equals ours ({len(COMPARED)} figures)")
    figures = runs["ours"]["figures"]
    print(
        f"{args.check_posts:,} posts: {len(figures['spikes'])} spikes, "
        f"{len(figures['copied_text'])} copied runs, "
        f"{len(figures['coordinated_accounts'])} flagged accounts; "
        + ", ".join(f"{e} {runs[e].get('seconds')} s / {runs[e]['peak_mb']} MB" for e in ENGINES)
    )
    return 1 if failed else 0


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "code": _code_version(),
        "duckdb_memory_limit": args.memory_limit or "DuckDB default (80% of RAM)",
        "skipped": args.skip,
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "voices": args.voice,
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "sizes": [],
        "pandas": [],
    }
    ours_at: dict[int, dict[str, Any]] = {}
    for count in sorted(set(args.posts) | set(args.pandas_posts)):
        parts = dataset(count, args.seed, args.workdir)
        mb = warm(parts)
        entry: dict[str, Any] = {"posts": count, "parquet_mb": round(mb, 1)}
        engines = ["ours"] + (["hand"] if count in args.posts else [])
        engines += ["pandas"] if count in args.pandas_posts else []
        runs: dict[str, dict[str, Any]] = {}
        for engine in engines:
            print(f"{count:,} posts: {engine} ...", flush=True)
            out = args.workdir / f"run-{engine}-{count}.json"
            runs[engine] = run_child(engine, parts, args, out)
            out.unlink(missing_ok=True)
            r = runs[engine]
            print(f"  {r.get('seconds')} s, peak {r['peak_mb']} MB {r.get('error', '')}")
        ours = runs["ours"]
        ours_at[count] = ours
        for engine, r in runs.items():
            if engine != "ours" and r["ok"] and ours["ok"]:
                r["differences"] = compare(ours["figures"], r["figures"])
        if count in args.posts:
            hand = runs["hand"]
            entry.update(
                ours=_summary(ours),
                hand=_summary(hand),
                ratio_ours_to_hand=(
                    round(ours["seconds"] / hand["seconds"], 2)
                    if ours["ok"] and hand["ok"]
                    else None
                ),
            )
            report["sizes"].append(entry)
        if count in args.pandas_posts:
            pandas = runs["pandas"]
            report["pandas"].append(
                {
                    "posts": count,
                    "pandas": _summary(pandas),
                    "ours": _summary(ours),
                    "speedup_ours_vs_pandas": (
                        round(pandas["seconds"] / ours["seconds"], 1)
                        if pandas["ok"] and ours["ok"]
                        else None
                    ),
                }
            )
    sizes = sorted(c for c in args.posts if ours_at[c]["ok"])
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        t_small, t_big = ours_at[small]["seconds"], ours_at[big]["seconds"]
        report["scaling"] = {
            "from": small,
            "to": big,
            "seconds_per_million": {
                str(small): round(t_small / small * 1e6, 3),
                str(big): round(t_big / big * 1e6, 3),
            },
            "time_ratio": round(t_big / t_small, 2),
            "size_ratio": round(big / small, 2),
        }
    report["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _same_figures(result: dict[str, Any]) -> str:
    if "differences" not in result:
        return "n/a"
    return "yes" if not result["differences"] else f"NO {result['differences']}"


def print_report(report: dict[str, Any]) -> None:
    for e in report["sizes"]:
        o, h = e["ours"], e["hand"]
        print(
            f"{e['posts']:>12,} posts  ours {o.get('seconds')} s / {o['peak_mb']:,.0f} MB   "
            f"hand SQL {h.get('seconds')} s / {h['peak_mb']:,.0f} MB   "
            f"ours/hand {e['ratio_ours_to_hand']}   "
            f"same figures: {_same_figures(h)}"
        )
        slow = sorted(o.get("steps", {}).items(), key=lambda kv: -kv[1])[:5]
        print("      slowest measures (ours): " + ", ".join(f"{k} {v} s" for k, v in slow))
    for e in report["pandas"]:
        p, o = e["pandas"], e["ours"]
        print(
            f"{e['posts']:>12,} posts  pandas {p.get('seconds')} s / {p['peak_mb']:,.0f} MB   "
            f"ours {o.get('seconds')} s   ours is {e['speedup_ours_vs_pandas']}x faster   "
            f"same figures: {_same_figures(p)} {p.get('error', '')}"
        )
    if "scaling" in report:
        s = report["scaling"]
        print(
            f"scaling {s['from']:,} -> {s['to']:,}: time x{s['time_ratio']} for size "
            f"x{s['size_ratio']}; s per million posts {s['seconds_per_million']}"
        )
    print(f"load average at start {report['load_at_start']}, at end {report['load_at_end']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[10_000_000, 65_000_000])
    parser.add_argument("--pandas-posts", type=int, nargs="*", default=[2_000_000])
    parser.add_argument("--voice", action="append", help="NAME=#tag,phrase (repeat)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--check", action="store_true", help="compare the figures, small set")
    parser.add_argument("--check-posts", type=int, default=200_000)
    parser.add_argument(
        "--cap-mb", type=float, default=20_000, help="kill a child whose RSS passes this"
    )
    parser.add_argument(
        "--memory-limit",
        help="SET memory_limit for both DuckDB runs, e.g. 5GB (default: DuckDB's, 80%% of RAM)",
    )
    parser.add_argument(
        "--skip", action="append", default=[], help="leave this measure out (all engines)"
    )
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per run")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.voice = args.voice or DEFAULT_VOICES
    voices = Voices.parse(args.voice)
    if args.child:
        child(args.child, args.child_dir, voices, args.child_out, args)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.check:
        return check(args)
    report = benchmark(args)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
