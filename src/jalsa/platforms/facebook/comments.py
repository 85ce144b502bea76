"""Facebook comments: every page of a live video's (or a post's) comments edge into
`facebook-comments-<id>.jsonl`.

Request (Graph API, token in `access_token`; Graph error codes mapped by
`jalsa.platforms.graph`):
  GET {base}/{object_id}/comments?fields=id,message,created_time,from{id,name},parent{id},
      like_count,comment_count,attachment{type,url},permalink_url
      &order=reverse_chronological&filter=stream
      &live_filter=no_filter&limit=100[&since={unix}][&after={cursor}]

A round pages from the newest comment back with `paging.cursors.after` while the page has
`paging.next`; the next round asks only for comments from the newest one seen (`since`, a
second's resolution, inclusive, so a comment of that same second is not missed: it comes again,
and ingestion keeps one per comment id). `filter=stream` includes replies (with `parent`);
`live_filter=no_filter` keeps the comments Facebook would hide as low quality, for the team
to moderate.

The `paging.next`/`previous` URLs Graph returns carry the access token: it is replaced by `***`
before the page is written. Everything else is as Graph sent it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Unpack

import httpx

from jalsa.config import Settings
from jalsa.platforms.base import Usage, shape_error
from jalsa.platforms.collect.base import (
    CollectorOptions,
    CollectResult,
    PagedCollector,
    given,
    secret,
)
from jalsa.platforms.collect.rawlog import source_name
from jalsa.platforms.facebook.connector import FacebookConnector
from jalsa.platforms.graph import GraphConnector, graph_path, parse_graph_time
from jalsa.redact import redact

# `attachment`: a comment without `message` is a photo, sticker or GIF (decision 25);
# `permalink_url`: the link the inbox shows for the comment.
FIELDS = (
    "id,message,created_time,from{id,name},parent{id},like_count,comment_count,"
    "attachment{type,url},permalink_url"
)


class FacebookCommentsApi(FacebookConnector):
    """The Facebook connector's token and Graph error mapping, for the comments edge."""

    title = "Facebook comments"
    id_help = "the LiveVideo id (or post id) whose comments to collect"


def without_token(page: Any) -> Any:
    """The page with the credential in its paging URLs replaced by `***`."""
    if not isinstance(page, dict) or not isinstance(page.get("paging"), dict):
        return page
    paging = dict(page["paging"])
    for name in ("next", "previous"):
        if isinstance(paging.get(name), str):
            paging[name] = redact(paging[name])
    return {**page, "paging": paging}


def graph_after(page: Any) -> str | None:
    """The `paging.cursors.after` of a Graph page that has a next page, else None."""
    paging = page.get("paging") if isinstance(page, dict) else None
    paging = paging if isinstance(paging, dict) else {}
    cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if paging.get("next") and after else None


async def fetch_comments_page(
    api: GraphConnector, usage: Usage, object_id: str, params: dict[str, str], what: str
) -> dict[str, Any]:
    """One page of a Graph object's comments edge, with the token out of its paging URLs."""
    page = await api.fetch(usage, graph_path(object_id, "comments"), params)
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise shape_error(f"{what} answer has no data list")
    logged: dict[str, Any] = without_token(page)
    return logged


class FacebookCommentsCollector(PagedCollector):
    """Comments of one Graph object (`object_id`: a LiveVideo id or a post id). `since`
    bounds the first round (default: every comment)."""

    page_token = "after"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        access_token: str | None,
        object_id: str,
        *,
        since: datetime | None = None,
        interval: float = 15.0,
        max_pages: int = 50,
        limit: int = 100,
        live_filter: str = "no_filter",
        **options: Unpack[CollectorOptions],
    ) -> None:
        object_id = given(object_id, "Facebook object id")
        if live_filter not in ("no_filter", "filter_low_quality"):
            raise ValueError("live_filter must be no_filter or filter_low_quality")
        super().__init__(source_name("facebook-comments", object_id), **options)
        self.api = FacebookCommentsApi(client, base_url, access_token)
        self.object_id = object_id
        self.since = since
        self.interval = interval
        self.max_pages = max_pages
        self.limit = limit
        self.live_filter = live_filter

    @classmethod
    def from_settings(
        cls, client: httpx.AsyncClient, settings: Settings, object_id: str, **options: Any
    ) -> FacebookCommentsCollector:
        token = secret(settings.facebook_access_token)
        kwargs = {"interval": settings.facebook_interval, **options}
        return cls(client, settings.facebook_base_url, token, object_id, **kwargs)

    def round_params(self, cursor: dict[str, Any]) -> dict[str, str]:
        since = cursor.get("since")
        if isinstance(since, int):
            return {"since": str(since)}
        if self.since is not None:
            start = self.since if self.since.tzinfo else self.since.replace(tzinfo=UTC)
            return {"since": str(int(start.timestamp()))}
        return {}

    def advance(self, cursor: dict[str, Any], page: Any) -> dict[str, Any]:
        current = dict(cursor.get("round") or {"params": {}})
        data = page.get("data") if isinstance(page, dict) else None
        newest = current.get("newest")
        for comment in data if isinstance(data, list) else []:
            when = (
                parse_graph_time(comment.get("created_time")) if isinstance(comment, dict) else None
            )
            if when is not None:
                stamp = int(when.timestamp())
                newest = stamp if newest is None else max(newest, stamp)
        current["newest"] = newest
        after = graph_after(page)
        if after:
            return {**cursor, "round": {**current, "after": after}}
        since = cursor.get("since")
        if newest is not None:
            since = newest if not isinstance(since, int) else max(since, newest)
        return {**cursor, "since": since, "round": None}

    def page_params(self) -> dict[str, str]:
        return {
            "fields": FIELDS,
            "order": "reverse_chronological",
            "filter": "stream",
            "live_filter": self.live_filter,
            "limit": str(self.limit),
        }

    async def fetch_page(self, result: CollectResult, params: dict[str, str]) -> dict[str, Any]:
        return await fetch_comments_page(self.api, result.usage, self.object_id, params, "comments")

    def tally(self, result: CollectResult, page: dict[str, Any]) -> None:
        result.items += len(page["data"])
