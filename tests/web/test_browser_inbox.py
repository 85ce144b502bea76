"""The inbox in a real browser (Playwright driving Debian's Chromium), at a desktop's and a
phone's width: the queue shows Urdu (right to left), Roman Urdu and English items; a moderator
hides one and sees its status change; a new item appears without a reload; a reply the code of
conduct flags tells the volunteer it needs a coordinator, and the coordinator approves it. No
console errors, nothing requested from another host, no sideways scrolling. The inbox runs in
dry-run, so no platform is called. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from inboxkit import ABUSIVE, FakeModel, Prediction
from test_browser import SIZES, Watch, shot
from webkit import PASSWORD, Site

from jalsa.inbox import store as q
from jalsa.inbox.policy_file import load_policy
from jalsa.platforms.inbox_record import InboxItem
from jalsa.store.repo import get_event
from jalsa.timeutil import utc_now

pytestmark = pytest.mark.integration

URDU = "یہ جلسہ بہت اچھا تھا، شکریہ"
ROMAN = "Khan sahab zindabad, jalsa zabardast tha"
ENGLISH = "Great rally, but the stream keeps buffering in Lahore"


class ScriptModel(FakeModel):
    """The stand-in classifier, with the language told by the script and a few words."""

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = super().predict(texts)
        for text, prediction in zip(texts, out, strict=True):
            if re.search("[\u0600-\u06ff]", text):
                prediction.language = "urdu"
            elif re.search(r"\b(sahab|zindabad|tha|hai|tu)\b", text):
                prediction.language = "roman_urdu"
        return out


@pytest.fixture
def site(sqlite_site: Site) -> Site:
    """The app's inbox with the stand-in classifier, in dry-run: no platform is called."""
    service = sqlite_site.app.state.inbox
    service._model = ScriptModel()
    service._policy = load_policy()
    service.dry_run = True
    return sqlite_site


def ingest(site: Site, *texts: str, n: int = 0) -> list[int]:
    """The texts as YouTube comments, through the inbox's own pipeline (classify, decide)."""
    with site.store.session() as session:
        event_id = get_event(session, site.event.slug).id
    items = [
        InboxItem(
            platform="youtube",
            external_id=f"c{n}-{i}",
            kind="comment",
            thread_id="video1",
            author_id=f"author{i}",
            author_name=f"Author {i}",
            text=text,
            created_at=utc_now(),
        )
        for i, text in enumerate(texts)
    ]
    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, site.app.state.inbox.ingest(event_id, items)).result()
    return result.item_ids


def open_as(browser: Any, site: Site, role: str, size: str) -> tuple[Any, Watch, Any]:
    context = browser.new_context(viewport=SIZES[size], locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = Watch(site.url)
    watch.attach(page)
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    return page, watch, context


def check_clean(page: Any, watch: Watch, size: str) -> None:
    assert not watch.errors, watch.errors
    assert not watch.foreign(), watch.foreign()
    if size == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES["phone"]["width"], f"the page scrolls sideways ({width} px)"


def direction(page: Any, selector: str) -> str:
    value: str = page.eval_on_selector(selector, "e => getComputedStyle(e).direction")
    return value


@pytest.mark.parametrize("size", list(SIZES))
def test_the_queue_shows_every_language_and_a_moderator_hides_an_item(
    browser: Any, site: Site, size: str
) -> None:
    urdu, roman, english = ingest(site, URDU, ROMAN, ENGLISH)
    page, watch, context = open_as(browser, site, "moderator", size)
    try:
        page.clock.install()
        page.click("#nav-inbox")
        page.click(f'#inbox-events a[href="/events/{site.event.slug}/inbox"]')
        for item_id, language, text in (
            (urdu, "urdu", URDU),
            (roman, "roman_urdu", ROMAN),
            (english, "english", ENGLISH),
        ):
            row = f"#item-{item_id}"
            assert page.get_attribute(row, "data-language") == language
            assert page.inner_text(f"{row} .item-text").strip() == text
            assert page.get_attribute(row, "data-status") == "allowed"
        assert direction(page, f"#item-{urdu} .item-text") == "rtl"
        assert direction(page, f"#item-{roman} .item-text") == "ltr"
        assert page.get_attribute(f"#item-{urdu} .item-text", "lang") == "ur"
        shot(page, f"inbox-queue-{size}")

        page.click(f"#item-{english} form.decide button[value=hide]")
        page.wait_for_selector(f'#item-{english}[data-status="hidden"]')
        assert "hidden" in page.inner_text(f"#item-{english} .item-status")
        assert "dry run" in page.inner_text(f"#item-{english} .platform-state")
        assert f"Item {english}: hide" in page.inner_text(".notice")
        with site.store.session() as session:
            assert q.item_decisions(session, english)[-1].actor == "moderator"

        # A new comment appears at the next refresh (every 15 s), without a reload.
        page.evaluate("window.__sameDocument = true")
        (late,) = ingest(site, "Zindabad from Karachi", n=1)
        page.clock.run_for(16_000)
        page.wait_for_selector(f"#item-{late}")
        assert page.evaluate("window.__sameDocument") is True
        check_clean(page, watch, size)
        shot(page, f"inbox-queue-hidden-{size}")
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_flagged_reply_needs_a_coordinators_approval(browser: Any, site: Site, size: str) -> None:
    (item_id,) = ingest(site, ROMAN)
    with site.store.session() as session:
        q.get_item(session, item_id).assigned_to = site.team["volunteer"].user_id
    page, watch, context = open_as(browser, site, "volunteer", size)
    try:
        page.goto(f"{site.url}/events/{site.event.slug}/inbox")
        page.click(f"#item-{item_id} a.open-item")
        page.wait_for_url(f"{site.url}/inbox/items/{item_id}")
        page.fill("#reply-text", ABUSIVE)
        page.click("#reply-form button[type=submit]")
        reply = page.wait_for_selector('#replies li[data-status="needs_approval"]')
        text = reply.inner_text()
        assert "needs approval" in text
        assert "a coordinator must approve it" in text
        assert "it is sent only after a coordinator approves it" in text
        assert page.query_selector("#replies form.approve") is None
        assert page.query_selector("#replies form.send") is None
        check_clean(page, watch, size)
        shot(page, f"inbox-reply-flagged-{size}")
    finally:
        context.close()
    page, watch, context = open_as(browser, site, "coordinator", size)
    try:
        page.goto(f"{site.url}/inbox/items/{item_id}")
        page.click("#replies form.approve button")
        page.wait_for_selector('#replies li[data-status="approved"]')
        # Dry-run: approved, and the page says it was not sent.
        assert "dry run" in page.inner_text("#replies .reply-error")
        check_clean(page, watch, size)
        shot(page, f"inbox-reply-approved-{size}")
    finally:
        context.close()
