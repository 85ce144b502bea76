"""X API v2 pages (twarc2's `__twarc`, `includes`, `errors`, withheld and edited tweets) and
v1.1 tweets (one per line, stream notices, search/tweets answers) into the post record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from corpus import CORPUS, Ingested, sample

from jalsa.conversation.ingest import choose_format
from jalsa.errors import UserError
from jalsa.platforms.sources import NO_CONTENT


def test_v2_search_page_with_includes_errors_withheld_and_an_edit(ingested: Ingested) -> None:
    page = sample("x_v2", "search_page.json")
    summary = ingested.lines("x.jsonl", [page])
    assert summary.files[0].format == "x"
    assert (summary.accepted, summary.quarantined) == (5, 0)  # `errors` beside data: posts kept
    posts = ingested.posts()
    assert sorted(posts) == [f"17365000000000000{n:02d}" for n in (1, 3, 4, 5, 10)]
    first = posts["1736500000000000001"]
    assert first["author_handle"] == "jalsa_fan_1"
    assert first["author_created_at"] == datetime(2022, 11, 1, 9, tzinfo=UTC)
    assert first["hashtags"] == ["ptivirtualjalsa"] and first["mentions"] == ["imrankhanpti"]
    assert first["urls"] == ["https://www.youtube.com/watch?v=jalsa000001"]
    assert (first["like_count"], first["repost_count"], first["view_count"]) == (40, 12, 900)
    edited = posts["1736500000000000010"]  # the latest version, under its own id
    assert edited["text"].startswith("Edited:") and "1736500000000000002" not in posts
    withheld = posts["1736500000000000003"]  # withheld in PK: still a post, text as given
    assert withheld["reply_to"] == "1736500000000000001"
    assert withheld["author_handle"] == "karachi_voice"
    assert posts["1736500000000000004"]["repost_of"] == "1736500000000000001"
    quote = posts["1736500000000000005"]
    assert quote["quote_of"] == "1736499999999999999" and quote["lang"] == "hi"
    # includes.tweets are referenced tweets, not posts of the page: 5 posts, 3 authors
    assert len({p["author_id"] for p in posts.values()}) == 3


def test_v2_default_fields_and_error_only_answers_are_quarantined_with_why(
    ingested: Ingested,
) -> None:
    docs = [sample("x_v2", "default_fields_page.json"), sample("x_v2", "errors_only.json")]
    summary = ingested.lines("x.jsonl", docs, "x")
    assert (summary.accepted, summary.quarantined) == (0, 3)
    rows = ingested.quarantine()
    assert [(q["line"], q["item"]) for q in rows] == [(1, 1), (1, 2), (2, 0)]
    assert rows[0]["reason"] == "tweet without an author_id (ask for tweet.fields=author_id)"
    assert json.loads(rows[0]["raw"]) == docs[0]["data"][0]  # the original, not jalsa's parse
    assert rows[2]["reason"].startswith("an X API error response without posts: Invalid Request")


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("counts.json", "X counts (tweet_count per interval), not posts"),
        ("users.json", "X users (user objects: username, name), not posts"),
        ("lists.json", "X lists (name, member_count), not posts"),
    ],
)
@pytest.mark.parametrize("fmt", ["auto", "x"])
def test_files_of_counts_users_and_lists_say_what_they_are(
    tmp_path: Path, name: str, said: str, fmt: str
) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text(json.dumps(sample("x_v2", name)) + "\n")
    with pytest.raises(UserError, match=said.replace("(", r"\(").replace(")", r"\)")):
        choose_format(path, fmt, None)


def v1_lines() -> list[object]:
    docs: list[object] = sample("x_v1", "tweets.json")
    return docs


@pytest.mark.parametrize("fmt", ["auto", "x", "x-v1"])
def test_v1_tweets_map_to_the_same_post_record(ingested: Ingested, fmt: str) -> None:
    docs = v1_lines()
    summary = ingested.lines("archive.jsonl", docs, fmt)
    assert summary.files[0].format == "x-v1"
    assert (summary.accepted, summary.quarantined) == (7, 4)
    posts = ingested.posts()
    first = posts["1736600000000000001"]
    assert first["platform"] == "x" and first["author_id"] == "1600000000000000001"
    assert first["author_handle"] == "jalsa_fan_1"
    assert first["created_at"] == datetime(2023, 12, 17, 15, 0, 5, tzinfo=UTC)
    assert first["author_created_at"] == datetime(2022, 11, 1, 9, tzinfo=UTC)
    assert first["hashtags"] == ["ptivirtualjalsa"] and first["mentions"] == ["imrankhanpti"]
    assert first["urls"] == ["https://www.youtube.com/watch?v=jalsa000001"]
    assert (first["like_count"], first["repost_count"], first["reply_count"]) == (40, 12, None)
    reply = posts["1736600000000000003"]  # tweet_mode=extended: full_text
    assert reply["text"].endswith("#PTIVirtualJalsa")
    assert reply["reply_to"] == "1736600000000000001"
    streamed = posts["1736600000000000004"]  # truncated: the extended tweet's text and entities
    assert streamed["text"].endswith("#InternetShutdown #PTIVirtualJalsa")
    assert streamed["hashtags"] == ["internetshutdown", "ptivirtualjalsa"]
    assert (streamed["reply_count"], streamed["quote_count"]) == (2, 0)
    retweet = posts["1736600000000000005"]  # of a quote: a repost, no quote (as v2 has it)
    assert (retweet["repost_of"], retweet["quote_of"]) == ("1736600000000000006", None)
    assert "1736600000000000006" not in posts  # the embedded tweet is not a post of its own
    assert posts["1736600000000000007"]["quote_of"] == "1736600000000000001"
    assert posts["1736600000000000008"]["text"] == "https://t.co/PhOtO98765"  # a photo
    trimmed = posts["1736600000000000009"]  # trim_user: only the id
    assert (trimmed["author_id"], trimmed["author_handle"]) == ("1600000000000000004", None)
    reasons = [(q["line"], q["item"], q["reason"]) for q in ingested.quarantine()]
    assert reasons == [
        (8, 0, "an X v1.1 stream notice (delete), not a post"),
        (9, 0, "an X v1.1 stream notice (limit), not a post"),
        (10, 1, "tweet without an author (`user.id_str`)"),
        (11, 1, NO_CONTENT),
    ]
    raw = {q["line"]: q["raw"] for q in ingested.quarantine()}
    assert json.loads(raw[10]) == docs[9] and json.loads(raw[9]) == docs[8]


def test_v1_search_answers_and_a_v1_tweet_among_v2_pages(ingested: Ingested) -> None:
    summary = ingested.lines("search.jsonl", [sample("x_v1", "search.json")])
    assert summary.files[0].format == "x-v1" and summary.accepted == 2
    assert ingested.posts()["1736600000000000014"]["reply_to"] == "1736600000000000013"
    mixed = [sample("x_v2", "search_page.json"), v1_lines()[0]]
    summary = ingested.lines("mixed.jsonl", mixed)
    assert summary.files[0].format == "x" and summary.quarantined == 1
    assert ingested.quarantine()[-1]["reason"].startswith("an X API v1.1 tweet")


def test_an_empty_file_and_pretty_printed_json_get_one_clear_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="the file is empty"):
        choose_format(empty, "auto", None)
    page = sample("x_v2", "search_page.json")
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(page, indent=2))
    array = tmp_path / "array.json"
    array.write_text(json.dumps(v1_lines(), indent=1))
    big = tmp_path / "big.json"  # longer than the part of the file sniffed
    big.write_text(json.dumps([page] * 40, indent=2))
    one_line = tmp_path / "one_line.json"
    one_line.write_text(json.dumps(v1_lines()))
    for fmt in ("auto", "x", "x-v1"):
        with pytest.raises(UserError, match=r"pretty-printed.*jq -c \. FILE.json"):
            choose_format(pretty, fmt, None)
        for path in (array, big):
            with pytest.raises(UserError, match=r"one JSON array spread .*jq -c '\.\[\]'"):
                choose_format(path, fmt, None)
        with pytest.raises(UserError, match=r"one JSON array of X API v1.1 items"):
            choose_format(one_line, fmt, None)
    damaged = tmp_path / "damaged.jsonl"  # a broken first line is not a pretty document
    damaged.write_text('{"id": "1", "text\n' + json.dumps(page) + "\n")
    with pytest.raises(UserError, match="first line is not valid JSON"):
        choose_format(damaged, "auto", None)
    assert choose_format(damaged, "x", None) == "x"


def test_the_corpus_is_the_projects_own_json() -> None:
    for path in sorted(CORPUS.glob("*/*.json")):
        json.loads(path.read_text(encoding="utf-8"))  # every sample parses
