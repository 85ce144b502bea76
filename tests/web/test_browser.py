"""The command center in a real browser: Playwright driving Debian's Chromium against a real
`jalsa serve` process on loopback, whose store is fed by a real `jalsa track` polling the
simulator (`jalsa sim`). Logging in, creating an event through the form, live figures that
change without a reload, the conversation panel over the event's collected posts, a page a
role may not open, a dropped connection that catches up with every missed point, Urdu shown
right to left, nothing loaded from another host, no console errors. Screenshots (desktop
1280x800 and phone 390x844) go to test-artifacts/."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from postkit import T0, post, rally, write
from sqlalchemy import func, select
from webkit import PASSWORD, free_port, make_member

from jalsa.conversation.dataset import PostDataset
from jalsa.sim import load_scenario
from jalsa.sim.runner import spawn_simulator
from jalsa.store import Poll, Sample, Store
from jalsa.store.repo import add_stream, create_event
from jalsa.timeutil import utc_now

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
INTERVAL = "1"  # seconds between polls of each stream, for the tracker and the server
CHART_METRICS = ("youtube.concurrent_viewers", "facebook.live_views", "x_space.participant_count")
SLUG = "rally"


def _jalsa(*args: str) -> list[str]:
    return [sys.executable, "-m", "jalsa.cli", *args]


def _need_browser() -> Any:
    """Playwright's sync API, or a skip (a failure in CI) when the browser is missing."""
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "the playwright package is not installed (pip install -e '.[dev]')"
    if why is None and not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(why)
    return sync_playwright


@dataclass
class Served:
    url: str
    port: int
    store: Store
    env: dict[str, str]
    tmp: Path
    users: dict[str, str] = field(default_factory=dict)  # role -> username
    stream_ids: list[int] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            _jalsa("serve", "--host", "127.0.0.1", "--port", str(self.port)),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc = self.proc
        try:
            _wait_for(
                lambda: proc.poll() is None and httpx.get(f"{self.url}/healthz").status_code == 200,
                30,
                "jalsa serve to answer",
            )
        except AssertionError:
            _stop(proc)
            assert proc.stderr is not None
            raise AssertionError(f"jalsa serve did not start: {proc.stderr.read()}") from None

    def crash(self) -> None:
        """kill -9: every open connection drops at once, nothing is kept in memory."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


def _wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def simulator() -> Iterator[dict[str, str]]:
    _need_browser()
    proc, urls = spawn_simulator("--at-minute", "30")
    yield urls
    _stop(proc)


@pytest.fixture(scope="module")
def served(simulator: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`jalsa serve` on a free loopback port, on a SQLite store with an admin, a viewer and
    an event that is on now with the simulator's YouTube, Facebook, X Space and Instagram
    streams."""
    _need_browser()
    tmp = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{tmp / 'jalsa.db'}"
    store = Store(url)
    users = {role: make_member(store, role).username for role in ("admin", "viewer")}
    scenario = load_scenario(None)
    with store.session() as session:
        event = create_event(
            session,
            name="Virtual jalsa",
            starts_at=utc_now() - timedelta(minutes=30),
            duration=timedelta(hours=3),
            timezone="Asia/Karachi",
            hashtags=["#PTIVirtualJalsa"],
            slug=SLUG,
        )
        ids = [
            add_stream(session, event, kind=p, external_id=scenario.streams_of(p)[0].id).id
            for p in ("youtube", "facebook", "x_space", "instagram")
        ]
    port = free_port()
    env = {
        **os.environ,
        **simulator,
        "PYTHONUNBUFFERED": "1",
        "JALSA_DATABASE_URL": url,
        "JALSA_DATA_DIR": str(tmp / "data"),
        "JALSA_CONFIG": str(tmp / "absent.toml"),
        "JALSA_COOKIE_SECURE": "false",
        "JALSA_YOUTUBE_API_KEY": "k",
        "JALSA_FACEBOOK_ACCESS_TOKEN": "t",
        "JALSA_INSTAGRAM_ACCESS_TOKEN": "t",
        "JALSA_X_BEARER_TOKEN": "t",
        **{
            f"JALSA_{p}_INTERVAL": INTERVAL
            for p in ("YOUTUBE", "FACEBOOK", "X_SPACE", "INSTAGRAM", "X_COUNTS")
        },
    }
    served = Served(f"http://127.0.0.1:{port}", port, store, env, tmp, users, ids)
    served.start()
    yield served
    if served.proc is not None:
        _stop(served.proc)
    store.dispose()


@pytest.fixture
def tracker(served: Served) -> Iterator[subprocess.Popen[Any]]:
    """`jalsa track` polling the simulator every second, storing into the server's store."""
    proc = subprocess.Popen(
        _jalsa("track", SLUG, "--minutes", "5"),
        env=served.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    before = _stored_polls(served)
    _wait_for(lambda: _stored_polls(served) > before, 30, "the tracker's first polls")
    yield proc
    _stop(proc)


def _stored_polls(served: Served) -> int:
    with served.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Poll)) or 0)


def _stored_points(served: Served) -> int:
    """Samples of the metrics the dashboard draws (what #point-count counts)."""
    with served.store.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Sample)
                .where(Sample.stream_id.in_(served.stream_ids))
                .where(Sample.metric.in_(CHART_METRICS))
            )
            or 0
        )


def _poll_ids_after(served: Served, after: int) -> list[int]:
    with served.store.session() as session:
        return list(
            session.scalars(
                select(Poll.id)
                .where(Poll.stream_id.in_(served.stream_ids), Poll.id > after)
                .order_by(Poll.id)
            )
        )


URDU_TAG = "جلسہ"


def write_posts(served: Served) -> None:
    """The conversation dataset of the served event, as `jalsa ingest` leaves it: half an
    hour of a small rally (with a #shutdown spike) and posts in Urdu with an Urdu hashtag,
    moved to the first half hour of the event."""
    start = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    rows = rally() + [
        post(
            10_000 + i,
            f"u{i % 7}",
            T0 + timedelta(minutes=i // 2, seconds=i),
            "جلسہ جاری ہے، سب دیکھیں",
            [URDU_TAG],
        )
        for i in range(60)
    ]
    for row in rows:
        row["created_at"] = start + (row["created_at"] - T0)
    write(rows, PostDataset(served.tmp / "data" / "conversation" / SLUG).posts)


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did: every request, console errors, uncaught exceptions."""

    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def foreign(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not (u.startswith(self.base + "/") or u.startswith(("data:", "blob:")))
        ]


@pytest.fixture
def open_page(browser: Any, served: Served) -> Iterator[Callable[..., tuple[Any, Watch]]]:
    contexts: list[Any] = []

    def opener(role: str | None = None, size: str = "desktop") -> tuple[Any, Watch]:
        context = browser.new_context(viewport=SIZES[size], locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        watch = Watch(served.url)
        watch.attach(page)
        if role is not None:
            log_in(page, served, served.users[role])
        return page, watch

    yield opener
    for context in contexts:
        context.close()


def log_in(page: Any, served: Served, username: str) -> None:
    page.goto(f"{served.url}/")
    assert "/login" in page.url, "an anonymous visitor is sent to the login form"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def shot_of(page: Any, selector: str, name: str) -> None:
    """A screenshot of one part of the page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def direction(page: Any, selector: str) -> str:
    value: str = page.eval_on_selector(selector, "e => getComputedStyle(e).direction")
    return value


def points(page: Any) -> int:
    return int(page.get_attribute("#point-count", "data-points") or 0)


# -- the scenarios ------------------------------------------------------------------------------


def test_log_in_and_create_an_event_through_the_form(
    open_page: Callable[..., tuple[Any, Watch]], served: Served
) -> None:
    page, watch = open_page()
    page.goto(f"{served.url}/")
    assert page.url.startswith(f"{served.url}/login")
    shot(page, "login-desktop")
    log_in(page, served, served.users["admin"])
    page.click("#new-event")
    page.wait_for_url(f"{served.url}/events/new")
    shot(page, "event-form-desktop")
    page.fill("input[name=name]", "جلسہ کراچی")
    page.fill("input[name=starts]", "2030-01-05T19:00")
    page.fill("input[name=duration]", "2h")
    page.fill("input[name=timezone]", "Asia/Karachi")
    page.fill("input[name=hashtags]", "#جلسہ #Karachi")
    page.fill("input[name=slug]", "karachi")
    page.click("#event-form button[type=submit]")
    page.wait_for_url(f"{served.url}/events/karachi/streams")
    assert "is created" in page.inner_text(".notice")
    shot(page, "streams-desktop")

    page.goto(f"{served.url}/")
    row = 'tr[data-slug="karachi"] .event-name'
    assert page.inner_text(row) == "جلسہ کراچی"
    assert direction(page, row) == "rtl"
    assert direction(page, 'tr[data-slug="rally"] .event-name') == "ltr"
    shot(page, "events-desktop")

    page.goto(f"{served.url}/events/karachi")
    assert page.inner_text("#event-name") == "جلسہ کراچی"
    assert direction(page, "#event-name") == "rtl"
    shot(page, "dashboard-urdu-desktop")
    assert not watch.errors, watch.errors
    assert not watch.foreign(), watch.foreign()


def test_live_figures_change_without_a_reload(
    open_page: Callable[..., tuple[Any, Watch]], served: Served, tracker: Any
) -> None:
    write_posts(served)
    page, watch = open_page("viewer")
    page.goto(f"{served.url}/events/{SLUG}")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector('#conn[data-state="live"]')
    page.wait_for_selector('#conversation[data-state="measured"]')
    assert page.get_attribute("#top-hashtags li:first-child", "data-tag") == "pti"
    assert page.inner_text("#top-hashtags li:first-child .tag") == "#pti"
    spike = '#spikes li[data-tag="shutdown"]'
    assert "#shutdown" in page.inner_text(spike) and "expected" in page.inner_text(spike)
    assert "h_s" in page.inner_text(f"{spike} .spike-accounts")
    assert int(page.get_attribute("#conv-posts", "data-value") or 0) == 531 + 60
    assert page.locator("#conversation-chart .u-legend .u-series").count() == 1 + 4
    assert direction(page, f'#top-hashtags li[data-tag="{URDU_TAG}"] .tag') == "rtl"
    assert page.evaluate(MISPLACED_HASHES) == []
    page.click("#spike-definition summary")
    assert "Poisson" in page.inner_text("#def-spikes")
    shot_of(page, "#conversation", "conversation-desktop")
    page.wait_for_function(
        "() => Number(document.querySelector('#point-count').dataset.points) > 0"
    )
    first_points = points(page)
    first_figure = page.inner_text("#combined-now")
    page.wait_for_function(
        "([n, text]) => Number(document.querySelector('#point-count').dataset.points) >= n + 6"
        " && document.querySelector('#combined-now').textContent !== text",
        arg=[first_points, first_figure],
        timeout=30_000,
    )
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.inner_text("#combined-now") not in ("", "—")
    assert page.get_attribute('tr[data-stream-id] td.status[data-status="ok"]', "data-status")
    ticks = page.eval_on_selector_all(
        ".uplot[data-x-ticks]", "charts => charts.map(c => c.dataset.xTicks.split('|'))"
    )
    assert ticks, "no chart drew its time axis"
    for labels in ticks:  # a minute labelled twice in a row said nothing
        assert all(a != b for a, b in itertools.pairwise(labels)), labels
    shot(page, "dashboard-desktop")
    page.set_viewport_size(SIZES["phone"])
    page.wait_for_timeout(500)
    shot(page, "dashboard-phone")
    shot_of(page, "#conversation", "conversation-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES["phone"]["width"] + 1, f"the dashboard is {width} px wide at 390 px"
    chart = page.eval_on_selector(
        "#conversation-chart canvas", "c => c.getBoundingClientRect().width"
    )
    assert chart <= SIZES["phone"]["width"], chart
    assert not watch.errors, watch.errors
    assert not watch.foreign(), watch.foreign()


def test_a_trend_alert_appears_while_the_page_is_open(
    open_page: Callable[..., tuple[Any, Watch]], served: Served
) -> None:
    """The server announces a spike after its minute closes; the open dashboard shows it, marked
    new, with its figures and evidence, and still fits a phone."""
    slug = "alerts"
    with served.store.session() as session:
        create_event(
            session,
            name="Trend alerts",
            starts_at=utc_now() - timedelta(minutes=30),
            duration=timedelta(hours=2),
            timezone="Asia/Karachi",
            hashtags=["#PTI"],
            slug=slug,
        )
    page, watch = open_page("viewer")
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"{served.url}/events/{slug}")
    page.wait_for_selector('#conversation[data-state="not-measured"]')
    assert page.is_hidden("#trend-alerts")
    # the rally's #shutdown spikes in its minute 20: make that the minute that just ended
    spike = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    rows = rally()
    for row in rows:
        row["created_at"] = spike + (row["created_at"] - (T0 + timedelta(minutes=20)))
    write(rows, PostDataset(served.tmp / "data" / "conversation" / slug).posts, parts=1)
    item = '#trend-alert-list li.new[data-key^="shutdown@"]'
    page.wait_for_selector(item, timeout=45_000)  # checks every 5 s, the page every 10 s
    text = page.inner_text(item)
    assert "#shutdown" in text and "expected" in text and "announced" in text
    assert "h_s" in page.inner_text(f"{item} .spike-accounts")
    shot_of(page, "#trend-alerts", "trend-alerts-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES["phone"]["width"] + 1, f"the dashboard is {width} px wide at 390 px"
    assert not watch.errors, watch.errors
    assert not watch.foreign(), watch.foreign()


def test_a_viewer_is_refused_the_credentials_page(
    open_page: Callable[..., tuple[Any, Watch]], served: Served
) -> None:
    page, watch = open_page("viewer")
    assert page.locator("#nav-credentials").count() == 0, "the nav offers what is refused"
    response = page.goto(f"{served.url}/credentials")
    assert response is not None and response.status == 403
    assert "Not allowed" in page.inner_text("h1")
    assert "credentials:view" in page.inner_text(".error")
    shot(page, "refused-desktop")
    assert not watch.foreign(), watch.foreign()


MISPLACED_HASHES = r"""
() => {
  // Every "#word" in the page's text: is its '#' drawn on the side where the word starts
  // (left of a Latin word, right of an Urdu one)?
  const rtl = /[\u0590-\u08ff]/;
  const wrong = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    for (let i = 0; i + 1 < text.length; i++) {
      if (text[i] !== "#" || !/[\p{L}\p{N}_]/u.test(text[i + 1])) { continue; }
      const at = (k) => {
        const range = document.createRange();
        range.setStart(node, k);
        range.setEnd(node, k + 1);
        const box = range.getBoundingClientRect();
        return box.left + box.width / 2;
      };
      const tag = text.slice(i).split(/\s/)[0];
      const hash = at(i), first = at(i + 1);
      const ok = rtl.test(text[i + 1]) ? hash > first : hash < first;
      if (!ok) { wrong.push(tag); }
    }
  }
  return wrong;
}
"""


def test_mixed_urdu_and_english_hashtags_keep_their_hash_in_place(
    open_page: Callable[..., tuple[Any, Watch]], served: Served
) -> None:
    with served.store.session() as session:
        create_event(
            session,
            name="جلسہ لاہور",
            starts_at=utc_now() + timedelta(days=3),
            duration=timedelta(hours=2),
            timezone="Asia/Karachi",
            hashtags=["#جلسہ", "#Lahore"],
            slug="lahore",
        )
    page, _ = open_page("admin")
    wrong = {}
    for path in ("/", "/events/lahore"):
        page.goto(served.url + path)
        wrong[path] = page.evaluate(MISPLACED_HASHES)
    shot(page, "hashtags-urdu-desktop")
    assert wrong == {"/": [], "/events/lahore": []}


RECORD_EVENTS = """
(() => {
  window.__sse = [];
  const Native = window.EventSource;
  window.EventSource = function (url, options) {
    const source = new Native(url, options);
    window.__sse.push({ kind: "open", url: String(url) });
    for (const kind of ["snapshot", "poll"]) {
      source.addEventListener(kind, (e) => window.__sse.push({ kind, id: Number(e.lastEventId) }));
    }
    source.addEventListener("open", () => window.__sse.push({ kind: "connected" }));
    source.addEventListener("error", () => window.__sse.push({ kind: "dropped" }));
    return source;
  };
  window.EventSource.prototype = Native.prototype;
  Object.assign(window.EventSource, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });
})();
"""


def test_a_dropped_connection_catches_up_with_every_missed_point(
    open_page: Callable[..., tuple[Any, Watch]], served: Served, tracker: Any
) -> None:
    """The phone loses its network and the server restarts meanwhile (so its memory of the
    messages is gone too); the tracker goes on storing. Back online, the dashboard resumes
    from its last message id and ends up with exactly the stored points."""
    page, watch = open_page("viewer")
    page.context.add_init_script(RECORD_EVENTS)
    page.goto(f"{served.url}/events/{SLUG}")
    page.wait_for_selector('#conn[data-state="live"]')
    page.wait_for_function("() => window.__sse.some(m => m.kind === 'poll')")
    snapshot_seq = page.evaluate("window.__sse.find(m => m.kind === 'snapshot').id")

    page.context.set_offline(True)
    served.crash()
    page.wait_for_function("() => window.__sse.some(m => m.kind === 'dropped')")
    dropped_at = _stored_polls(served)
    _wait_for(lambda: _stored_polls(served) >= dropped_at + 9, 30, "polls stored while away")
    served.start()
    _stop(tracker)  # everything stored up to here is what the page must end up with
    missed = _stored_polls(served) - dropped_at
    stored = _stored_points(served)
    page.context.set_offline(False)

    page.wait_for_function(
        "n => Number(document.querySelector('#point-count').dataset.points) === n",
        arg=stored,
        timeout=30_000,
    )
    page.wait_for_timeout(1_500)  # and nothing more arrives
    assert points(page) == stored
    assert page.get_attribute("#conn", "data-state") == "live"

    events = page.evaluate("window.__sse")
    kinds = [e["kind"] for e in events]
    assert kinds.count("connected") >= 2, "the page did not reconnect"
    polls = [e["id"] for e in events if e["kind"] == "poll"]
    assert missed >= 9
    assert len(polls) == len(set(polls)), "a poll message arrived twice"
    assert polls == _poll_ids_after(served, snapshot_seq), "poll messages lost or out of order"
    assert not watch.foreign(), watch.foreign()
    shot(page, "dashboard-after-reconnect-desktop")


KEY_PAGES = [
    ("events", "/"),
    ("event-form", "/events/new"),
    ("dashboard", f"/events/{SLUG}"),
    ("streams", f"/events/{SLUG}/streams"),
    ("event-edit", f"/events/{SLUG}/edit"),
    ("credentials", "/credentials"),
    ("users", "/users"),
    ("tokens", "/tokens"),
    ("audit", "/audit"),
    ("metrics", "/metrics"),
    ("report", f"/events/{SLUG}/report"),
    ("sms", "/sms"),
    ("sms-form", "/sms/new"),
]


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_is_self_contained_error_free_and_fits(
    open_page: Callable[..., tuple[Any, Watch]], served: Served, size: str
) -> None:
    """Nothing from another host (the team may sit behind a firewall that blocks them), no
    console errors, no sideways scrolling at a phone's 390 px; a screenshot of each."""
    page, watch = open_page(size=size)
    page.goto(f"{served.url}/login")
    shot(page, f"login-{size}")
    log_in(page, served, served.users["admin"])
    too_wide = []
    for name, path in KEY_PAGES:
        response = page.goto(served.url + path)
        assert response is not None and response.status == 200, (path, response)
        if name == "dashboard":
            page.wait_for_selector('#conn[data-state="live"]')
        else:
            page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > SIZES[size]["width"] + 1:
            too_wide.append((path, width))
        shot(page, f"{name}-{size}")
    assert not watch.errors, watch.errors
    assert not watch.foreign(), watch.foreign()
    assert not too_wide, f"pages wider than the {size} screen: {too_wide}"
