"""A Twilio-compatible REST gateway: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with
HTTP Basic auth (account SID and auth token), status callbacks and inbound messages as signed
form POSTs to the web app (`X-Twilio-Signature`). Each message's StatusCallback URL also carries
our key of it, the time it was sent and our own signature over both and the recipient (see
`callbacks.py`): the API's signature proves the request came from the API, ours that it is about
the message it names, within the receipt window; a status can be replayed only for its own
message, where it changes nothing (a message only moves forward).

Outcomes: 201 is "accepted" with the message's sid; a 400 naming the recipient (invalid,
unsubscribed, not a mobile, not routable) is "rejected"; 429 (with Retry-After), 5xx and a
connection that never opened are "retry"; a request that went out without an answer is
"unknown", and `lookup` can later find whether the API has the message. Once the API throttles,
the batch's messages not yet sent are not sent: they are "retry" too, and the outbox waits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import (
    Gateway,
    Handlers,
    Inbound,
    OutgoingSms,
    Receipt,
    ReceiptState,
    SubmitResult,
)
from jalsa.mobilize.gateways.callbacks import CallbackKeys, receipt_signature
from jalsa.mobilize.gateways.kannel import transport_failure

API_VERSION = "2010-04-01"
RECEIPT_PATH = "/api/sms/receipts/rest"

# Error codes that say the recipient cannot get this message: rejected for good.
RECIPIENT_ERRORS = {
    21211: "invalid number",
    21214: "number cannot be reached",
    21408: "region not enabled",
    21610: "unsubscribed (the recipient texted STOP)",
    21612: "no route to the number",
    21614: "not a mobile number",
}
AUTH_ERRORS = {20003, 20005}  # authentication failed, account not active

STATUS_STATES: dict[str, ReceiptState] = {
    "accepted": "accepted",
    "scheduled": "accepted",
    "queued": "accepted",
    "sending": "accepted",
    "sent": "accepted",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL (query
    included) followed by each POST parameter's name and value, sorted by name."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_signature(url: str, params: Mapping[str, str], signature_: str, auth_token: str) -> bool:
    """Whether a callback's X-Twilio-Signature is the API's. `params` are the POST form's fields
    only; `url` is the URL exactly as the API was given it, query included."""
    return hmac.compare_digest(signature(url, params, auth_token), signature_ or "")


def receipt_from_rest(
    params: Mapping[str, str], query: Mapping[str, str], keys: CallbackKeys, now: datetime
) -> Receipt:
    """A status callback's form fields as a receipt, once our signature in the callback URL's
    `query` (key, ts, sig) matches the message and its recipient (check the API's signature
    over the URL and the form first). BadSignature otherwise."""
    key = query.get("key", "")
    recipient = params.get("To", "")
    keys.check_receipt("rest", key, recipient, query.get("ts", ""), query.get("sig"), now)
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    state = STATUS_STATES.get(status, "unknown")
    error = params.get("ErrorCode", "")
    return Receipt(
        state=state,
        gateway_id=params.get("MessageSid") or params.get("SmsSid") or None,
        key=key or None,
        recipient=recipient or None,
        error=f"{error[:100]} ({status[:32]})" if error else "",
    )


def inbound_from_rest(params: Mapping[str, str]) -> Inbound:
    """An inbound-message webhook's fields as an Inbound (the API's signature checked first).
    UserError without a message sid (the dedupe key) or with fields no real message has."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    to = params.get("To", "")
    if not sid or len(sid) > 100 or len(to) > 32:
        raise UserError("REST inbound message refused: no MessageSid, or an id or To too long")
    return Inbound(
        sender=params.get("From", ""), to=to, text=params.get("Body", ""), gateway_id=sid
    )


def _error_of(answer: httpx.Response) -> tuple[int | None, str]:
    """The API's error code and message from its JSON body, or the raw text."""
    try:
        body = answer.json()
    except ValueError:
        return None, answer.text.strip()[:200]
    if not isinstance(body, dict):
        return None, str(body)[:200]
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message", ""))


class RestGateway(Gateway):
    """Twilio's Messages API, or anything that speaks it."""

    name = "rest"

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        *,
        callback_url: str | None,
        secret: str = "",
        window: int = 10,
        timeout: float = 10.0,
    ) -> None:
        if callback_url and not secret:
            raise UserError("the REST gateway's status callbacks need the callback secret")
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.callback_url = callback_url
        self.window = max(1, window)
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._throttled = threading.Event()

    def __repr__(self) -> str:  # never show the token
        return f"RestGateway({self.base_url!r}, {self.account_sid!r})"

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def open(self, handlers: Handlers) -> None:
        self._client = httpx.Client(
            auth=(self.account_sid, self._auth_token),
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=self.window),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self.open(Handlers())
        assert self._client is not None
        return self._client

    def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        self._http()
        self._throttled.clear()
        with ThreadPoolExecutor(max_workers=self.window) as pool:
            return list(pool.map(self._submit_one, messages))

    def form(self, message: OutgoingSms) -> dict[str, str]:
        form = {"To": message.to, "From": message.sender, "Body": message.text}
        if self.callback_url:
            sent_at = int(time.time())
            sig = receipt_signature(self._secret, "rest", message.key, message.to, sent_at)
            query = httpx.QueryParams({"key": message.key, "ts": str(sent_at), "sig": sig})
            form["StatusCallback"] = f"{self.callback_url.rstrip('/')}{RECEIPT_PATH}?{query}"
        return form

    def _submit_one(self, message: OutgoingSms) -> SubmitResult:
        if self._throttled.is_set():
            return SubmitResult(message.key, "retry", detail="not sent: the API is throttling")
        try:
            answer = self._http().post(self.messages_url, data=self.form(message))
        except httpx.HTTPError as exc:
            return transport_failure(message.key, exc)
        return self._outcome(message.key, answer)

    def _refuse_credentials(self, answer: httpx.Response) -> None:
        code, words = _error_of(answer)
        if answer.status_code == 401 or code in AUTH_ERRORS:
            raise UserError(
                f"The SMS API refused account {self.account_sid!r} ({code or answer.status_code}: "
                f"{words}): check the account SID and auth token"
            )

    def _outcome(self, key: str, answer: httpx.Response) -> SubmitResult:
        self._refuse_credentials(answer)
        if answer.is_success:
            return self._accepted(key, answer)
        code, words = _error_of(answer)
        detail = f"{answer.status_code} {code or ''}: {words}".replace("  ", " ")
        if answer.status_code == 429 or answer.status_code >= 500:
            self._throttled.set()
            wait = answer.headers.get("Retry-After")
            return SubmitResult(
                key, "retry", detail=detail + (f" (Retry-After {wait})" * bool(wait))
            )
        if code in RECIPIENT_ERRORS:
            detail = f"{detail} - {RECIPIENT_ERRORS[code]}"
        return SubmitResult(key, "rejected", detail=detail)

    @staticmethod
    def _accepted(key: str, answer: httpx.Response) -> SubmitResult:
        """201 with the message: its sid. A success without one cannot be matched to receipts,
        so it is "unknown" and `lookup` settles it."""
        try:
            body = answer.json()
        except ValueError:
            body = None
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            return SubmitResult(key, "unknown", detail=f"{answer.status_code} without a sid")
        return SubmitResult(key, "accepted", gateway_id=sid, detail=str(body.get("status", "")))

    def _pages(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every message of a list query, following next_page_uri (relative to the API root)."""
        url: str | None = self.messages_url
        query: dict[str, str] | None = params
        while url:
            answer = self._http().get(url, params=query)
            self._refuse_credentials(answer)
            answer.raise_for_status()
            page = answer.json()
            yield from page.get("messages", [])
            next_uri = page.get("next_page_uri")
            url, query = (self.base_url + next_uri if next_uri else None), None

    def lookup(self, message: OutgoingSms, since: datetime) -> str | None:
        """The sid of a message to the same number with the same text, sent at or after `since`.
        The API filters by the day it was sent (`DateSent>=`, GMT); the time is checked here.
        A message still queued has no date_sent and is not listed: ask again later."""
        params = {"To": message.to, "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": "100"}
        try:
            for listed in self._pages(params):
                if listed.get("body") == message.text and self._created_since(listed, since):
                    return str(listed["sid"])
        except httpx.HTTPError:
            return None  # cannot tell now
        return None

    @staticmethod
    def _created_since(listed: Mapping[str, Any], since: datetime) -> bool:
        created = listed.get("date_created")
        if not created:
            return True
        return parsedate_to_datetime(str(created)) >= since
