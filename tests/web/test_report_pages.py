"""The post-event report in the web app: the page with its claims form, and the API in every
format, computed from the site's own samples."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from urllib.parse import quote

from webkit import Site, poll_record, store_polls

from jalsa.timeutil import utc_now


def seed(site: Site) -> None:
    """Ten minutes of YouTube viewers rising from 100 to 1,000 during the event."""
    youtube = site.event.stream_ids[0]
    metric = site.event.audience[youtube]
    now = utc_now().replace(microsecond=0)
    times = [now - timedelta(minutes=10 - m) for m in range(10)]
    records = [
        poll_record(youtube, at, [(metric, at, 100 * (m + 1))]) for m, at in enumerate(times)
    ]
    store_polls(site.store, records)


def test_the_report_page_checks_claims_and_offers_every_format(sqlite_site: Site) -> None:
    seed(sqlite_site)
    claims = "2,000 watching on YouTube\nlots of people"
    with sqlite_site.client("viewer") as viewer:
        page = viewer.get(f"/events/rally/report?claims={quote(claims)}")
        as_json = viewer.get("/api/events/rally/report?claim=2%2C000%20watching%20on%20YouTube")
        as_csv = viewer.get("/api/events/rally/report?format=csv")
        as_pdf = viewer.get("/api/events/rally/report?format=pdf")
        trail = viewer.get("/api/events/rally/report?format=provenance")
    assert page.status_code == 200
    assert 'id="claims-form"' in page.text and 'href="/static/report.css"' in page.text
    assert "<style>" not in page.text  # the app's CSP allows no inline style
    assert "2.00×" in page.text  # 2,000 claimed against a measured peak of 1,000
    assert "could not read a number" in page.text
    body = as_json.json()
    (check,) = body["claims"]
    assert check["claimed"] == 2000 and check["ratio"] == 2.0
    peak = body["audience"]["streams"][0]["figures"][0]
    assert peak["key"].endswith(".peak") and peak["value"] == 1000
    assert body["conversation"]["measured"] is False
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert any(r["key"].endswith(".peak") and r["value"] == "1000.0" for r in rows)
    assert as_pdf.headers["content-type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF")
    assert "attachment" in as_pdf.headers["content-disposition"]
    figures = json.loads(trail.text)["figures"]
    assert {f["key"] for f in figures} == {r["key"] for r in rows}


def test_a_bad_voice_is_a_clear_400(sqlite_site: Site) -> None:
    with sqlite_site.client("viewer", "token") as viewer:
        response = viewer.get("/api/events/rally/report?voice=PTI")
    assert response.status_code == 400
    assert "NAME=#hashtag" in response.json()["detail"]
