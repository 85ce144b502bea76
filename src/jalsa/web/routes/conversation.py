"""The conversation panel's routes: an event's posts summed up by the conversation measures
(computed and kept by `jalsa.conversation.panel.ConversationCache`), and the trend alerts
announced during it (`jalsa.conversation.trend_alerts`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from jalsa.conversation.panel import ConversationOut
from jalsa.conversation.trend_alerts import TrendAlert
from jalsa.store import Store
from jalsa.store.repo import get_event
from jalsa.team import Perm
from jalsa.web.deps import Caller, Requires
from jalsa.web.routes.common import API_ERRORS
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)


def _event(store: Store, ref: str) -> tuple[str, str]:
    with store.session() as session:
        event = get_event(session, ref)
        return event.slug, event.timezone


@router.get("/api/events/{slug}/conversation", tags=["conversation"])
async def conversation(
    slug: str, request: Request, who: Caller = Depends(Requires(Perm.VIEW_EVENTS))
) -> ConversationOut:
    """The conversation about the event, from its collected posts: posts and authors, top
    hashtags, posts per minute of the top 5 hashtags (times in UTC, as ISO 8601 and epoch
    seconds), hashtag spikes with the expected count, score, threshold and the posts and
    accounts behind them, and each figure's definition. With no posts collected yet,
    `measured` is false and `note` says so: nothing is reported as zero. Computed again only
    when new posts arrive."""
    found = services(request)
    ref, timezone = await asyncio.to_thread(_event, found.store, slug)
    result = await found.conversation.get(ref)
    return result.model_copy(update={"timezone": timezone})


@router.get("/api/events/{slug}/trend-alerts", tags=["conversation"])
async def trend_alerts(
    slug: str, request: Request, who: Caller = Depends(Requires(Perm.VIEW_EVENTS))
) -> list[TrendAlert]:
    """The hashtag spikes announced during the event, newest first: each with its minute,
    posts, expected count, score, threshold and window (the rule of `tag_spikes`), the posts
    and accounts behind it, when it was detected and how long after its minute ended. A spike
    is announced once its minute has closed (a few seconds after its end), to the app and to
    the webhooks in `JALSA_TREND_WEBHOOK_URLS` (event `trend.spike`, signed)."""
    found = services(request)
    ref, _ = await asyncio.to_thread(_event, found.store, slug)
    return await asyncio.to_thread(found.trends.alerter(ref).alerts)
