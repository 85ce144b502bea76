"""SMS campaigns in a real browser (Playwright driving Debian's Chromium), against the SMSC
simulator on loopback: a coordinator writes a campaign with the form, reads its preview, sends
it, and watches the campaign page count the messages to the end without a reload; at a phone's
390 px too, without sideways scrolling. A moderator may write a draft but is offered no way to
send it. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from smskit import open_hours, write_supporters
from test_browser import SIZES, shot
from test_browser_inbox import open_as
from test_sms_pages import PASSWORD as SMSC_PASSWORD
from test_sms_pages import sms_settings
from webkit import Site, running_site

from jalsa.mobilize.supporters_import import import_csv
from jalsa.sim.smsc import Smsc
from jalsa.store import Store

pytestmark = pytest.mark.integration
SUPPORTERS = 60  # 6 without consent, 6 opted out: 48 messages


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, Smsc]]:
    """A site whose server sends through the SMSC slowly enough (8 a second) for the page to
    show the campaign on its way."""
    url = f"sqlite:///{tmp_path / 'jalsa.db'}"
    store = Store(url)
    write_supporters(tmp_path / "s.csv", SUPPORTERS, opted_out=6, no_consent=6)
    import_csv(store, tmp_path / "s.csv")
    settings = {**sms_settings(0), "sms_rate": 8.0}
    try:
        with Smsc(password=SMSC_PASSWORD) as smsc:
            settings["sms_gateway_url"] = f"127.0.0.1:{smsc.port}"
            with running_site(store, tmp_path, url, **settings) as running:
                yield running, smsc
    finally:
        store.dispose()


def fits(page: Any, size: str) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1)


def write_campaign(page: Any, name: str) -> None:
    page.click("#nav-sms")
    page.click("#new-campaign")
    page.fill("input[name=name]", name)
    page.fill("textarea[name=text_ur]", "{first_name|dost}, jalsa aaj raat 8 baje")
    page.fill("textarea[name=text_en]", "{first_name|friend}, the jalsa is tonight at 8")
    page.fill("input[name=schedule]", "2026-01-01 12:00")  # past: it starts when sent
    send_from, send_until = open_hours()
    page.fill("input[name=send_from]", send_from)
    page.fill("input[name=send_until]", send_until)
    page.click("#campaign-form button[type=submit]")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_coordinator_writes_previews_sends_and_watches_a_campaign(
    browser: Any, site: tuple[Site, Smsc], size: str
) -> None:
    running, smsc = site
    page, watch, context = open_as(browser, running, "coordinator", size)
    try:
        write_campaign(page, f"Tonight {size}")
        page.wait_for_selector("#preview-table")
        assert page.inner_text("#preview-recipients") == f"{SUPPORTERS}"
        assert page.inner_text("#preview-sendable") == "48"
        assert page.inner_text("#preview-opted-out") == "6"
        assert page.inner_text("#preview-no-consent") == "6"
        assert "GSM-7 48" in page.inner_text("#preview-encodings")
        assert page.inner_text("#preview-cost") == "72.00 PKR"  # 48 parts at 1.50
        assert fits(page, size), "the preview is wider than the screen"
        shot(page, f"sms-preview-{size}")
        page.click("#send-button")
        page.wait_for_selector("#campaign-progress")
        page.evaluate("window.__sameDocument = true")
        # It is on its way (8 a second: about 6 s), counted without a reload ...
        page.wait_for_function(
            "() => ['scheduled', 'sending'].includes("
            "document.getElementById('campaign-progress').dataset.status) && "
            "Number(document.getElementById('progress-bar').value) > 0"
            " && Number(document.getElementById('progress-bar').value) < 60"
        )
        assert page.is_visible("#pause-button") and not page.is_visible("#send-button")
        # ... and to the end.
        page.wait_for_function(
            "() => document.getElementById('campaign-progress').dataset.status === 'done'"
            " && document.querySelector('#status-table tr[data-status=delivered]')"
            " && document.querySelector('#status-table tr[data-status=delivered] td.num')"
            ".textContent === '48'",
            timeout=60_000,
        )
        assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        assert page.inner_text("#campaign-status") == "done"
        assert page.inner_text("#progress-settled") == f"{SUPPORTERS}"
        assert page.evaluate("document.getElementById('progress-bar').value") == SUPPORTERS
        assert not page.is_visible("#pause-button") and not page.is_visible("#cancel-button")
        unsent = page.inner_text("#unsent-list")
        assert "skipped" in unsent and "opted out" in unsent
        assert fits(page, size), "the campaign page is wider than the screen"
        shot(page, f"sms-campaign-{size}")
        assert len({m.destination for m in smsc.messages}) == 48 == len(smsc.messages)
        assert not watch.errors, watch.errors
        assert not watch.foreign(), watch.foreign()
    finally:
        context.close()


def test_a_moderator_may_write_a_draft_but_is_offered_no_send(
    browser: Any, site: tuple[Site, Smsc]
) -> None:
    running, smsc = site
    page, watch, context = open_as(browser, running, "moderator", "desktop")
    try:
        write_campaign(page, "Draft by a moderator")
        page.wait_for_selector("#preview-table")
        assert page.query_selector("#send-button") is None
        page.goto(page.url.removesuffix("/preview"))
        assert page.query_selector("#campaign-actions form") is None
        assert page.inner_text("#campaign-status") == "draft"
        assert not watch.errors, watch.errors
    finally:
        context.close()
    assert smsc.messages == []
