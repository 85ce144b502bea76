"""The watch's JSON API on a real server: uploads are idempotent and audited, bad records are a
422 that names the problem, incidents and measurements are read back with their filters, the
control helper refuses what it must not probe, and every call checks the caller's role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from webkit import Site

from jalsa.store.models import AuditEntry
from jalsa.watch.record import DEFAULT_TARGETS

T0 = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)
X_HOSTS = [t.host for t in DEFAULT_TARGETS if t.platform == "x"]


def record(
    minute: int, host: str = "x.com", method: str = "ok", vantage: str = "lahore-1"
) -> dict[str, Any]:
    at = (T0 + timedelta(minutes=minute)).isoformat()
    return {
        "id": uuid.uuid4().hex,
        "target": host,
        "platform": next((t.platform for t in DEFAULT_TARGETS if t.host == host), "other"),
        "vantage": {"name": vantage, "city": "Lahore", "network": "PTCL"},
        "round_at": at,
        "started_at": at,
        "finished_at": at,
        "observations": {},
        "verdict": {"method": method, "reason": "test"},
    }


def x_round(minute: int, method: str = "ok") -> list[dict[str, Any]]:
    return [record(minute, host, method) for host in X_HOSTS]


def test_an_upload_is_stored_once_and_audited(sqlite_site: Site) -> None:
    batch = {"measurements": x_round(0)}
    with sqlite_site.agent() as volunteer, sqlite_site.client("volunteer", "token") as reader:
        first = volunteer.send("POST", "/api/watch/measurements", json_body=batch)
        assert first.status_code == 200, first.text
        assert first.json() == {"stored": 4, "duplicate": 0, "incidents": 0}
        again = volunteer.send("POST", "/api/watch/measurements", json_body=batch)
        assert again.json() == {"stored": 0, "duplicate": 4, "incidents": 0}
        listed = reader.get("/api/watch/measurements", params={"vantage": "lahore-1"}).json()
    assert sorted(m["id"] for m in listed) == sorted(m["id"] for m in batch["measurements"])
    with sqlite_site.store.session() as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "watch.upload"))
        )
    assert [(e.actor, e.target, e.details) for e in entries] == [
        ("volunteer", "lahore-1", {"stored": 4, "duplicate": 0}),
        ("volunteer", "lahore-1", {"stored": 0, "duplicate": 4}),
    ]


def test_roles(sqlite_site: Site) -> None:
    batch = {"measurements": [record(0)]}
    with sqlite_site.client("viewer", "token") as viewer:
        refused = viewer.send("POST", "/api/watch/measurements", json_body=batch)
        assert refused.status_code == 403 and "watch:submit" in refused.json()["detail"]
        assert viewer.get("/api/watch/incidents").status_code == 200
        assert viewer.get("/api/watch/measurements").status_code == 200
    with sqlite_site.client(None) as anonymous:
        assert anonymous.send("POST", "/api/watch/measurements", json_body=batch).status_code == 401
        assert anonymous.get("/api/watch/incidents").status_code == 401


def test_bad_records_are_refused_with_the_reason(sqlite_site: Site) -> None:
    naive = record(0)
    naive["round_at"] = "2023-12-17T14:00:00"
    long_name = record(1)
    long_name["vantage"]["name"] = "v" * 101
    no_verdict = record(2)
    del no_verdict["verdict"]
    with sqlite_site.agent() as volunteer, sqlite_site.client("volunteer", "token") as reader:
        for bad, words in (
            (naive, "round_at needs a time zone"),
            (long_name, "vantage.name must have at most 100"),
            (no_verdict, "Field required"),
        ):
            response = volunteer.send(
                "POST", "/api/watch/measurements", json_body={"measurements": [record(3), bad]}
            )
            assert response.status_code == 422
            assert words in str(response.json()["detail"]), response.text
        too_many = {"measurements": [record(i) for i in range(501)]}
        assert (
            volunteer.send("POST", "/api/watch/measurements", json_body=too_many).status_code == 422
        )
        assert reader.get("/api/watch/measurements").json() == []  # nothing half-stored


def test_incidents_and_measurements_are_read_back_with_filters(sqlite_site: Site) -> None:
    with sqlite_site.agent() as volunteer, sqlite_site.client("volunteer", "token") as reader:
        changes = 0
        for minute in range(10):
            volunteer.send(
                "POST", "/api/watch/measurements", json_body={"measurements": x_round(minute)}
            )
        for minute in range(10, 14):
            answer = volunteer.send(
                "POST",
                "/api/watch/measurements",
                json_body={"measurements": x_round(minute, "tls.sni_filter")},
            )
            changes += answer.json()["incidents"]
        assert changes >= 1
        incidents = reader.get("/api/watch/incidents").json()
        assert len(incidents) == 1
        incident = incidents[0]
        assert incident["status"] == "open" and incident["platforms"] == ["x"]
        assert incident["method"] == "tls.sni_filter"
        assert incident["record"]["cities"] == ["Lahore"]
        assert reader.get("/api/watch/incidents", params={"status": "closed"}).json() == []
        later = (T0 + timedelta(days=1)).isoformat()
        earlier = (T0 - timedelta(days=1)).isoformat()
        assert reader.get("/api/watch/incidents", params={"until": earlier}).json() == []
        assert len(reader.get("/api/watch/incidents", params={"since": later}).json()) == 1
        # The seeded event is on now; the incident is still open, so it lasts until now.
        during = reader.get("/api/watch/incidents", params={"event": sqlite_site.event.slug})
        assert [i["id"] for i in during.json()] == [incident["id"]]
        assert reader.get("/api/watch/incidents", params={"event": "nope"}).status_code == 404

        newest = reader.get("/api/watch/measurements", params={"limit": 4}).json()
        assert [m["round_at"] for m in newest] == [
            (T0 + timedelta(minutes=13)).isoformat().replace("+00:00", "Z")
        ] * 4
        since = (T0 + timedelta(minutes=12)).isoformat()
        assert len(reader.get("/api/watch/measurements", params={"since": since}).json()) == 8
        assert reader.get("/api/watch/measurements", params={"platform": "facebook"}).json() == []
        one = reader.get(
            "/api/watch/measurements", params={"target": "x.com", "limit": 1000}
        ).json()
        assert len(one) == 14 and {m["target"] for m in one} == {"x.com"}


def test_the_control_helper_checks_what_it_is_asked(sqlite_site: Site) -> None:
    with sqlite_site.agent() as volunteer:
        answer = volunteer.send(
            "POST",
            "/api/watch/control",
            json_body={"targets": [{"host": "localhost", "platform": "x"}]},
        )
        assert answer.status_code == 200
        [result] = answer.json()
        assert result["observations"] is None and "non-public" in result["error"]
        for bad in ({"host": "127.0.0.1", "platform": "x"}, {"host": "a b", "platform": "x"}):
            refused = volunteer.send("POST", "/api/watch/control", json_body={"targets": [bad]})
            assert refused.status_code == 422 and "DNS name" in refused.text
        many = [{"host": f"h{i}.example", "platform": "x"} for i in range(33)]
        assert (
            volunteer.send("POST", "/api/watch/control", json_body={"targets": many}).status_code
            == 422
        )
    with sqlite_site.store.session() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "watch.control"))
        assert [e.target for e in audited] == ["localhost"]


def test_an_agent_token_uploads_for_its_own_vantage_and_does_nothing_else(
    sqlite_site: Site,
) -> None:
    with sqlite_site.agent(vantage="lahore-1") as agent:
        other = agent.send(
            "POST", "/api/watch/measurements", json_body={"measurements": [record(1, vantage="x")]}
        )
        assert other.status_code == 403 and "lahore-1" in other.json()["detail"]
        assert agent.get("/api/events").status_code == 403
        assert agent.get("/api/watch/measurements").status_code == 403
        minted = agent.send("POST", "/api/tokens", json_body={"name": "successor"})
        assert minted.status_code == 403
    with sqlite_site.client("volunteer", "token") as volunteer:
        # a volunteer's own session or API token cannot upload as some vantage either
        batch = {"measurements": [record(2, vantage="karachi-9")]}
        refused = volunteer.send("POST", "/api/watch/measurements", json_body=batch)
        assert refused.status_code == 403 and "agent token" in refused.json()["detail"]
        # and no API token creates tokens: a stolen one cannot mint its successor
        assert volunteer.send("POST", "/api/tokens", json_body={"name": "x"}).status_code == 403
    with sqlite_site.client("coordinator", "token") as coordinator:
        batch = {"measurements": [record(3, vantage="karachi-9")]}
        assert (
            coordinator.send("POST", "/api/watch/measurements", json_body=batch).status_code == 200
        )
    with sqlite_site.client("volunteer", "cookie") as browser:
        made = browser.send(
            "POST", "/api/tokens", json_body={"name": "probe", "scope": "agent", "vantage": "lhr-2"}
        )
        assert made.status_code == 201 and made.json()["vantage"] == "lhr-2"
        vague = browser.send("POST", "/api/tokens", json_body={"name": "p", "scope": "agent"})
        assert vague.status_code == 400
