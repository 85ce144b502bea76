"""The post generator: schema, determinism, the shapes analytics rely on (volume curve, Zipf
hashtags and authors, reposts), the injected bursts and campaign against the ground truth,
the X API v2 pages, and the `jalsa sim posts` command."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jalsa.platforms.post_record import POST_SCHEMA
from jalsa.sim.posts.batches import generate_batches
from jalsa.sim.posts.files import write_parquet
from jalsa.sim.posts.plan import PostSimConfig
from jalsa.sim.posts.truth import GroundTruth, ground_truth
from jalsa.sim.posts.x_json import PAGE_SIZE, write_x_jsonl

COUNT = 20_000
CONFIG = PostSimConfig(count=COUNT, seed=7)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return pa.Table.from_batches(list(generate_batches(CONFIG)), schema=POST_SCHEMA)


@pytest.fixture(scope="module")
def rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


@pytest.fixture(scope="module")
def truth() -> GroundTruth:
    return ground_truth(CONFIG)


def _minute(row: dict[str, Any]) -> int:
    return int((row["created_at"] - CONFIG.start).total_seconds() // 60)


# -- the record ---------------------------------------------------------------------------


def test_batches_follow_the_post_schema(table: pa.Table) -> None:
    for batch in generate_batches(PostSimConfig(count=3000, batch_rows=1000)):
        assert batch.schema == POST_SCHEMA
    assert table.schema == POST_SCHEMA
    assert table.num_rows == COUNT
    assert set(table.column("platform").to_pylist()) == {"x"}


def test_same_seed_same_posts_whatever_the_batch_size(table: pa.Table) -> None:
    small = PostSimConfig(count=COUNT, seed=7, batch_rows=3_000)
    batches = list(generate_batches(small))
    assert len(batches) > 5
    assert pa.Table.from_batches(batches).equals(table)
    other = pa.Table.from_batches(list(generate_batches(PostSimConfig(count=COUNT, seed=8))))
    assert other.column("text").to_pylist() != table.column("text").to_pylist()
    assert ground_truth(small) == ground_truth(CONFIG)


def test_ids_are_unique_snowflakes_in_time_order(rows: list[dict[str, Any]]) -> None:
    ids = [int(r["id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(r["id"].isdigit() and 18 <= len(r["id"]) <= 19 for r in rows)
    for r in rows[:: len(rows) // 50]:  # the id carries its millisecond, as on X
        ms = (int(r["id"]) >> 22) + 1288834974657
        assert ms == int(r["created_at"].timestamp() * 1000)


def test_references_point_to_earlier_posts_of_the_set(rows: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in rows}
    refs = 0
    for r in rows:
        for key in ("repost_of", "reply_to", "quote_of"):
            if r[key] is not None:
                refs += 1
                assert r[key] in by_id
                assert by_id[r[key]]["created_at"] < r["created_at"]
                assert by_id[r[key]]["repost_of"] is None
    assert refs > COUNT * 0.45


def test_times_follow_the_rally_curve(rows: list[dict[str, Any]]) -> None:
    end = CONFIG.start + timedelta(hours=CONFIG.hours)
    assert all(CONFIG.start <= r["created_at"] < end for r in rows)
    per_minute = Counter(_minute(r) for r in rows)
    ramp = sum(per_minute[m] for m in range(0, 20))
    peak = sum(per_minute[m] for m in range(90, 110))
    tail = sum(per_minute[m] for m in range(220, 240))
    assert peak > 4 * ramp
    assert peak > 2 * tail


# -- content --------------------------------------------------------------------------


def test_hashtags_are_zipf_lower_case_and_in_the_text(rows: list[dict[str, Any]]) -> None:
    counts = Counter(t for r in rows for t in r["hashtags"])
    ranked = [n for _, n in counts.most_common()]
    assert len(counts) > 500
    assert ranked[0] > 20 * ranked[99]
    assert {"pti", "virtualjalsa", "imrankhan"} <= {t for t, _ in counts.most_common(10)}
    for r in rows:
        for tag in r["hashtags"]:
            assert tag == tag.lower() and not tag.startswith("#")
            assert f"#{tag}" in r["text"].lower()


def test_reposts_mentions_replies_and_quotes(rows: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in rows}
    reposts = [r for r in rows if r["repost_of"]]
    assert 0.37 < len(reposts) / len(rows) < 0.43
    assert 0.05 < sum(r["reply_to"] is not None for r in rows) / len(rows) < 0.11
    assert 0.02 < sum(r["quote_of"] is not None for r in rows) / len(rows) < 0.06
    for r in reposts:
        original = by_id[r["repost_of"]]
        assert r["text"] == f"RT @{original['author_handle']}: {original['text']}"
        assert r["hashtags"] == original["hashtags"]
        assert r["mentions"][0] == original["author_handle"].lower()
        assert r["repost_count"] == original["repost_count"]
        assert r["like_count"] == r["view_count"] == 0
    for r in rows:
        if r["reply_to"] is not None:
            target = by_id[r["reply_to"]]
            assert r["text"].startswith(f"@{target['author_handle']} ")
    originals = [r for r in rows if not r["repost_of"]]
    likes = sorted(r["like_count"] for r in originals)
    assert likes[-1] > 50 * max(likes[len(likes) // 2], 1)  # heavy tail
    assert any(r["urls"] for r in rows) and any(r["mentions"] for r in originals)


def test_languages_and_scripts(rows: list[dict[str, Any]]) -> None:
    langs = Counter(r["lang"] for r in rows)
    assert set(langs) == {"en", "ur", "und"}
    assert min(langs.values()) > COUNT * 0.1
    urdu = re.compile("[\u0600-\u06ff]")
    for r in rows[:2000]:
        if r["lang"] == "ur":
            assert urdu.search(r["text"])
        elif r["lang"] == "en":
            assert not urdu.search(r["text"])


def test_authors_zipf_handles_and_account_ages(rows: list[dict[str, Any]]) -> None:
    posts = Counter(r["author_id"] for r in rows)
    assert sum(n <= 2 for n in posts.values()) > 0.6 * len(posts)
    assert max(posts.values()) > 50
    handles: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        handles[r["author_id"]].add(r["author_handle"])
        assert re.fullmatch(r"\w{1,15}", r["author_handle"])
        assert r["author_created_at"] < CONFIG.start
    assert all(len(h) == 1 for h in handles.values())
    lowered = {next(iter(h)).lower() for h in handles.values()}
    assert len(lowered) == len(handles)  # usernames are unique ignoring case
    ages = sorted(CONFIG.start - r["author_created_at"] for r in rows)
    assert ages[len(ages) // 2] > timedelta(days=365)


def test_normal_posts_are_mostly_distinct_but_slogans_repeat(
    rows: list[dict[str, Any]], truth: GroundTruth
) -> None:
    members = set(truth.campaign_members)
    organic = [r for r in rows if not r["repost_of"] and r["author_id"] not in members]
    long_texts = [r["text"] for r in organic if len(r["text"]) > 60]
    assert len(set(long_texts)) > 0.95 * len(long_texts)
    authors: dict[str, set[str]] = defaultdict(set)
    for r in organic:
        authors[r["text"]].add(r["author_id"])
    shared = [t for t, a in authors.items() if len(a) >= 10]
    assert "Imran Khan Zindabad" in shared  # organic false positives for detectors


# -- injected ground truth ----------------------------------------------------------------


def _skeleton(text: str) -> str:
    """A text without hashtags, digits, punctuation, emoji and extra spaces."""
    text = re.sub(r"#\w+|\{n\}", " ", text)
    return " ".join("".join(c if c.isalpha() else " " for c in text).split()).lower()


def test_campaign_members_post_near_identical_text_in_short_windows(
    rows: list[dict[str, Any]], truth: GroundTruth
) -> None:
    members = set(truth.campaign_members)
    posts = [r for r in rows if r["author_id"] in members]
    assert {r["author_id"] for r in posts} == members
    assert len(members) > 30 and len(truth.hyperactive_members) >= 3
    assert len(posts) == truth.campaign_posts
    # accounts made in a burst of a few days shortly before the event
    made = [r["author_created_at"] for r in posts]
    assert max(made) - min(made) <= timedelta(days=4)
    assert timedelta(days=5) < CONFIG.start - max(made) < timedelta(days=20)
    # near-identical: one of a few templates, with small variations
    skeletons = {_skeleton(t) for t in truth.campaign_templates}
    assert all(_skeleton(r["text"]) in skeletons for r in posts)
    assert len({r["text"] for r in posts}) > 4 * len(skeletons)
    # within short windows, one template per window
    for wave in truth.campaign_waves:
        template = _skeleton(truth.campaign_templates[wave.template])
        inside = [
            r
            for r in posts
            if wave.start_minute * 60
            <= (r["created_at"] - CONFIG.start).total_seconds()
            < wave.end_minute * 60
        ]
        assert len(inside) == wave.posts
        assert {_skeleton(r["text"]) for r in inside} == {template}
        assert wave.end_minute - wave.start_minute <= 10
    # some at inhuman rates
    per_minute = Counter((r["author_id"], _minute(r)) for r in posts)
    fast = {author for (author, _), n in per_minute.items() if n > 10}
    assert len(fast) >= 2 and fast <= set(truth.hyperactive_members)


def test_bursts_jump_at_their_minutes(rows: list[dict[str, Any]], truth: GroundTruth) -> None:
    assert len(truth.bursts) == CONFIG.bursts
    minutes = CONFIG.hours * 60
    for burst in truth.bursts:
        assert 5 <= burst.end_minute - burst.start_minute <= 15
        per_minute = Counter(_minute(r) for r in rows if burst.hashtag in r["hashtags"])
        window = range(burst.start_minute, burst.end_minute)
        inside = sum(per_minute[m] for m in window) / len(window)
        outside = sum(n for m, n in per_minute.items() if m not in window)
        assert inside > 10 * outside / (minutes - len(window)), burst


def test_ground_truth_as_json(truth: GroundTruth) -> None:
    data = orjson.loads(truth.to_json())
    assert data["seed"] == 7 and data["total_posts"] == COUNT
    assert data["start"] == "2023-12-17T14:00:00Z"
    assert data["campaign_members"] == truth.campaign_members
    assert {b["hashtag"] for b in data["bursts"]} == {b.hashtag for b in truth.bursts}
    assert all(set(b) == {"hashtag", "start_minute", "end_minute", "posts"} for b in data["bursts"])
    assert len(data["campaign_templates"]) >= 3


def test_small_and_odd_configs() -> None:
    for config in (
        PostSimConfig(count=1),
        PostSimConfig(count=50, hours=0.01, seed=3),
        PostSimConfig(count=2_000, campaign_share=0, bursts=0),
    ):
        got = pa.Table.from_batches(list(generate_batches(config)), schema=POST_SCHEMA)
        assert got.num_rows == config.count
        assert len(set(got.column("id").to_pylist())) == config.count
    assert ground_truth(PostSimConfig(count=2_000, campaign_share=0)).campaign_members == []
    for bad in (dict(count=0), dict(count=5, hours=0), dict(count=5, start=datetime(2023, 1, 1))):
        with pytest.raises(ValueError):
            PostSimConfig(**bad)


# -- writers ------------------------------------------------------------------------------


def test_parquet_one_file_or_part_files(tmp_path: Path, table: pa.Table) -> None:
    [single] = write_parquet(CONFIG, tmp_path / "posts.parquet")
    assert pq.read_table(single).equals(table)
    assert pq.ParquetFile(single).metadata.row_group(0).column(0).compression == "ZSTD"

    parts_config = PostSimConfig(count=COUNT, seed=7, batch_rows=2_000, part_rows=6_000)
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part-00099.parquet").write_bytes(b"stale")
    seen: list[int] = []
    parts = write_parquet(parts_config, tmp_path / "parts", seen.append)
    assert len(parts) >= 3
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [p.name for p in parts]
    assert pq.read_table(tmp_path / "parts").sort_by("id").equals(table)
    assert seen == sorted(seen) and seen[-1] == COUNT


_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_TWEET_KEYS = {
    "id",
    "text",
    "author_id",
    "created_at",
    "lang",
    "conversation_id",
    "edit_history_tweet_ids",
    "public_metrics",
}
_METRICS = {
    "retweet_count",
    "reply_count",
    "like_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
}


def _check_tweet(tweet: dict[str, Any]) -> None:
    assert (
        _TWEET_KEYS
        <= set(tweet)
        <= _TWEET_KEYS
        | {
            "entities",
            "referenced_tweets",
            "in_reply_to_user_id",
        }
    )
    assert _TIME.match(tweet["created_at"])
    assert set(tweet["public_metrics"]) == _METRICS
    text = tweet["text"]
    entities = tweet.get("entities", {})
    assert entities or "entities" not in tweet
    for tag in entities.get("hashtags", []):
        assert text[tag["start"] : tag["end"]] == "#" + tag["tag"]
    for mention in entities.get("mentions", []):
        assert text[mention["start"] : mention["end"]] == "@" + mention["username"]
        assert mention["id"].isdigit()
    for url in entities.get("urls", []):
        assert text[url["start"] : url["end"]] == url["url"]
        assert url["url"].startswith("https://t.co/") and url["expanded_url"].startswith("http")
        assert url["display_url"]
    refs = tweet.get("referenced_tweets", [])
    assert all(r["type"] in ("retweeted", "replied_to", "quoted") for r in refs)
    if refs and refs[0]["type"] == "replied_to":
        assert tweet["in_reply_to_user_id"].isdigit()
        assert tweet["conversation_id"] == refs[0]["id"]
    else:
        assert "in_reply_to_user_id" not in tweet
        assert tweet["conversation_id"] == tweet["id"]


def test_x_jsonl_pages_in_the_api_shape(tmp_path: Path, table: pa.Table) -> None:
    path = write_x_jsonl(CONFIG, tmp_path)
    assert path == tmp_path / "posts-x.jsonl"
    lines = path.read_bytes().splitlines()
    assert len(lines) == COUNT // PAGE_SIZE
    newest = None
    ids: list[str] = []
    for number, line in enumerate(lines):
        page = orjson.loads(line)
        assert set(page) == {"data", "includes", "meta"}
        data, users, meta = page["data"], page["includes"]["users"], page["meta"]
        assert len(data) == PAGE_SIZE == meta["result_count"]
        page_ids = [int(t["id"]) for t in data]
        assert page_ids == sorted(page_ids, reverse=True)  # newest first, as X pages
        assert newest is None or page_ids[0] < newest
        newest = page_ids[-1]
        assert meta["newest_id"] == data[0]["id"] and meta["oldest_id"] == data[-1]["id"]
        assert ("next_token" in meta) == (number < len(lines) - 1)
        by_id = {u["id"]: u for u in users}
        assert len(by_id) == len(users)
        assert {t["author_id"] for t in data} == set(by_id)
        for user in users:
            assert set(user) == {"id", "username", "name", "created_at"}
            assert _TIME.match(user["created_at"])
        for tweet in data:
            _check_tweet(tweet)
        ids += [t["id"] for t in data]
    assert sorted(ids) == sorted(table.column("id").to_pylist())


def test_x_jsonl_last_page_may_be_short(tmp_path: Path) -> None:
    path = write_x_jsonl(PostSimConfig(count=250), tmp_path / "x.jsonl")
    pages = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [p["meta"]["result_count"] for p in pages] == [100, 100, 50]
    assert "next_token" not in pages[-1]["meta"]


# -- the command ---------------------------------------------------------------------------


def _run(*args: str) -> Any:
    from jalsa.cli import app

    return CliRunner().invoke(app, ["sim", "posts", *args])


def test_cli_writes_posts_and_ground_truth(tmp_path: Path) -> None:
    out, facts = tmp_path / "posts.parquet", tmp_path / "truth.json"
    result = _run("--count", "3000", "--out", str(out), "--seed", "3", "--truth", str(facts))
    assert result.exit_code == 0, result.output
    assert "wrote 3,000 posts" in result.output
    assert pq.read_table(out).num_rows == 3000
    assert orjson.loads(facts.read_bytes())["seed"] == 3

    result = _run(
        "--count",
        "300",
        "--out",
        str(tmp_path / "x.jsonl"),
        "--format",
        "x-jsonl",
        "--start",
        "2024-02-08T03:00:00Z",
        "--hours",
        "2",
    )
    assert result.exit_code == 0, result.output
    first = orjson.loads((tmp_path / "x.jsonl").read_bytes().splitlines()[-1])["data"][-1]
    assert first["created_at"].startswith("2024-02-08T03:")

    result = _run("--count", "3000", "--out", f"{tmp_path / 'dir'}/")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "dir").iterdir()] == ["part-00000.parquet"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--start", "tomorrow"], "cannot read the time"),
        (["--hours", "-1"], "hours must be more than 0"),
        (["--format", "csv"], "unknown format"),
        (["--out", "/proc/no/such/dir/posts.parquet"], "cannot"),
    ],
)
def test_cli_bad_input_is_one_message(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--count": "10", "--out": str(tmp_path / "p.parquet")}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    result = _run(*[part for pair in base.items() for part in pair])
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
