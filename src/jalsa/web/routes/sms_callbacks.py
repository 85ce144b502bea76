"""Where SMS gateways call back: delivery receipts and supporters' messages from Kannel and from
the REST (Twilio-style) API.

The caller is a gateway, not a user, so these routes take no session or API token: each request
is checked instead (docs/decisions.md §31). A Kannel report carries the per-message signature
and time we put in its dlr-url; a Kannel inbound message the inbound token, a time within the
inbound window and a mobile number as its sender; Kannel's calls may also be limited to its
addresses (JALSA_SMS_CALLBACK_ALLOW). The REST API signs every request with the account's auth
token, and its status callbacks carry our per-message signature too. A forged, stale or
unsigned call is refused with 403, a malformed one with 400; neither changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.credentials import with_stored_credentials
from jalsa.errors import UserError
from jalsa.mobilize.gateways import callback_keys
from jalsa.mobilize.gateways.callbacks import BadSignature, CallbackKeys
from jalsa.mobilize.gateways.kannel import inbound_from_kannel, receipt_from_kannel
from jalsa.mobilize.gateways.rest import inbound_from_rest, receipt_from_rest, verify_signature
from jalsa.mobilize.inbound import ReplyLimits, record_inbound
from jalsa.mobilize.outbox import record_receipt
from jalsa.timeutil import utc_now
from jalsa.web.deps import db, get_store
from jalsa.web.services import services

router = APIRouter(tags=["sms callbacks"], include_in_schema=False)
CALLBACK_PATHS = frozenset(
    {
        "/api/sms/receipts/kannel",
        "/api/sms/inbound/kannel",
        "/api/sms/receipts/rest",
        "/api/sms/inbound/rest",
    }
)
Db = Annotated[Session, Depends(db)]
T = TypeVar("T")


def _settings(request: Request) -> Settings:
    settings: Settings = services(request).settings
    return settings


def _limits(settings: Settings) -> ReplyLimits:
    return ReplyLimits(
        every=timedelta(minutes=settings.sms_reply_every_minutes),
        per_hour=settings.sms_replies_per_hour,
    )


def _refused(exc: UserError) -> HTTPException:
    """403 for a call that is not the gateway's, 400 for one that cannot be used."""
    return HTTPException(403 if isinstance(exc, BadSignature) else 400, str(exc))


def _kannel(request: Request, parse: Callable[[Mapping[str, str], CallbackKeys, datetime], T]) -> T:
    """Kannel's query, read by `parse` after the caller's address and the signature or token
    were checked."""
    try:
        keys = callback_keys(_settings(request))
        keys.check_caller(request.client.host if request.client else None)
        return parse(dict(request.query_params), keys, utc_now())
    except UserError as exc:
        raise _refused(exc) from None


@router.get("/api/sms/receipts/kannel")
def kannel_receipt(request: Request, session: Db) -> PlainTextResponse:
    receipt = _kannel(request, receipt_from_kannel)
    matched = record_receipt(session, "kannel", receipt, utc_now())
    return PlainTextResponse("ok" if matched else "no such message")


@router.get("/api/sms/inbound/kannel")
def kannel_inbound(request: Request, session: Db) -> PlainTextResponse:
    message = _kannel(request, inbound_from_kannel)
    settings = _settings(request)
    try:
        record_inbound(session, "kannel", message, utc_now(), limits=_limits(settings))
    except UserError as exc:
        raise _refused(exc) from None
    return PlainTextResponse("")  # the sms-service sends no reply itself (max-messages = 0)


async def _signed_form(request: Request) -> dict[str, str]:
    """The REST API's form, after checking its X-Twilio-Signature over the URL we gave it."""
    settings = with_stored_credentials(_settings(request), get_store(request))
    if settings.sms_password is None or not settings.sms_callback_url:
        raise HTTPException(403, "the REST gateway's token or JALSA_SMS_CALLBACK_URL is not set")
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = settings.sms_callback_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not verify_signature(url, form, signature, settings.sms_password.get_secret_value()):
        raise HTTPException(403, "bad signature")
    return form


@router.post("/api/sms/receipts/rest")
async def rest_receipt(request: Request) -> PlainTextResponse:
    form = await _signed_form(request)
    try:
        keys = callback_keys(_settings(request))
        receipt = receipt_from_rest(form, dict(request.query_params), keys, utc_now())
    except UserError as exc:
        raise _refused(exc) from None
    with get_store(request).session() as session:
        matched = record_receipt(session, "rest", receipt, utc_now())
    return PlainTextResponse("ok" if matched else "no such message")


@router.post("/api/sms/inbound/rest")
async def rest_inbound(request: Request) -> Response:
    form = await _signed_form(request)
    limits = _limits(_settings(request))
    try:
        with get_store(request).session() as session:
            record_inbound(session, "rest", inbound_from_rest(form), utc_now(), limits=limits)
    except UserError as exc:
        raise _refused(exc) from None
    # An empty TwiML answer: the confirmation goes out through the outbox, recorded.
    return Response("<Response/>", media_type="application/xml")
