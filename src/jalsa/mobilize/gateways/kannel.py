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

Callbacks: the dlr-url carries our key and an HMAC of it, so a receipt names its message and
cannot be forged by someone who guesses a key; the inbound get-url carries a fixed HMAC, as every
message uses the same URL. Kannel expands `%x` escapes in both URLs, so what we put there must
hold no `%` of its own: keys outside the URL-safe alphabet are carried base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

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
# sender and receiver in reports), %A the SMSC's words, %T the report's Unix time.
DLR_ESCAPES = {"type": "%d", "reply": "%A", "to": "%p", "at": "%T"}
# get-url query names -> escapes. %b is the text exactly as sent (%a squeezes spaces); %I is the
# UUID bearerbox gives each message, kept when smsbox retries the get-url or bearerbox
# re-delivers from its store, so it is the dedupe id; %T is the Unix time it arrived.
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

_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]+")
_ENCODED_KEY_PREFIX = "~"


def _sign(secret: str, message: str) -> str:
    """HMAC-SHA256 of `message`: proves a callback URL was made by us."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _check_signature(secret: str, message: str, signature: str | None) -> None:
    if not signature or not hmac.compare_digest(_sign(secret, message), signature):
        raise UserError("Kannel callback refused: its signature does not match (wrong secret?)")


def _url_key(key: str) -> str:
    """The key as it can sit in a dlr-url: Kannel would take a `%` in it for an escape."""
    if _SAFE_KEY.fullmatch(key):
        return key
    return _ENCODED_KEY_PREFIX + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _key_from_url(value: str) -> str:
    if not value.startswith(_ENCODED_KEY_PREFIX):
        return value
    data = value[len(_ENCODED_KEY_PREFIX) :]
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()


def _query(fields: Mapping[str, str]) -> str:
    """A query string that keeps Kannel's `%x` escapes as they are."""
    return "&".join(f"{name}={value}" for name, value in fields.items())


def _unix_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value or ""), UTC)
    except ValueError:
        return None


def dlr_url(callback_url: str, secret: str, key: str) -> str:
    """The dlr-url for one message: our key, its signature and the DLR escapes."""
    url_key = _url_key(key)
    fields = {"key": url_key, "sig": _sign(secret, "dlr:" + url_key), **DLR_ESCAPES}
    return f"{callback_url.rstrip('/')}{RECEIPT_PATH}?{_query(fields)}"


def kannel_inbound_url(callback_url: str, secret: str) -> str:
    """The get-url for Kannel's sms-service (`keyword = default`, `max-messages = 0`). The
    smsbox group needs `mo-recode = true`, so UCS-2 texts reach us as UTF-8 (a URL carries
    UTF-16 bytes that the web app cannot decode), and no `global-sender`, which would replace
    the number the supporter texted (%P)."""
    fields = {"sig": _sign(secret, "inbound"), **INBOUND_ESCAPES}
    return f"{callback_url.rstrip('/')}{INBOUND_PATH}?{_query(fields)}"


def receipt_from_kannel(params: Mapping[str, str], secret: str) -> Receipt:
    """A delivery report from the dlr-url's query parameters. UserError for a bad signature."""
    url_key = params.get("key", "")
    _check_signature(secret, "dlr:" + url_key, params.get("sig"))
    try:
        dlr_type = int(params.get("type", ""))
    except ValueError:
        dlr_type = 0
    state = DLR_STATES.get(dlr_type, "unknown")
    key = _key_from_url(url_key)
    reply = params.get("reply", "")
    return Receipt(
        state=state,
        gateway_id=key,
        key=key,
        recipient=params.get("to") or None,
        error=reply if state in ("failed", "rejected", "unknown") else "",
        at=_unix_time(params.get("at")),
    )


def _derived_inbound_id(sender: str, at: str, text: str) -> str:
    """An id for a message Kannel gave none (%I empty, as older versions do): the same sender,
    second and text are taken for the same message."""
    digest = hashlib.sha256(f"{sender}\n{at}\n{text}".encode()).hexdigest()[:32]
    return f"derived-{digest}"


def inbound_from_kannel(params: Mapping[str, str], secret: str) -> Inbound:
    """A supporter's message from the get-url's query parameters. UserError for a bad signature
    and for a UCS-2 text that Kannel did not recode (its bytes are lost in the URL)."""
    _check_signature(secret, "inbound", params.get("sig"))
    charset = params.get("charset", "").upper()
    if params.get("coding") == "2" or charset in UCS2_CHARSETS:
        raise UserError(
            "Kannel sent a Unicode SMS as raw UCS-2, which a URL cannot carry intact: "
            "set `mo-recode = true` in Kannel's smsbox group"
        )
    sender, text, at = params.get("from", ""), params.get("text", ""), params.get("at", "")
    return Inbound(
        sender=_international(sender),
        to=params.get("to", ""),
        text=text,
        gateway_id=params.get("id") or _derived_inbound_id(sender, at, text),
        received_at=_unix_time(at),
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
            form["dlr-url"] = dlr_url(self.callback_url, self._secret, message.key)
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
