"""What the web app's routes work with, typed, in one object made once by `create_app`: the
store and settings, the app's clock, the live feeds, the watch, inbox and SMS services, the
conversation panel's cache and trend alerts, the login throttle and the page notices. Routes
reach it through `services(request)`, never through `app.state` directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI, Request

from jalsa.config import Settings
from jalsa.conversation.panel import ConversationCache
from jalsa.conversation.trend_alerts import TrendAlerts
from jalsa.inbox.service import InboxService
from jalsa.live.feed import Feeds
from jalsa.mobilize.service import SmsService
from jalsa.store import Store
from jalsa.watch.service import WatchService
from jalsa.web.notices import Notices
from jalsa.web.throttle import LoginThrottle


@dataclass
class Services:
    store: Store
    settings: Settings
    # The time the app's figures are "as of": the demo's compressed clock, else the real one.
    now: Callable[[], datetime]
    feeds: Feeds  # the live dashboards' feeds, one per event being watched
    watch: WatchService
    inbox: InboxService
    sms: SmsService  # the server's SMS sender
    conversation: ConversationCache  # the conversation panel's figures, per event
    trends: TrendAlerts  # hashtag spikes of the events in progress, announced as they close
    login_throttle: LoginThrottle
    device_key: bytes  # signs the known-device cookie of the login throttle
    notices: Notices  # messages for the next page after a redirect


def app_services(app: FastAPI) -> Services:
    """The app's services (for code that holds the app: the demo, tests)."""
    found: Services = app.state.services
    return found


def services(request: Request) -> Services:
    """The FastAPI dependency: `Depends(services)`, or called with the request."""
    return app_services(request.app)
