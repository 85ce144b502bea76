"""The incidents page and the event's incidents JSON: both need a login and the watch and
event permissions, a viewer sees them, and they say what is stored (the audience change from
the samples, the evidence measurements, newest first, nothing outside the event's window)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

from webkit import Site, poll_record, store_polls

from jalsa.watch.record import METHODS, Measurement, Observations, Vantage, Verdict
from jalsa.watch.store import save_incident, save_measurements


def measurement(n: int, at: datetime, city: str, network: str) -> Measurement:
    return Measurement(
        id=f"m-{n}",
        target="www.youtube.com",
        platform="youtube",
        vantage=Vantage(name=f"{city.lower()}-1", city=city, network=network),
        round_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        observations=Observations(),
        verdict=Verdict(method="tls.sni_filter", reason=f"handshake reset with SNI ({n})"),
    )


def incident(site: Site, id: str, start: datetime, end: datetime | None, **extra: Any) -> None:
    values: dict[str, Any] = {
        "status": "open" if end is None else "closed",
        "platforms": ["youtube"],
        "method": "tls.sni_filter",
        "confidence": 0.87,
        "summary": f"YouTube blocked by SNI ({id})",
        "record": {
            "cities": ["Lahore", "Karachi"],
            "networks": ["PTCL", "Jazz"],
            "vantages": ["lahore-1", "karachi-1"],
            "evidence": ["m-1", "m-2", "missing"],  # the first and the latest ids
            "evidence_count": 14,
            "methods": {"tcp.timeout": 2, "tls.sni_filter": 12},
        },
        **extra,
    }
    with site.store.session() as s:
        save_incident(s, id=id, started_at=start, ended_at=end, **values)


def seed(site: Site) -> datetime:
    """Samples of the event's YouTube and Facebook streams, one incident in its window (20 to
    10 minutes ago), one long before it, and the incident's evidence."""
    now = datetime.now().astimezone().replace(microsecond=0)
    start, end = now - timedelta(minutes=20), now - timedelta(minutes=10)
    youtube, facebook, _space = site.event.stream_ids
    audience = site.event.audience
    rows = {youtube: [(-31, 500), (-25, 700), (-15, 100), (-12, 200)], facebook: [(-22, 50)]}
    store_polls(
        site.store,
        [
            poll_record(
                sid, now + timedelta(minutes=m), [(audience[sid], now + timedelta(minutes=m), v)]
            )
            for sid, points in rows.items()
            for m, v in points
        ],
    )
    incident(site, "inside", start, end)
    incident(site, "before", now - timedelta(days=3), now - timedelta(days=3, minutes=-5))
    with site.store.session() as s:
        save_measurements(
            s,
            [
                measurement(1, start, "Lahore", "PTCL"),
                measurement(2, start + timedelta(seconds=30), "Karachi", "Jazz"),
            ],
        )
    return now


def test_both_need_a_login(site: Site) -> None:
    with site.client() as anonymous:
        page = anonymous.get("/watch/incidents")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert anonymous.get("/api/events/rally/incidents").status_code == 401


def test_a_viewer_sees_the_audience_change_during_the_event(site: Site) -> None:
    seed(site)
    with site.client("viewer") as viewer:
        response = viewer.get("/api/events/rally/incidents")
    assert response.status_code == 200
    body = response.json()
    assert (body["event"], body["timezone"]) == ("rally", "Asia/Karachi")
    assert [i["id"] for i in body["incidents"]] == ["inside"]
    found = body["incidents"][0]
    assert found["method_definition"] == METHODS["tls.sni_filter"]
    assert (found["cities"], found["networks"], found["confidence"]) == (
        ["Lahore", "Karachi"],
        ["PTCL", "Jazz"],
        0.87,
    )
    assert (found["methods"], found["evidence_count"]) == (
        {"tcp.timeout": 2, "tls.sni_filter": 12},
        14,
    )
    impact = found["impact"]
    assert impact["open"] is False and impact["before_minutes"] == 10
    platforms = {p["platform"]: p for p in impact["platforms"]}
    assert [p["platform"] for p in impact["platforms"]] == ["youtube", "facebook", "x"]
    assert platforms["youtube"]["affected"] and not platforms["facebook"]["affected"]
    yt = platforms["youtube"]["streams"][0]
    # Before: -31 is outside the 10 minutes before -20; -25 is in. During: -15 and -12.
    assert (yt["before"], yt["before_samples"]) == (700, 1)
    assert (yt["during"], yt["during_min"], yt["during_samples"]) == (150, 100, 2)
    assert (yt["change"], yt["relative"]) == (-550, -550 / 700)
    fb = platforms["facebook"]["streams"][0]
    assert fb["before"] == 50 and fb["during"] is None and fb["change"] is None
    assert fb["not_measured"] == "no audience samples during the incident"


def test_the_incidents_page_lists_every_incident_newest_first_with_evidence(site: Site) -> None:
    seed(site)
    incident(site, "later", datetime.now().astimezone() - timedelta(minutes=5), None)
    with site.client("viewer") as viewer:
        response = viewer.get("/watch/incidents")
        dashboard = viewer.get("/events/rally")
    assert response.status_code == 200
    text = html.unescape(response.text)
    order = [text.index(f'data-incident-id="{i}"') for i in ("later", "inside", "before")]
    assert order == sorted(order), "newest first"
    assert 'id="nav-incidents"' in text and 'aria-current="page"' in text
    assert f'title="{METHODS["tls.sni_filter"]}"' in text
    words = " ".join(re.sub(r"<[^>]+>", " ", text).split())  # the text as read
    assert "Cities: Lahore, Karachi · Networks: PTCL, Jazz" in words
    assert "confidence 87 %" in words and "ongoing" in words
    assert "Evidence: 2 of 14 measurements" in words
    assert "Failing measurements by method: tls.sni_filter 12, tcp.timeout 2" in words
    for n, where in ((1, "lahore-1 Lahore · PTCL"), (2, "karachi-1 Karachi · Jazz")):
        assert f'data-measurement-id="m-{n}"' in text
        assert f"{where} www.youtube.com tls.sni_filter handshake reset with SNI ({n})" in words
    assert '<a href="/events/rally"' in text, "links the event it happened during"
    assert dashboard.status_code == 200
    assert 'id="incidents"' in dashboard.text and 'href="/watch/incidents"' in dashboard.text


def test_the_pages_read_the_fields_the_detector_writes() -> None:
    """The incident's `record` is the detector's Incident as JSON: the fields read from it."""
    from jalsa.watch.incidents import Incident

    read = {"cities", "networks", "vantages", "evidence", "evidence_count", "methods"}
    assert read <= set(Incident.model_fields)
