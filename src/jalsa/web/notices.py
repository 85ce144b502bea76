"""Notices for the next page after a redirect (post/redirect/get), kept per browser session
in memory, with the one-time secrets (an invitation link, a new API token) they may carry."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from fastapi import Request

from jalsa.team import digest

NOTICE_SECONDS = 600.0  # a notice not shown within this time is dropped (with its secret)
NOTICES_PER_SESSION = 5


@dataclass(frozen=True)
class Notice:
    """A message for the next page after a redirect. `secret` (an invitation link, a new API
    token) is shown on that one page and then forgotten: it is never stored anywhere else."""

    text: str
    secret: str | None = None
    secret_id: str = "one-time-secret"  # the element id browser tests read the secret from
    created: float = field(default_factory=time.monotonic)


class Notices:
    """Per browser session, in memory (the server is one process). Keyed by a hash of the
    session cookie (named `cookie`), so a secret only ever reaches the browser whose request
    created it."""

    def __init__(self, cookie: str) -> None:
        self.cookie = cookie
        self._by_session: dict[str, deque[Notice]] = {}

    def _key(self, request: Request) -> str | None:
        cookie = request.cookies.get(self.cookie)
        return digest(cookie) if cookie else None

    def add(self, request: Request, notice: Notice) -> None:
        key = self._key(request)
        if key is None:  # an API-token caller posting a form has no page to see it on
            return
        self._expire()
        self._by_session.setdefault(key, deque(maxlen=NOTICES_PER_SESSION)).append(notice)

    def take(self, request: Request) -> list[Notice]:
        key = self._key(request)
        if key is None:
            return []
        self._expire()
        return list(self._by_session.pop(key, ()))

    def _expire(self) -> None:
        cutoff = time.monotonic() - NOTICE_SECONDS
        for key in list(self._by_session):
            kept = deque(
                (n for n in self._by_session[key] if n.created > cutoff), NOTICES_PER_SESSION
            )
            if kept:
                self._by_session[key] = kept
            else:
                del self._by_session[key]
