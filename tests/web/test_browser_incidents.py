"""Internet disruptions on the dashboard, in a real browser (Playwright driving Debian's
Chromium): an incident stored during the event is shaded over the audience charts at its
place in time (darker on the platform it affects), and the panel lists it with the audience
change on each platform; the same at a phone's 390 px, without sideways scrolling. A new
incident appears without a reload. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_browser import SIZES, Watch, shot, shot_of
from webkit import PASSWORD, Site, poll_record, store_polls

from jalsa.timeutil import utc_now
from jalsa.watch.record import METHODS
from jalsa.watch.store import save_incident

pytestmark = pytest.mark.integration


def minutes(now: datetime, m: float) -> datetime:
    return now + timedelta(minutes=m)


def seed(site: Site) -> datetime:
    """A sample a minute for the last half hour: YouTube falls from 1000 to 300 viewers for
    the ten minutes of the incident (20 to 10 minutes ago), Facebook stays at 500."""
    now = utc_now().replace(second=0, microsecond=0)
    youtube, facebook, _space = site.event.stream_ids
    audience = site.event.audience
    records = []
    for m in range(-30, 1):
        yt = 300 if -20 <= m <= -10 else 1000
        for sid, value in ((youtube, yt), (facebook, 500)):
            at = minutes(now, m)
            records.append(poll_record(sid, at, [(audience[sid], at, value)]))
    store_polls(site.store, records)
    incident(site, "sni-youtube", minutes(now, -20), minutes(now, -10), ["youtube"])
    return now


def incident(
    site: Site, id: str, start: datetime, end: datetime | None, platforms: list[str]
) -> None:
    with site.store.session() as s:
        save_incident(
            s,
            id=id,
            status="closed" if end else "open",
            started_at=start,
            ended_at=end,
            platforms=platforms,
            method="tls.sni_filter",
            confidence=0.9,
            summary="YouTube's TLS handshakes reset when the name is sent",
            record={"cities": ["Lahore"], "networks": ["PTCL"]},
        )


def open_dashboard(browser: Any, site: Site, size: str) -> tuple[Any, Watch, Any]:
    context = browser.new_context(viewport=SIZES[size], locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = Watch(site.url)
    watch.attach(page)
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    page.goto(f"{site.url}/events/rally")
    page.evaluate("window.__sameDocument = true")
    return page, watch, context


BAND = """
([sid, id]) => {
  const over = document.querySelector(`.chart[data-stream-id="${sid}"] .u-over`);
  const band = over && over.querySelector(`.incident-band[data-incident-id="${id}"]`);
  if (!band) { return null; }
  const o = over.getBoundingClientRect(), b = band.getBoundingClientRect();
  return { left: (b.left - o.left) / o.width, width: b.width / o.width,
           height: b.height / o.height, affected: band.classList.contains("affected") };
}
"""


@pytest.mark.parametrize("size", list(SIZES))
def test_an_incident_is_shaded_over_the_charts_and_listed_with_the_audience_change(
    browser: Any, sqlite_site: Site, size: str
) -> None:
    site = sqlite_site
    now = seed(site)
    youtube, facebook, _space = site.event.stream_ids
    page, watch, context = open_dashboard(browser, site, size)
    try:
        item = '#incident-list li[data-incident-id="sni-youtube"]'
        page.wait_for_selector(item)
        # Both charts span the half hour of samples; the incident is its middle third.
        page.wait_for_function(
            "([sid, id]) => document.querySelector("
            "`.chart[data-stream-id='${sid}'] .incident-band[data-incident-id='${id}']`)",
            arg=[facebook, "sni-youtube"],
        )
        page.wait_for_function(
            "() => document.querySelectorAll('.chart .incident-band').length >= 2"
        )
        for sid, affected in ((youtube, True), (facebook, False)):
            band = page.evaluate(BAND, [sid, "sni-youtube"])
            assert band is not None, f"no band on the chart of stream {sid}"
            assert band["left"] == pytest.approx(10 / 30, abs=0.02), band
            assert band["width"] == pytest.approx(10 / 30, abs=0.02), band
            assert band["height"] == pytest.approx(1, abs=0.01), band
            assert band["affected"] is affected
        assert page.get_attribute("#incidents", "data-state") == "listed"
        text = page.inner_text(item)
        start, end = (minutes(now, m).astimezone(ZoneInfo("Asia/Karachi")) for m in (-20, -10))
        assert f"{start:%H:%M}–{end:%H:%M}" in text
        assert "Asia/Karachi" in text and "Lahore" in text and "PTCL" in text
        assert "confidence 90 %" in text
        assert (
            page.get_attribute(f"{item} abbr.incident-method", "title") == METHODS["tls.sni_filter"]
        )
        # The change, computed here from the samples: mean of 10 before, of 11 during.
        before = [1000] * 10
        during = [300] * 11
        change = sum(during) / len(during) - sum(before) / len(before)
        yt_row = f'{item} tr[data-stream-id="{youtube}"]'
        assert float(page.get_attribute(yt_row, "data-change") or "nan") == change == -700
        row = page.inner_text(yt_row)
        assert "affected" in row
        assert "1,000 viewers (10 samples)" in row
        assert "300 viewers, lowest 300 (11 samples)" in row
        assert "-700 viewers (-70%)" in row
        fb_row = page.inner_text(f'{item} tr[data-stream-id="{facebook}"]')
        assert "affected" not in fb_row and "500 viewers (10 samples)" in fb_row
        space = page.inner_text(f'{item} tr[data-platform="x"]')
        assert "not measured: no audience samples" in space
        shot_of(page, "#incidents", f"incidents-panel-{size}")
        shot(page, f"dashboard-incident-{size}")

        if size == "desktop":  # (once: it waits for the next 30 s poll)
            # A new, still open incident on X appears without a reload.
            incident(site, "x-open", minutes(now, -5), None, ["x"])
            page.wait_for_selector(
                '#incident-list li[data-incident-id="x-open"][data-status="open"]',
                timeout=40_000,
            )
            opened = page.inner_text('li[data-incident-id="x-open"] .incident-time')
            assert "now (ongoing)" in opened
            assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
            first = page.get_attribute("#incident-list li:first-child", "data-incident-id")
            assert first == "x-open", "newest first"

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["width"] + 1, f"the dashboard is {width} px wide"
        assert not watch.errors, watch.errors
        assert not watch.foreign(), watch.foreign()
    finally:
        context.close()


def test_the_incidents_page_in_the_browser(browser: Any, sqlite_site: Site) -> None:
    seed(sqlite_site)
    page, watch, context = open_dashboard(browser, sqlite_site, "phone")
    try:
        page.click("#nav-incidents")
        page.wait_for_url(f"{sqlite_site.url}/watch/incidents")
        assert page.locator('li[data-incident-id="sni-youtube"]').count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES["phone"]["width"] + 1, f"the incidents page is {width} px wide"
        shot(page, "incidents-phone")
        assert not watch.errors, watch.errors
    finally:
        context.close()
