"""Kannel's HTTP interface: messages go out through smsbox's `/cgi-bin/sendsms`; delivery reports
and supporters' messages come back as GET requests Kannel makes to the web app.

Submitting: each message is one sendsms request, with `charset=UTF-8` and `coding` 0 (GSM 7-bit)
or 2 (UCS-2), so smsbox converts the text itself and Urdu arrives intact. Kannel gives no message
id in its answer, so a message's gateway id is our own key, which also rides in the dlr-url.

Kannel's answers to sendsms (Kannel 1.4.5, as seen against a real smsbox):
    202 "0: Accepted for delivery"      taken, bearerbox is up
    202 "3: Queued for later delivery"  taken, smsbox holds it until bearerbox is back
    403 "Authorization failed for sendsms"                  wrong username or password
    400 "Number(s) has/have been denied by white- and/or black-lists."  bad recipient
    400 "... rejected" (coding, empty receiver, missing sender, ...)     bad message
    503                                   smsbox refuses for now

Callbacks (docs/decisions.md §31): each message's dlr-url carries our key, the time it was
sent and an HMAC over the key, the recipient and that time, so a report can only be made for a
message whose URL one has seen, and only within the receipt window. The inbound get-url is one
URL for every message (Kannel fills in the values but cannot sign them), so it carries a bearer
token, checked along with the message's time (%T) and sender; `record_inbound` bounds what a
forged message can cost. Kannel expands `%x` escapes in both URLs, so what we put there must
hold no `%` of its own: keys outside the URL-safe alphabet are carried base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx

from jalsa.errors import UserError
from jalsa.mobilize.encoding import is_gsm7
from jalsa.mobilize.gateways.base import (
    Gateway,
    Handlers,
    Inbound,
    OutgoingSms,
    Receipt,
    ReceiptState,
    SubmitResult,
)
from jalsa.mobilize.gateways.callbacks import (
    BadSignature,
    CallbackKeys,
    receipt_signature,
    unix_time,
    within,
)

RECEIPT_PATH = "/api/sms/receipts/kannel"
INBOUND_PATH = "/api/sms/inbound/kannel"

# DLR types (Kannel's dlr-mask bits) and what each says about the message.
DLR_STATES: dict[int, ReceiptState] = {
    1: "delivered",  # delivered to the phone
    2: "failed",  # not delivered to the phone
    4: "accepted",  # buffered: the SMSC queued it
    8: "accepted",  # the SMSC accepted it
    16: "rejected",  # the SMSC refused it
}
DLR_MASK = sum(DLR_STATES)  # 31: ask for every one of them

# dlr-url query names -> Kannel escapes. %p in a DLR is the original recipient (Kannel swaps
# sender and receiver in reports), %A the SMSC's words, %T the report's Unix time. Before them
# come our key, the time we sent the message (`ts`) and the signature over both and %p.
DLR_ESCAPES = {"type": "%d", "reply": "%A", "to": "%p", "at": "%T"}
# get-url query names -> escapes. %b is the text exactly as sent (%a squeezes spaces); %I is the
# UUID bearerbox gives each message, kept when smsbox retries the get-url or bearerbox
# re-delivers from its store, so it is the dedupe id; %T is the Unix time it arrived (what the
# inbound window is checked against: %t is the same time to the minute).
INBOUND_ESCAPES = {
    "from": "%p",
    "to": "%P",
    "text": "%b",
    "coding": "%c",
    "charset": "%C",
    "id": "%I",
    "at": "%T",
}
UCS2_CHARSETS = {"UTF-16BE", "UTF-16", "UCS-2", "UCS-2BE"}
MAX_ID = 100  # characters of a gateway's message id we store
MAX_TO = 32

_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]+")
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9._~-]+")
_ENCODED_KEY_PREFIX = "~"


def _url_key(key: str) -> str:
    """The key as it can sit in a dlr-url: Kannel would take a `%` in it for an escape."""
    if _SAFE_KEY.fullmatch(key):
        return key
    return _ENCODED_KEY_PREFIX + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _key_from_url(value: str) -> str:
    if not value.startswith(_ENCODED_KEY_PREFIX):
        return value
    data = value[len(_ENCODED_KEY_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise UserError("Kannel report refused: its key cannot be read") from None


def _query(fields: Mapping[str, str]) -> str:
    """A query string that keeps Kannel's `%x` escapes as they are."""
    return "&".join(f"{name}={value}" for name, value in fields.items())


def dlr_url(callback_url: str, secret: str, key: str, recipient: str, sent_at: int) -> str:
    """The dlr-url for one message: our key, when we sent it (Unix time), the signature over
    both and the recipient, then the DLR escapes."""
    url_key = _url_key(key)
    fields = {
        "key": url_key,
        "ts": str(sent_at),
        "sig": receipt_signature(secret, "kannel", url_key, recipient, sent_at),
        **DLR_ESCAPES,
    }
    return f"{callback_url.rstrip('/')}{RECEIPT_PATH}?{_query(fields)}"


def kannel_inbound_url(callback_url: str, token: str) -> str:
    """The get-url for Kannel's sms-service (`keyword = default`, `max-messages = 0`), with
    the inbound token (JALSA_SMS_INBOUND_TOKEN). The smsbox group needs `mo-recode = true`,
    so UCS-2 texts reach us as UTF-8 (a URL carries UTF-16 bytes that the web app cannot
    decode), and no `global-sender`, which would replace the number the supporter texted (%P)."""
    if not _SAFE_TOKEN.fullmatch(token):
        raise UserError("the inbound token may hold letters, digits, '.', '_', '~' and '-' only")
    fields = {"token": token, **INBOUND_ESCAPES}
    return f"{callback_url.rstrip('/')}{INBOUND_PATH}?{_query(fields)}"


def receipt_from_kannel(params: Mapping[str, str], keys: CallbackKeys, now: datetime) -> Receipt:
    """A delivery report from the dlr-url's query parameters. BadSignature unless the URL is
    one we made for this message and recipient, within the receipt window."""
    url_key = params.get("key", "")
    recipient = params.get("to", "")
    keys.check_receipt("kannel", url_key, recipient, params.get("ts", ""), params.get("sig"), now)
    try:
        dlr_type = int(params.get("type", ""))
    except ValueError:
        dlr_type = 0
    state = DLR_STATES.get(dlr_type, "unknown")
    key = _key_from_url(url_key)
    reply = params.get("reply", "")[:500]
    return Receipt(
        state=state,
        gateway_id=key,
        key=key,
        recipient=_international(recipient) or None,
        error=reply if state in ("failed", "rejected", "unknown") else "",
        at=unix_time(params.get("at")),
    )


def _derived_inbound_id(sender: str, at: str, text: str) -> str:
    """An id for a message Kannel gave none (%I empty, as older versions do): the same sender,
    second and text are taken for the same message."""
    digest = hashlib.sha256(f"{sender}\n{at}\n{text}".encode()).hexdigest()[:32]
    return f"derived-{digest}"


def inbound_from_kannel(params: Mapping[str, str], keys: CallbackKeys, now: datetime) -> Inbound:
    """A supporter's message from the get-url's query parameters. BadSignature for a wrong
    token or a time (%T) outside the inbound window; UserError for a UCS-2 text that Kannel did
    not recode (its bytes are lost in the URL) and for fields longer than any real message's.
    The sender is checked by `record_inbound`."""
    keys.check_token(params.get("token"))
    sender, text, at = params.get("from", ""), params.get("text", ""), params.get("at", "")
    received = unix_time(at)
    if received is None:
        raise BadSignature("Kannel inbound message refused: it has no time (%T in the get-url)")
    within(received, now, keys.inbound_window, "Kannel inbound message refused: it arrived")
    charset = params.get("charset", "").upper()
    if params.get("coding") == "2" or charset in UCS2_CHARSETS:
        raise UserError(
            "Kannel sent a Unicode SMS as raw UCS-2, which a URL cannot carry intact: "
            "set `mo-recode = true` in Kannel's smsbox group"
        )
    gateway_id = params.get("id") or _derived_inbound_id(sender, at, text)
    to = params.get("to", "")
    if len(gateway_id) > MAX_ID or len(to) > MAX_TO:
        raise UserError("Kannel inbound message refused: its id or receiver is too long")
    return Inbound(
        sender=_international(sender),
        to=to,
        text=text,
        gateway_id=gateway_id,
        received_at=received,
    )


def _international(number: str) -> str:
    """SMSCs write international numbers as +92..., or 0092...; the latter becomes +92..."""
    number = number.strip()
    return "+" + number[2:] if number.startswith("00") else number


def transport_failure(key: str, exc: httpx.HTTPError) -> SubmitResult:
    """The outcome when no HTTP answer came: "retry" if the request never left (no connection,
    no free connection), "unknown" if it may have reached the gateway."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return SubmitResult(key, "retry" if never_sent else "unknown", detail=detail)


class KannelGateway(Gateway):
    """Kannel's smsbox sendsms interface. Receipts and inbound messages arrive at the web app
    (see `receipt_from_kannel`, `inbound_from_kannel`), not through `open`'s handlers."""

    name = "kannel"

    def __init__(
        self,
        sendsms_url: str,
        username: str,
        password: str,
        *,
        callback_url: str | None,
        secret: str,
        window: int = 10,
        timeout: float = 10.0,
        smsc: str | None = None,
    ) -> None:
        self.sendsms_url = sendsms_url
        self.username = username
        self._password = password
        self.callback_url = callback_url
        self._secret = secret
        self.window = max(1, window)
        self.timeout = timeout
        self.smsc = smsc
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:  # never show the password
        return f"KannelGateway({self.sendsms_url!r}, {self.username!r}, smsc={self.smsc!r})"

    def open(self, handlers: Handlers) -> None:
        self._client = httpx.Client(
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=self.window),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        if self._client is None:
            self.open(Handlers())
        with ThreadPoolExecutor(max_workers=self.window) as pool:
            return list(pool.map(self._submit_one, messages))

    def sendsms_form(self, message: OutgoingSms) -> dict[str, str]:
        """The sendsms parameters for one message (the password included)."""
        form = {
            "username": self.username,
            "password": self._password,
            "from": message.sender,
            "to": message.to,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "0" if is_gsm7(message.text) else "2",
        }
        if self.smsc:
            form["smsc"] = self.smsc
        if self.callback_url:
            form["dlr-mask"] = str(DLR_MASK)
            form["dlr-url"] = dlr_url(
                self.callback_url, self._secret, message.key, message.to, int(time.time())
            )
        return form

    def _submit_one(self, message: OutgoingSms) -> SubmitResult:
        assert self._client is not None
        # Kannel's POST form: the parameters as X-Kannel headers, the text as the body. Unlike a
        # GET query, this keeps the password out of HTTP clients' request logs.
        form = self.sendsms_form(message)
        text = form.pop("text")
        headers = {f"X-Kannel-{name.title()}": value for name, value in form.items()}
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        try:
            answer = self._client.post(self.sendsms_url, content=text.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return transport_failure(message.key, exc)
        return self._outcome(message.key, answer)

    def _outcome(self, key: str, answer: httpx.Response) -> SubmitResult:
        words = answer.text.strip()
        if answer.status_code in (401, 403):
            raise UserError(
                f"Kannel refused the sendsms user {self.username!r} ({words or answer.status_code})"
                ": check the username and password of its sendsms-user group"
            )
        if answer.is_success:
            return SubmitResult(key, "accepted", gateway_id=key, detail=words)
        if answer.status_code >= 500:
            return SubmitResult(key, "retry", detail=f"{answer.status_code} {words}".strip())
        return SubmitResult(key, "rejected", detail=f"{answer.status_code} {words}".strip())
