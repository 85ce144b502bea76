"""The conversation API (`/api/events/{slug}/conversation`) on a real server: the figures are
the ones `analyze` gives for the same dataset, an event without posts is "not measured" (not
zeros), the result is computed once per change of the dataset's part files (however many
dashboards ask) and in a worker thread, and only roles allowed to see events get it."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from postkit import T0, post, rally, write
from webkit import Site

from jalsa.conversation import measures as m
from jalsa.conversation import panel
from jalsa.conversation.analysis import analyze
from jalsa.conversation.dataset import PostDataset
from jalsa.conversation.engines import DuckDBEngine
from jalsa.conversation.ingest import ingest
from jalsa.platforms.post_record import POST_SCHEMA
from jalsa.team import MATRIX, Perm, Role
from jalsa.web.services import app_services
from testkit import load_fixture

MEASURES = ("overview", "top_hashtags", "tag_minutes", "tag_spikes", "spike_evidence")
URDU_TAG = "جلسہ"


def dataset_of(site: Site) -> PostDataset:
    return PostDataset.of_event(site.settings, site.event.slug)


def urdu_posts(start: int = 10_000) -> list[dict[str, Any]]:
    """Posts in Urdu with an Urdu hashtag, two a minute through the rally's half hour."""
    return [
        post(
            start + i,
            f"u{i % 7}",
            T0 + timedelta(minutes=i // 2, seconds=i),
            "جلسہ جاری ہے",
            [URDU_TAG],
        )
        for i in range(60)
    ]


def add_part(dataset: PostDataset, rows: list[dict[str, Any]], name: str) -> Path:
    """One more part file, named the way the dataset names them."""
    dataset.posts.mkdir(parents=True, exist_ok=True)
    path = dataset.posts / f"part-{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=POST_SCHEMA), path)
    return path


def get(site: Site, role: str = "viewer", mode: str = "token") -> dict[str, Any]:
    with site.client(role, mode) as client:
        response = client.get(f"/api/events/{site.event.slug}/conversation")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def expected(dataset: PostDataset) -> Any:
    engine = DuckDBEngine(dataset.parts())
    try:
        return analyze(engine, only=MEASURES)
    finally:
        engine.close()


def at(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.utcoffset() == timedelta(0), f"{text} is not in UTC"
    return value


def test_the_figures_are_those_of_analyze(sqlite_site: Site) -> None:
    site = sqlite_site
    dataset = dataset_of(site)
    write(rally() + urdu_posts(), dataset.posts)
    body = get(site)
    truth = expected(dataset)

    assert body["event"] == site.event.slug and body["timezone"] == "Asia/Karachi"
    assert body["measured"] is True and body["note"] is None
    assert body["parts"] == 2
    overview = truth.results["overview"][0]
    for name in ("posts", "authors", "originals", "reposts", "replies", "quotes"):
        assert body["overview"][name] == overview[name], name
    assert at(body["overview"]["first_at"]).timestamp() == overview["first_minute"] * 60
    assert at(body["overview"]["last_at"]).timestamp() == overview["last_minute"] * 60

    assert [
        {k: t[k] for k in ("tag", "posts", "authors", "complete")} for t in body["top_hashtags"]
    ] == [
        {"tag": r["item"], "posts": r["posts"], "authors": r["authors"], "complete": True}
        for r in truth.results["top_hashtags"]
    ]
    # accounts are counted by sketches, exact while they hold every account (here)
    for figure in [body["overview"], *body["top_hashtags"]]:
        n = figure["authors"]
        assert figure["authors_bounds"] == {"lower": n, "upper": n, "exact": True}
    assert URDU_TAG in [t["tag"] for t in body["top_hashtags"]]

    volume = body["tag_volume"]
    rows = truth.results["tag_minutes"]
    top5 = [r["item"] for r in truth.results["top_hashtags"][:5]]
    assert [s["tag"] for s in volume["series"]] == top5
    assert volume["epochs"] == sorted({r["minute"] * 60 for r in rows})
    assert [at(t).timestamp() for t in volume["times"]] == volume["epochs"]
    cells = {
        (s["tag"], volume["epochs"][i]): n
        for s in volume["series"]
        for i, n in enumerate(s["posts"])
        if n
    }
    assert cells == {(r["tag"], r["minute"] * 60): r["posts"] for r in rows}
    assert all(len(s["posts"]) == len(volume["epochs"]) for s in volume["series"])

    threshold = m.TAG_SPIKES.params["threshold"]
    assert body["spike_rule"] == {
        "window_minutes": m.TAG_SPIKES.params["window"],
        "threshold": threshold,
        "min_count": m.TAG_SPIKES.params["min_count"],
    }
    assert truth.spikes, "the rally has a spike"
    assert len(body["spikes"]) == len(truth.spikes)
    for got, want in zip(body["spikes"], truth.spikes, strict=True):
        assert got["tag"] == want["tag"]
        assert got["first_epoch"] == want["first_minute"] * 60
        assert got["last_epoch"] == want["last_minute"] * 60
        assert at(got["first_at"]).timestamp() == got["first_epoch"]
        assert at(got["last_at"]).timestamp() == got["last_epoch"]
        assert got["minutes"] == want["last_minute"] - want["first_minute"] + 1
        assert got["posts"] == want["posts"]
        peak = want["peak"]
        assert got["peak"]["epoch"] == peak["minute"] * 60
        assert at(got["peak"]["at"]).timestamp() == got["peak"]["epoch"]
        assert got["peak"]["posts"] == peak["posts"]
        assert got["peak"]["expected"] == pytest.approx(peak["expected"])
        assert got["peak"]["score"] == pytest.approx(peak["score"])
        assert got["peak"]["score"] >= got["threshold"] == threshold
        assert got["top_posts"] == [
            {"id": p["id"], "text": p["text"], "engagement": p["value"]} for p in want["top_posts"]
        ]
        assert got["top_accounts"] == [
            {"id": a["id"], "handle": a["text"], "posts": a["value"]} for a in want["top_accounts"]
        ]
    assert body["spikes"][0]["tag"] == "shutdown" and body["spikes"][0]["top_accounts"]

    definitions = truth.as_dict()["definitions"]
    assert set(body["definitions"]) == set(MEASURES)
    for name in MEASURES:  # the batch definition, then what is exact and what estimated
        assert body["definitions"][name].startswith(definitions[name] + " Live: ")
    assert "relative standard error of 1.6%" in body["definitions"]["overview"]
    assert "{" not in body["definitions"]["tag_spikes"]  # parameters filled in


def test_an_event_without_posts_is_not_measured(sqlite_site: Site) -> None:
    body = get(sqlite_site, "volunteer", "cookie")
    assert body["measured"] is False
    assert "No posts have been collected" in body["note"]
    assert f"jalsa ingest {sqlite_site.event.slug}" in body["note"]
    assert body["overview"] is None and body["tag_volume"] is None
    assert body["top_hashtags"] == [] and body["spikes"] == [] and body["parts"] == 0
    assert set(body["definitions"]) == set(MEASURES)
    assert "0" not in json.dumps({k: body[k] for k in ("overview", "top_hashtags", "spikes")})

    # a part without a single post measures nothing either
    add_part(dataset_of(sqlite_site), [], "empty")
    body = get(sqlite_site)
    assert body["measured"] is False and body["overview"] is None and body["parts"] == 1


def test_computed_once_per_change_of_the_parts_and_off_the_event_loop(
    sqlite_site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = sqlite_site
    dataset = dataset_of(site)
    write(rally(), dataset.posts)
    threads: list[str] = []
    original = panel.live_summary

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(panel, "live_summary", recording)

    first = get(site)
    assert get(site) == first
    assert get(site, "admin", "cookie") == first
    assert len(threads) == 1, "the same parts were computed again"
    assert "uvicorn-under-test" not in threads, "DuckDB ran on the event loop's thread"

    # a new part (as `jalsa ingest` writes it) is taken in at the next request
    lines = tmp_path / "x.jsonl"
    lines.write_text(json.dumps(load_fixture("x", "search_page1.json")) + "\n", encoding="utf-8")
    summary = ingest(dataset, [lines])
    assert summary.accepted > 0
    second = get(site)
    assert len(threads) == 2
    assert second["parts"] == 3
    assert second["overview"]["posts"] == first["overview"]["posts"] + summary.accepted
    assert second["computed_at"] > first["computed_at"]
    now = expected(dataset).results["overview"][0]
    assert (second["overview"]["posts"], second["overview"]["authors"]) == (
        now["posts"],
        now["authors"],
    )

    # many dashboards asking at once after a change: one computation
    add_part(dataset, urdu_posts(), "zz-urdu")

    async def many() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {site.team['viewer'].token}"}
        async with httpx.AsyncClient(base_url=site.url, headers=headers, timeout=30) as client:
            path = f"/api/events/{site.event.slug}/conversation"
            responses = await asyncio.gather(*(client.get(path) for _ in range(12)))
        assert all(r.status_code == 200 for r in responses)
        return [r.json() for r in responses]

    bodies = asyncio.run(many())
    assert len(threads) == 3
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["parts"] == 4
    assert URDU_TAG in [t["tag"] for t in bodies[0]["top_hashtags"]]
    assert app_services(site.app).conversation.computations == 3


def test_an_unreadable_part_is_reported_not_measured(sqlite_site: Site) -> None:
    dataset = dataset_of(sqlite_site)
    dataset.posts.mkdir(parents=True)
    (dataset.posts / "part-broken.parquet").write_bytes(b"not parquet at all")
    body = get(sqlite_site)
    assert body["measured"] is False and body["overview"] is None
    assert "could not be read" in body["note"]


def test_who_may_read_it(sqlite_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site = sqlite_site
    write(rally(), dataset_of(site).posts)
    path = f"/api/events/{site.event.slug}/conversation"
    with site.client() as anonymous:
        response = anonymous.get(path)
        assert response.status_code == 401 and "detail" in response.json()
    with site.client("viewer", "token") as client:
        assert client.get("/api/events/no-such-event/conversation").status_code == 404
    # a role without the permission that shows the live figures is refused, token or cookie
    monkeypatch.setitem(MATRIX, Role.VIEWER, MATRIX[Role.VIEWER] - {Perm.VIEW_EVENTS})
    for mode in ("token", "cookie"):
        with site.client("viewer", mode) as client:
            response = client.get(path)
            assert response.status_code == 403, (mode, response.status_code)
            assert "events:view" in response.json()["detail"]
    with site.client("volunteer", "token") as client:
        assert client.get(path).status_code == 200


def test_the_schema_documents_the_response(sqlite_site: Site) -> None:
    with sqlite_site.client("viewer", "token") as client:
        schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/events/{slug}/conversation"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ConversationOut"}
    assert {"401", "403", "404"} <= set(operation["responses"])
    fields = schema["components"]["schemas"]["ConversationOut"]["properties"]
    assert {"measured", "note", "overview", "top_hashtags", "tag_volume", "spikes"} <= set(fields)
    assert {"definitions", "spike_rule"} <= set(fields)
