"""Ingestion into an event's post dataset: every source format, the quarantine with line
numbers, deduplication, refusing files of another format, and crash safety."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from jalsa.conversation import ingest as ingest_module
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.ingest import choose_format, ingest
from jalsa.conversation.lines import NOT_UTF8, Piece
from jalsa.conversation.sources.mapped import Mapping
from jalsa.errors import UserError
from jalsa.platforms.post_record import POST_SCHEMA
from jalsa.platforms.sources import NOT_JSON
from testkit import load_fixture


@pytest.fixture
def dataset(tmp_path: Path) -> PostDataset:
    return PostDataset(tmp_path / "ds")


def write_lines(path: Path, docs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def posts(dataset: PostDataset) -> list[dict[str, Any]]:
    table = pq.ParquetDataset([str(p) for p in dataset.parts()]).read()
    return sorted(table.to_pylist(), key=lambda r: (r["platform"], r["id"]))


def quarantine(dataset: PostDataset) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(dataset.quarantine.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def x_pages() -> list[dict[str, Any]]:
    return [load_fixture("x", "search_page1.json"), load_fixture("x", "search_page2.json")]


def test_x_search_pages_become_normalized_posts(tmp_path: Path, dataset: PostDataset) -> None:
    pages = x_pages()
    summary = ingest(dataset, [write_lines(tmp_path / "x.jsonl", pages)])
    tweets = [t for page in pages for t in page["data"]]
    assert summary.accepted == len(tweets) and summary.quarantined == 0
    assert summary.files[0].format == "x"
    stored = {p["id"]: p for p in posts(dataset)}
    written = pq.read_schema(dataset.parts()[0])
    assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in POST_SCHEMA]
    users = {u["id"]: u for page in pages for u in page["includes"]["users"]}
    for tweet in tweets:
        post = stored[tweet["id"]]
        assert post["platform"] == "x" and post["text"] == tweet["text"]
        assert post["author_id"] == tweet["author_id"]
        assert post["author_handle"] == users[tweet["author_id"]]["username"]
        assert post["created_at"].isoformat().startswith(tweet["created_at"][:19])
        entities = tweet.get("entities", {})
        assert post["hashtags"] == [h["tag"].lower() for h in entities.get("hashtags", [])]
        assert post["mentions"] == [m["username"].lower() for m in entities.get("mentions", [])]
        refs = {r["type"]: r["id"] for r in tweet.get("referenced_tweets", [])}
        assert post["repost_of"] == refs.get("retweeted")
        assert post["reply_to"] == refs.get("replied_to")
        assert post["quote_of"] == refs.get("quoted")
        assert post["like_count"] == tweet["public_metrics"]["like_count"]
        assert post["view_count"] == tweet["public_metrics"]["impression_count"]
        assert post["source"] == "x.jsonl"


def test_stream_lines_and_flat_tweets_and_keepalives(tmp_path: Path, dataset: PostDataset) -> None:
    stream = load_fixture("x", "stream_messages.json")
    flat = {
        "id": "99",
        "text": "flat #One",
        "author_id": "7",
        "created_at": "2023-12-17T15:02:00.000Z",
        "entities": {"hashtags": [{"start": 5, "end": 9, "tag": "One"}]},
        "author": {"id": "7", "username": "flat_user", "created_at": "2020-01-01T00:00:00.000Z"},
    }
    path = tmp_path / "stream.jsonl"
    body = "\r\n".join(json.dumps(m) for m in stream) + "\r\n\r\n\r\n" + json.dumps(flat) + "\n"
    path.write_text(body)
    summary = ingest(dataset, [path], "x")
    assert summary.quarantined == 0
    assert summary.accepted == len(stream) + 1
    stored = {p["id"]: p for p in posts(dataset)}
    assert stored["99"]["author_handle"] == "flat_user"
    assert stored["99"]["author_created_at"].year == 2020
    first = stream[0]
    assert stored[first["data"]["id"]]["author_handle"] == first["includes"]["users"][0]["username"]


def test_bad_lines_are_quarantined_with_line_numbers(tmp_path: Path, dataset: PostDataset) -> None:
    good = x_pages()[0]
    broken = json.loads(json.dumps(good))
    del broken["data"][1]["id"]
    broken["data"][2]["created_at"] = "yesterday"
    lines = [
        json.dumps(good),  # 1
        json.dumps(good)[:100],  # 2 truncated
        "",  # 3 blank: nothing
        json.dumps(broken),  # 4: items 2 and 3 bad, item 1 a duplicate of line 1
        json.dumps({"errors": [{"title": "Not Found Error", "detail": "gone"}]}),  # 5
        json.dumps({"hello": "world"}),  # 6 another kind of JSON
        json.dumps({"meta": {"result_count": 0}}),  # 7 an empty page: nothing
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n")  # 8
    summary = ingest(dataset, [path], "x")
    reasons = {(q["line"], q["item"]): q["reason"] for q in quarantine(dataset)}
    assert reasons == {
        (2, 0): NOT_JSON,
        (4, 2): "tweet without an id",
        (4, 3): "created_at missing or not a time",
        (5, 0): "an X API error response without posts: Not Found Error gone",
        (6, 0): "not an X API v2 page, stream line or tweet",
        (8, 0): NOT_UTF8,
    }
    assert summary.quarantined == 6
    assert summary.accepted == len(good["data"])
    assert summary.duplicates == 1  # line 4, item 1
    assert all(q["file"] == str(path) and q["raw"] for q in quarantine(dataset))


def test_ingesting_again_adds_nothing(tmp_path: Path, dataset: PostDataset) -> None:
    path = write_lines(tmp_path / "x.jsonl", x_pages())
    first = ingest(dataset, [path])
    again = ingest(dataset, [path, path])
    assert first.accepted > 0 and again.accepted == 0
    assert again.duplicates == 2 * first.accepted
    assert len(dataset.parts()) == 1
    assert len(posts(dataset)) == first.accepted
    assert [e["accepted"] for e in dataset.history()] == [first.accepted, 0]


def test_new_posts_among_old_ones_are_added(tmp_path: Path, dataset: PostDataset) -> None:
    page1, page2 = x_pages()
    ingest(dataset, [write_lines(tmp_path / "a.jsonl", [page1])])
    summary = ingest(dataset, [write_lines(tmp_path / "b.jsonl", [page1, page2])])
    assert summary.accepted == len(page2["data"])
    assert summary.duplicates == len(page1["data"])
    ids = [p["id"] for p in posts(dataset)]
    assert len(ids) == len(set(ids)) == len(page1["data"]) + len(page2["data"])


def test_long_files_in_small_blocks_keep_line_numbers(
    tmp_path: Path, dataset: PostDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jalsa.conversation.lines.BLOCK_BYTES", 700)
    docs: list[Any] = []
    for n in range(40):
        docs.append(
            {
                "id": str(n),
                "text": f"post {n}",
                "author_id": "1",
                "created_at": "2023-12-17T15:00:00Z",
            }
        )
    lines = [json.dumps(d) for d in docs]
    lines[25] = lines[25][:-5]
    path = tmp_path / "many.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines))  # no newline at the end
    summary = ingest(dataset, [path], "x")
    assert summary.accepted == 39
    assert [(q["line"], q["reason"]) for q in quarantine(dataset)] == [(26, NOT_JSON)]
    assert summary.files[0].lines == 40


def test_youtube_chat_pages(tmp_path: Path, dataset: PostDataset) -> None:
    pages = [load_fixture("youtube", "chat_page1.json"), load_fixture("youtube", "chat_page2.json")]
    summary = ingest(dataset, [write_lines(tmp_path / "youtube-chat-abc.jsonl", pages)])
    assert summary.files[0].format == "youtube-chat"
    texts = [
        item["snippet"].get("displayMessage")
        for page in pages
        for item in page["items"]
        if item["snippet"].get("displayMessage")
    ]
    stored = posts(dataset)
    assert summary.quarantined == 0
    assert sorted(p["text"] for p in stored) == sorted(texts)
    assert all(p["platform"] == "youtube" and p["author_id"] for p in stored)
    tagged = [p for p in stored if "#" in p["text"]]
    for post in tagged:
        assert post["hashtags"], post["text"]


def test_facebook_comment_pages(tmp_path: Path, dataset: PostDataset) -> None:
    pages = [
        load_fixture("facebook", "comments_page1.json"),
        load_fixture("facebook", "comments_page2.json"),
    ]
    no_author = json.loads(json.dumps(pages[0]))
    no_author["data"] = [dict(no_author["data"][0], id="anon_1")]
    no_author["data"][0].pop("from", None)
    summary = ingest(dataset, [write_lines(tmp_path / "fb.jsonl", [*pages, no_author])])
    comments = [c for page in pages for c in page["data"]]
    assert summary.files[0].format == "facebook-comments"
    assert summary.accepted == len(comments)
    stored = {p["id"]: p for p in posts(dataset)}
    for comment in comments:
        assert stored[comment["id"]]["author_id"] == comment["from"]["id"]
        assert stored[comment["id"]]["reply_to"] == comment.get("parent", {}).get("id")
    assert [q["reason"] for q in quarantine(dataset)] == [
        "comment without `from` (the token may lack the permission to see authors)"
    ]


def test_csv_with_a_mapping(tmp_path: Path, dataset: PostDataset) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "tweet_id,user,when,body,tags\n"
        '1,u1,2023-12-17 15:00:00+00,"Imran Khan zindabad #PTI","pti, jalsa"\n'
        "2,u2,not a time,hello,\n"
        "3,u3,2023-12-17 15:01:00+00,third\n"  # too few columns
        '4,u1,2023-12-17 15:02:00+00,"fourth, with ""quotes"" #Vote",\n',
        encoding="utf-8",
    )
    mapping = Mapping.parse(
        ["id=tweet_id", "author_id=user", "created_at=when", "text=body", "hashtags=tags"], "x"
    )
    summary = ingest(dataset, [path], "csv", mapping)
    stored = {p["id"]: p for p in posts(dataset)}
    assert set(stored) == {"1", "4"}
    assert stored["1"]["hashtags"] == ["pti", "jalsa"]
    assert stored["4"]["text"] == 'fourth, with "quotes" #Vote'
    reasons = {q["line"]: q["reason"] for q in quarantine(dataset)}
    assert reasons[3] == "created_at missing or not a time"
    assert 4 in reasons and reasons[4].startswith("CSV: ")
    assert summary.quarantined == 2


def test_jsonl_and_parquet_with_a_mapping(tmp_path: Path, dataset: PostDataset) -> None:
    rows = [
        {"pid": 10, "who": "a", "at": "2023-12-17T15:00:00Z", "msg": "hi #One @Two", "net": "x"},
        {"pid": 11, "who": "b", "at": "2023-12-17T15:00:05Z", "msg": "yo", "net": "youtube"},
        {"pid": 12, "who": "c", "at": "2023-12-17T15:00:06Z", "msg": "?", "net": "myspace"},
    ]
    jsonl = write_lines(tmp_path / "in.jsonl", rows)
    mapping = Mapping.parse(
        ["id=pid", "author_id=who", "created_at=at", "text=msg", "platform=net"], None
    )
    summary = ingest(dataset, [jsonl], "jsonl", mapping)
    assert summary.accepted == 2
    stored = {p["id"]: p for p in posts(dataset)}
    assert stored["10"]["hashtags"] == ["one"] and stored["10"]["mentions"] == ["two"]
    assert stored["11"]["platform"] == "youtube"
    assert [q["reason"] for q in quarantine(dataset)] == ["unknown platform"]

    parquet = tmp_path / "in.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_json('{jsonl}')) TO '{parquet}'")
    again = ingest(dataset, [parquet], "parquet", mapping)
    assert again.accepted == 0 and again.duplicates == 2


def test_own_parquet_is_read_without_a_mapping(tmp_path: Path, dataset: PostDataset) -> None:
    ingest(dataset, [write_lines(tmp_path / "x.jsonl", x_pages())])
    other = PostDataset(tmp_path / "other")
    summary = ingest(other, dataset.parts())
    assert summary.files[0].format == "posts"
    assert summary.accepted == len(posts(dataset))
    assert posts(other) == posts(dataset)


def test_files_of_another_format_are_refused(tmp_path: Path, dataset: PostDataset) -> None:
    ingest(dataset, [write_lines(tmp_path / "x.jsonl", x_pages())])
    parquet = dataset.parts()[0]
    csv = tmp_path / "a.csv"
    csv.write_text("a,b\n1,2\n")
    unknown = write_lines(tmp_path / "odd.jsonl", [{"hello": 1}])
    with pytest.raises(UserError, match="looks like a PARQUET file, not x"):
        choose_format(parquet, "x", None)
    with pytest.raises(UserError, match="looks like CSV"):
        choose_format(csv, "auto", None)
    with pytest.raises(UserError, match="JSON lines of an unknown kind"):
        choose_format(unknown, "auto", None)
    with pytest.raises(UserError, match="looks like a JSON file, not csv"):
        choose_format(unknown, "csv", Mapping.parse([], "x"))
    mapping = Mapping.parse(["text=body"], "x")
    with pytest.raises(UserError, match="no column 'author_id', 'body', 'created_at'"):
        ingest(dataset, [csv], "csv", mapping)
    with pytest.raises(UserError, match="no such file"):
        ingest(dataset, [tmp_path / "missing.jsonl"])
    with pytest.raises(UserError, match="not a post field"):
        Mapping.parse(["colour=c"], "x")


def test_a_crash_leaves_no_partial_part(
    tmp_path: Path, dataset: PostDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_lines(tmp_path / "x.jsonl", x_pages())

    def crash(self: PostDataset, temporary: Path, final: Path) -> None:
        raise KeyboardInterrupt  # killed while publishing

    monkeypatch.setattr(PostDataset, "publish", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(dataset, [path])
    assert dataset.parts() == []
    assert not (dataset.root / "staging").exists()
    monkeypatch.undo()
    summary = ingest(dataset, [path])
    assert summary.accepted == len(posts(dataset)) > 0


def fast_path_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each whole file went the fast way, in order."""
    taken: list[bool] = []
    whole_file = ingest_module._stage_whole_file

    def spy(*args: Any) -> bool:
        taken.append(whole_file(*args))
        return taken[-1]

    monkeypatch.setattr(ingest_module, "_stage_whole_file", spy)
    return taken


def test_a_whole_clean_file_gives_the_posts_that_reading_it_line_by_line_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole file is first read by DuckDB's own reader (the fast path); a piece of a file,
    as the collectors' logs are read, always line by line. Both give the same posts. A post
    repeated within a file sends the file line by line, which keeps the first copy."""
    page1, page2 = x_pages()
    path = write_lines(tmp_path / "x.jsonl", [page1, page2])
    whole, pieces = PostDataset(tmp_path / "whole"), PostDataset(tmp_path / "pieces")
    taken = fast_path_taken(monkeypatch)
    fast = ingest(whole, [path])
    slow = ingest(pieces, [Piece(path, 0, 1, path.stat().st_size)], "x")
    assert taken == [True]  # the whole file went the fast way, the piece did not
    assert posts(whole) == posts(pieces) and fast.accepted == slow.accepted > 0
    assert fast.files[0].lines == slow.files[0].lines == 2

    repeated = json.loads(json.dumps(page1))
    for tweet in repeated["data"]:
        tweet["public_metrics"]["like_count"] = 10**6  # a later copy of the same posts
    again = PostDataset(tmp_path / "again")
    summary = ingest(again, [write_lines(tmp_path / "r.jsonl", [page1, page2, repeated])])
    assert taken == [True, False]
    kept = [{**p, "source": "x.jsonl"} for p in posts(again)]  # the source is the file name
    assert kept == posts(whole) and summary.duplicates == len(repeated["data"])


def test_a_line_the_fast_path_cannot_read_sends_the_file_line_by_line(
    tmp_path: Path, dataset: PostDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    page1, page2 = x_pages()
    stream_line = {"data": page2["data"][0], "includes": page2["includes"]}
    error_page = {"errors": [{"title": "Not Found Error", "detail": "gone"}]}
    flat_tweet = page2["data"][1]  # one tweet per line, after a page: read line by line too
    path = write_lines(tmp_path / "x.jsonl", [page1, flat_tweet, stream_line, error_page])
    taken = fast_path_taken(monkeypatch)
    summary = ingest(dataset, [path])
    assert taken == [False]
    assert summary.accepted == len(page1["data"]) + 2
    assert [(q["line"], q["reason"].split(":")[0]) for q in quarantine(dataset)] == [
        (4, "an X API error response without posts")
    ]
