"""What every platform's moderation actions share: capabilities declared as class attributes,
one way to send a request, and one mapping from what the platform answered to an
`ActionResult`, so a failed hide or ban is a clear status per item and never an exception that
stalls the moderation queue.

The transport and the error bodies are the platform connectors' own (`jalsa.platforms`): each
actions class holds its platform's connector as `api` and reads answers through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from jalsa.platforms.base import Connector, PollError, StreamStatus
from jalsa.platforms.inbox_record import ActionResult, InboxItem

if TYPE_CHECKING:
    from jalsa.config import Settings

YouTubeModerationStatus = Literal["heldForReview", "published", "rejected"]


@dataclass(frozen=True)
class Call:
    """One request an action sends: what dry-run reports, what tests check."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    what: str = ""  # the action in words, e.g. "hide the comment"

    def describe(self) -> str:
        """The request in one line, without the credential (it is added only when sent)."""
        query = f"?{urlencode(self.params)}" if self.params else ""
        body = f" {json.dumps(self.body, ensure_ascii=False)}" if self.body is not None else ""
        return f"{self.method} {self.path}{query}{body}"


def unsupported(why: str) -> ActionResult:
    return ActionResult(ok=False, status="unsupported", detail=why)


class PlatformActions:
    """Base of the per-platform actions. Subclasses declare what their platform can do and
    build the `Call`s; sending, dry-run and error mapping are done here once."""

    platform: ClassVar[str]
    can_hide: ClassVar[bool] = False
    can_unhide: ClassVar[bool] = False
    can_ban: ClassVar[bool] = False
    can_reply: ClassVar[bool] = False
    # Settings attributes that may hold the credential, best first (moderation often needs a
    # user token where reading needs only an app key; the first one set is used).
    credential_settings: ClassVar[tuple[str, ...]]
    base_url_setting: ClassVar[str]

    def __init__(self, api: Connector) -> None:
        self.api = api

    @classmethod
    def make_api(
        cls, client: httpx.AsyncClient | None, base_url: str, credential: str | None, source: str
    ) -> Connector:
        """The connector that carries this platform's auth and error mapping."""
        raise NotImplementedError

    @classmethod
    def build(
        cls,
        client: httpx.AsyncClient | None,
        base_url: str,
        credential: str | None,
        source: str | None = None,
    ) -> Self:
        """Actions on `base_url` with `credential` (`source`: the Settings name it came from)."""
        name = source or cls.credential_settings[0]
        return cls(cls.make_api(client, base_url, credential, name))

    @classmethod
    def from_settings(cls, client: httpx.AsyncClient | None, settings: Settings) -> Self:
        """The credential is the first of `credential_settings` that is set (env or the
        encrypted store, via `jalsa.credentials.with_stored_credentials`)."""
        for name in cls.credential_settings:
            secret: Any = getattr(settings, name, None)
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if value:
                return cls.build(client, str(getattr(settings, cls.base_url_setting)), value, name)
        base_url = str(getattr(settings, cls.base_url_setting))
        return cls.build(client, base_url, None, cls.credential_settings[0])

    # -- the actions; a platform gives the calls of those it declares (or overrides them) --

    def hide_call(self, item: InboxItem, hidden: bool) -> Call | None:
        """The one request that hides an item (`hidden`) or shows it again; None where the
        platform's API cannot."""
        return None

    def reply_call(self, item: InboxItem, text: str) -> Call | None:
        """The one request that posts `text` as a reply to an item; None where the platform's
        API cannot."""
        return None

    async def hide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        call = self.hide_call(item, True)
        if call is None:
            return unsupported(f"{self.platform} cannot hide items through its API")
        return await self.run(call, dry_run=dry_run, done="hidden")

    async def unhide(self, item: InboxItem, *, dry_run: bool = False) -> ActionResult:
        call = self.hide_call(item, False)
        if call is None:
            return unsupported(f"{self.platform} cannot unhide items through its API")
        return await self.run(call, dry_run=dry_run, done="visible again")

    async def ban_author(
        self,
        item: InboxItem,
        *,
        dry_run: bool = False,
        duration_seconds: int | None = None,
    ) -> ActionResult:
        return unsupported(f"{self.platform} cannot ban an author through its API")

    async def reply(self, item: InboxItem, text: str, *, dry_run: bool = False) -> ActionResult:
        call = self.reply_call(item, text)
        if call is None:
            return unsupported(f"{self.platform} cannot reply through its API")
        refused = self.no_text(text)
        if refused is not None:
            return refused
        return await self.run(call, dry_run=dry_run, done="reply posted", reply_id=True)

    # -- sending --

    async def run(
        self, call: Call, *, dry_run: bool, done: str, reply_id: bool = False
    ) -> ActionResult:
        """Send `call` (or only describe it, on dry-run) and say what happened. `reply_id`:
        the answer carries the id of what was created (a reply), kept in the result."""
        if dry_run:
            return ActionResult(
                ok=True, status="dry_run", detail=f"would {call.what}: {call.describe()}"
            )
        try:
            payload = await self.send(call)
        except PollError as exc:
            return self.failed(call, exc)
        created = self.created_id(payload) if reply_id else None
        if reply_id and created is None:
            return ActionResult(
                ok=False,
                status="error",
                detail=f"{call.what}: the platform's answer has no id: {str(payload)[:200]}",
            )
        return ActionResult(ok=True, status="done", detail=done, external_id=created)

    async def send(self, call: Call) -> Any:
        """One request through the connector's transport. An empty success (204 No Content,
        as YouTube answers setModerationStatus) is `{}`; every other answer is read by the
        connector, so errors are classified as for the polls."""
        api = self.api
        api.require_credential()
        headers, auth_params = api.auth()
        if api.client is None:
            raise PollError(StreamStatus.NETWORK_ERROR, "built without an HTTP client")
        try:
            response = await api.client.request(
                call.method,
                api.url(call.path),
                params={**call.params, **auth_params},
                headers=headers,
                json=call.body,
            )
        except httpx.TimeoutException:
            raise PollError(StreamStatus.TIMEOUT, "no answer in time") from None
        except httpx.TransportError as exc:
            raise PollError(
                StreamStatus.NETWORK_ERROR, f"cannot reach {api.base_url}: {type(exc).__name__}"
            ) from None
        if response.is_success and not response.content.strip():
            return {}
        return api.read_response(response)

    def failed(self, call: Call, exc: PollError) -> ActionResult:
        """The ActionResult a classified failure means."""
        what = f"could not {call.what}"
        if exc.status in (StreamStatus.RATE_LIMITED, StreamStatus.QUOTA_EXCEEDED):
            wait = f"; retry after {exc.retry_after:.0f} s" if exc.retry_after is not None else ""
            return ActionResult(
                ok=False, status="rate_limited", detail=f"{what}: {exc.detail}{wait}"
            )
        if exc.status is StreamStatus.AUTH_FAILED:
            return ActionResult(
                ok=False,
                status="permission_denied",
                detail=f"{what}: {exc.detail}{self.permission_hint()}",
            )
        if exc.status is StreamStatus.NOT_FOUND:
            return ActionResult(
                ok=False,
                status="not_found",
                detail=f"{what}: it no longer exists (deleted?) or the token cannot see it. "
                f"{exc.detail}",
            )
        return ActionResult(ok=False, status="error", detail=f"{what}: {exc.detail}")

    def permission_hint(self) -> str:
        """Said after a refused permission: the credential the actions need, where it helps."""
        return ""

    @staticmethod
    def created_id(payload: Any) -> str | None:
        """The id in a creation answer: Graph's `{"id"}`, X's `{"data": {"id"}}`, YouTube's
        resource `{"id"}`."""
        if not isinstance(payload, dict):
            return None
        data = payload.get("data")
        found = data.get("id") if isinstance(data, dict) else payload.get("id")
        return str(found) if isinstance(found, str | int) and str(found) else None

    @staticmethod
    def no_text(text: str) -> ActionResult | None:
        """A refusal for an empty reply, before anything is sent."""
        if text.strip():
            return None
        return ActionResult(ok=False, status="error", detail="the reply is empty")
