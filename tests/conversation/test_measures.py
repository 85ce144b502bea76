"""Each measure, run by DuckDB over a small hand-made rally, equals an independent plain-Python
computation of its written definition."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from postkit import T0, rally, write

from jalsa.conversation import measures as m
from jalsa.conversation.analysis import Voices, analyze, join_spikes, precision_recall
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.measure_sql import Measure, Rows, render

Row = dict[str, Any]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return rally()


@pytest.fixture(scope="module")
def engine(rows: list[Row], tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    return DuckDBEngine(write(rows, tmp_path_factory.mktemp("rally")))


def run(engine: DuckDBEngine, measure: Measure, **params: Any) -> list[Row]:
    return engine.table(render(measure, **params)).to_pylist()


def minute(row: Row) -> int:
    return int(row["created_at"].timestamp()) // 60


def near_text(text: str) -> str:
    text = re.sub(r"https?://[^ ]+|[@#]\w+", " ", text.lower())
    text = "".join(ch if ch.isalpha() or ch == " " else " " for ch in text)
    return " ".join(text.split())


def test_overview_and_minutes(engine: DuckDBEngine, rows: list[Row]) -> None:
    [overview] = run(engine, m.OVERVIEW)
    assert overview["posts"] == len(rows)
    assert overview["authors"] == len({r["author_id"] for r in rows})
    assert abs(overview["authors_approx"] - overview["authors"]) <= 0.15 * overview["authors"]
    assert overview["reposts"] == sum(r["repost_of"] is not None for r in rows) == 5
    assert overview["originals"] == len(rows) - 5
    assert overview["first_minute"] == min(map(minute, rows))
    per = defaultdict(list)
    for r in rows:
        per[minute(r)].append(r)
    expected = [
        {
            "minute": k,
            "posts": len(v),
            "authors": len({r["author_id"] for r in v}),
            "reposts": sum(r["repost_of"] is not None for r in v),
        }
        for k, v in sorted(per.items())
    ]
    assert run(engine, m.PER_MINUTE) == expected


def test_top_lists(engine: DuckDBEngine, rows: list[Row]) -> None:
    tags = Counter(t for r in rows for t in set(r["hashtags"]))
    expected = sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))
    got = run(engine, m.TOP_HASHTAGS, limit=3)
    assert [(g["item"], g["posts"]) for g in got] == expected[:3]
    authors = Counter(r["author_id"] for r in rows)
    top = run(engine, m.TOP_AUTHORS, limit=3)
    expected_authors = sorted(authors.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(t["item"], t["posts"]) for t in top] == expected_authors
    assert top[2] == {"item": "fast", "handle": "h_fast", "posts": 12, "reposts": 0}
    words = Counter(
        w
        for r in rows
        if r["repost_of"] is None
        for w in set(near_text(r["text"]).split())
        if len(w) >= 3 and w not in m.STOP_WORDS
    )
    got_words = run(engine, m.TOP_TERMS, limit=5)
    assert [(g["item"], g["posts"]) for g in got_words] == sorted(
        words.items(), key=lambda kv: (-kv[1], kv[0])
    )[:5]


def python_spikes(rows: list[Row], window: int, threshold: float, min_count: int) -> list[Row]:
    uses: Counter[tuple[str, int]] = Counter()
    for r in rows:
        for tag in r["hashtags"]:
            uses[(tag, minute(r))] += 1
    total: Counter[int] = Counter()
    for (_, k), n in uses.items():
        total[k] += n
    out = []
    for (tag, k), n in uses.items():
        before_all = sum(total[j] for j in range(k - window, k))
        if before_all == 0:
            continue
        before_tag = sum(uses[(tag, j)] for j in range(k - window, k))
        expected = total[k] * before_tag / before_all
        score = (n - expected) / math.sqrt(expected + 1)
        if n >= min_count and score >= threshold:
            out.append({"tag": tag, "minute": k, "posts": n, "expected": expected, "score": score})
    return sorted(out, key=lambda r: (r["tag"], r["minute"]))


def test_tag_spikes_follow_their_definition(engine: DuckDBEngine, rows: list[Row]) -> None:
    got = run(engine, m.TAG_SPIKES)
    expected = python_spikes(rows, **m.TAG_SPIKES.params)
    assert [(g["tag"], g["minute"], g["posts"]) for g in got] == [
        (e["tag"], e["minute"], e["posts"]) for e in expected
    ]
    for g, e in zip(got, expected, strict=True):
        assert g["expected"] == pytest.approx(e["expected"])
        assert g["score"] == pytest.approx(e["score"])
    # the new #shutdown tag spikes at minute 20 and 21: one spike of two minutes
    spikes = join_spikes(got)
    shutdown = [s for s in spikes if s["tag"] == "shutdown"]
    assert len(shutdown) == 1
    start = int(T0.timestamp()) // 60
    assert (shutdown[0]["first_minute"], shutdown[0]["last_minute"]) == (start + 20, start + 21)
    assert shutdown[0]["posts"] == 100


def test_spike_evidence_names_the_top_posts_and_accounts(engine: DuckDBEngine) -> None:
    result = analyze(engine, only=("tag_spikes", "spike_evidence"))
    shutdown = next(s for s in result.spikes if s["tag"] == "shutdown")
    assert [p["value"] for p in shutdown["top_posts"]] == [100, 99, 98]
    assert shutdown["top_posts"][0]["text"] == "internet band 0 #Shutdown"
    # s0..s39 posted twice (minutes 20 and 21), the rest once: the first three by id order
    assert [a["value"] for a in shutdown["top_accounts"]] == [2, 2, 2]


def test_copied_text_runs(engine: DuckDBEngine, rows: list[Row]) -> None:
    got = run(engine, m.COPIED_TEXT)
    assert len(got) == 1
    run_ = got[0]
    assert run_["accounts"] == 6 and run_["posts"] == 6
    assert run_["text_key"] == near_text(
        "Everyone must join the virtual jalsa tonight at nine sharp!! 11 https://t.co/x1 🇵🇰"
    )
    assert run_["text_key"] == "everyone must join the virtual jalsa tonight at nine sharp"
    # its 6 posts in minutes 5 and 6 are 6 of the 30 posted in those minutes
    in_minutes = [r for r in rows if minute(r) - minute(rows[0]) in (5, 6)]
    assert run_["share"] == pytest.approx(6 / len(in_minutes)) == pytest.approx(0.2)
    assert len(run(engine, m.COPIED_TEXT, min_share=0.21)) == 0
    # the slogan typed by 20 people is under the length limit; the later run has 3 accounts
    looser = run(engine, m.COPIED_TEXT, min_letters=10, min_accounts=3)
    keys = sorted((r["text_key"], r["accounts"]) for r in looser)
    assert ("imran khan zindabad", 20) in keys
    assert [a for k, a in keys if k.startswith("everyone")] == [3, 6]


def test_fast_posters_and_new_account_bursts(engine: DuckDBEngine, rows: list[Row]) -> None:
    fast = run(engine, m.FAST_POSTERS)
    assert [(f["author_id"], f["max_per_minute"]) for f in fast] == [("fast", 12)]
    bursts = run(engine, m.NEW_ACCOUNT_BURSTS)
    assert len(bursts) == 1 and bursts[0]["accounts"] == 25
    assert bursts[0]["day"] == int((T0.timestamp() - 7 * 86400) // 86400)


def test_coordination_summary_and_precision_recall(engine: DuckDBEngine, rows: list[Row]) -> None:
    result = analyze(engine, only=("overview", "coordinated_accounts"))
    c = result.coordination
    copied = {f"c{i}" for i in range(6)}
    new = {f"new{i}" for i in range(25)}
    posts_by = Counter(r["author_id"] for r in rows)
    assert c["copied_text"]["accounts"] == 6
    assert c["copied_text"]["posts"] == sum(posts_by[a] for a in copied)
    assert c["fast_posting"]["posts"] == 12
    assert c["new_account_burst"]["accounts"] == 25
    flagged = copied | new | {"fast"}
    assert c["any"]["accounts"] == len(flagged)
    assert c["any"]["share_of_posts"] == pytest.approx(
        sum(posts_by[a] for a in flagged) / len(rows)
    )
    accounts = [a["author_id"] for a in result.results["coordinated_accounts"]]
    scores = precision_recall(accounts, copied | {"fast", "c_missing"})
    assert scores["true_positives"] == 7
    assert scores["precision"] == pytest.approx(7 / len(flagged))
    assert scores["recall"] == pytest.approx(7 / 8)


def test_share_of_voice_and_voices_per_minute(engine: DuckDBEngine, rows: list[Row]) -> None:
    voices = Voices.parse(["Party=#pti,imran khan", "Outage=#shutdown,internet band"])
    result = analyze(engine, voices=voices, only=("share_of_voice", "voice_minutes"))
    got = {r["voice"]: r for r in result.results["share_of_voice"]}
    terms = {"Party": ({"pti"}, ["imran khan"]), "Outage": ({"shutdown"}, ["internet band"])}

    def mentions(row: Row, voice: str) -> bool:
        tags, phrases = terms[voice]
        return bool(tags & set(row["hashtags"])) or any(p in row["text"].lower() for p in phrases)

    party = sum(mentions(r, "Party") for r in rows)
    outage = sum(mentions(r, "Outage") for r in rows)
    assert party and outage
    assert got["Party"]["posts"] == party and got["Outage"]["posts"] == outage
    assert got["Party"]["share"] == pytest.approx(party / (party + outage))
    per = Counter((v, minute(r)) for r in rows for v in terms if mentions(r, v))
    expected = [{"voice": v, "minute": k, "posts": n} for (v, k), n in sorted(per.items())]
    assert result.results["voice_minutes"] == expected


def test_parameters_are_literals_not_sql(engine: DuckDBEngine) -> None:
    voices = Voices.parse(["x'); DROP TABLE posts; --=#pti"])
    result = analyze(engine, voices=voices, only=("share_of_voice",))
    assert result.results["share_of_voice"][0]["voice"] == "x'); DROP TABLE posts; --"
    with pytest.raises(TypeError):
        render(m.TOP_HASHTAGS, limit=[1])
    assert run(engine, m.SHARE_OF_VOICE, tags=Rows(2, ()), phrases=Rows(2, ())) == []


def test_empty_dataset(tmp_path: Path) -> None:
    empty = DuckDBEngine([])
    result = analyze(empty)
    assert result.results["overview"][0]["posts"] == 0
    assert result.spikes == [] and result.coordination["any"]["share_of_posts"] is None


def test_tag_minutes_of_the_top_tags(engine: DuckDBEngine, rows: list[Row]) -> None:
    tags = Counter(t for r in rows for t in set(r["hashtags"]))
    top = sorted(tags, key=lambda t: (-tags[t], t))[:2]
    per: Counter[tuple[str, int]] = Counter(
        (t, minute(r)) for r in rows for t in set(r["hashtags"]) if t in top
    )
    expected = [{"tag": t, "minute": k, "posts": n} for (t, k), n in sorted(per.items())]
    assert run(engine, m.TAG_MINUTES, top=2) == expected
