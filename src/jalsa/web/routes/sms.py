"""SMS campaigns in the web app: the list, writing a draft, its preview, sending, pausing and
cancelling, and each campaign's live progress, as pages and as JSON. Both call the functions
of `jalsa.mobilize.campaigns`, so a form, an API call and the CLI follow the same rules.

Sending from here only schedules the campaign: the server's sender (`SmsService`) sends it.
Campaign pages show counts and texts, never a supporter's number or name."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.mobilize import campaigns as ops
from jalsa.mobilize.outbox import MEANING, OPEN
from jalsa.mobilize.service import SmsService
from jalsa.store.models import Campaign, Event
from jalsa.store.repo import get_event, list_events
from jalsa.team import Perm, audit
from jalsa.timeutil import utc_now
from jalsa.web.deps import Caller, Requires, db
from jalsa.web.routes.common import API_ERRORS, done, from_form, ip, page
from jalsa.web.services import services

router = APIRouter(responses=API_ERRORS)
REFRESH_SECONDS = 2  # how often an open campaign page asks for its progress

Names = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=50)]
_SCHEDULE = (
    "When it starts: an absolute time in the campaign's zone ('2026-11-30 18:00') or relative "
    "to the event's start: event-1h, event-30m, event-1d@18:00, event@08:00."
)


class CampaignCreate(BaseModel):
    """A campaign draft. Templates may use {name}, {first_name}, {city}, {constituency},
    {event}, {event_date} and {event_time}, with a fallback: {first_name|dost}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    text_ur: str = Field("", max_length=2000, description="Urdu text (Urdu script or Roman).")
    text_en: str = Field("", max_length=2000, description="English text.")
    event: str | None = Field(None, max_length=80, description="Event slug, for event-… times.")
    schedule: str = Field("event-1h", min_length=1, max_length=64, description=_SCHEDULE)
    purpose: Literal["reminders", "general"] = Field(
        "reminders", description="The consent a recipient must have given."
    )
    city: Names = Field(default_factory=list, description="Only supporters in these cities.")
    constituency: Names = Field(default_factory=list)
    language: Names = Field(default_factory=list, description="e.g. ['ur'] or ['en'].")
    tags: Names = Field(default_factory=list, description="Supporters with any of these tags.")
    spread_minutes: int = Field(0, ge=0, le=7 * 24 * 60, description="Spread sending over this.")
    send_from: str = Field("09:00", max_length=5, description="Sending hours start (HH:MM).")
    send_until: str = Field("21:00", max_length=5, description="Sending hours end (HH:MM).")
    timezone: str | None = Field(
        None, max_length=64, description="The schedule's zone, and recipients' whose is unknown."
    )


class StatusCount(BaseModel):
    status: str
    messages: int
    meaning: str


class ReasonCount(BaseModel):
    status: str
    reason: str
    messages: int


class CampaignOut(BaseModel):
    slug: str
    name: str
    status: str = Field(description="draft, scheduled, sending, paused, done, cancelled or failed")
    failure: str = Field("", description="Why a failed campaign could not be sent.")
    purpose: str
    event: str | None = Field(description="The event's slug, if the campaign has one.")
    schedule: str = Field(description="As written; `send_at` is what it resolved to (UTC).")
    send_at: datetime
    timezone: str
    send_from: str
    send_until: str
    spread_minutes: int
    segment: dict[str, list[str]]
    templates: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int | None = Field(
        description="Supporters in the segment when sending began; None before."
    )
    settled: int = Field(description="Messages with a final outcome (sent or not).")
    waiting: int = Field(description="Messages not settled yet.")
    counts: list[StatusCount] = Field(description="Messages by status, with what each means.")
    unsent: list[ReasonCount] = Field(description="Why messages ended unsent.")
    sender: str | None = Field(None, description="What the server's sender is doing now.")


class PreviewOut(BaseModel):
    recipients: int = Field(description="Supporters in the segment.")
    sendable: int = Field(description="Would be sent to (consent given, not opted out).")
    opted_out: int
    no_consent: int
    too_long: int = Field(description="Messages longer than the gateway allows.")
    languages: dict[str, int]
    encodings: dict[str, int] = Field(description="GSM-7 or UCS-2: UCS-2 takes 70 a part.")
    segments: int = Field(description="SMS parts in all; what the operator bills.")
    max_segments: int
    cost: float | None = Field(description="segments × JALSA_SMS_SEGMENT_PRICE; None if unset.")
    currency: str
    samples: dict[str, str] = Field(description="One rendered message per language.")


def campaign_out(session: Session, campaign: Campaign) -> CampaignOut:
    progress = ops.progress_of(session, campaign)
    event = ops.event_of(session, campaign)
    waiting = sum(progress.counts.get(s, 0) for s in OPEN)
    return CampaignOut(
        slug=campaign.slug,
        name=campaign.name,
        status=campaign.status,
        failure=campaign.failure or "",
        purpose=campaign.purpose,
        event=event.slug if event else None,
        schedule=campaign.schedule,
        send_at=campaign.send_at,
        timezone=campaign.timezone,
        send_from=campaign.send_from,
        send_until=campaign.send_until,
        spread_minutes=campaign.spread_minutes,
        segment=dict(campaign.segment),
        templates=dict(campaign.templates),
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        recipients=progress.total,
        settled=progress.settled,
        waiting=waiting,
        counts=[
            StatusCount(status=s, messages=n, meaning=MEANING.get(s, ""))
            for s, n in sorted(progress.counts.items(), key=lambda kv: -kv[1])
        ],
        unsent=[
            ReasonCount(status=s, reason=r, messages=n)
            for (s, r), n in sorted(progress.reasons.items(), key=lambda kv: -kv[1])
        ],
    )


def preview_out(session: Session, campaign: Campaign, settings: Settings) -> PreviewOut:
    result = ops.preview(
        session,
        campaign,
        price_per_segment=settings.sms_segment_price,
        currency=settings.sms_currency,
    )
    return PreviewOut(
        recipients=result.recipients,
        sendable=result.sendable,
        opted_out=result.opted_out,
        no_consent=result.no_consent,
        too_long=result.too_long,
        languages=dict(result.languages),
        encodings=dict(result.encodings),
        segments=result.segments,
        max_segments=result.max_segments,
        cost=result.cost if settings.sms_segment_price else None,
        currency=result.currency,
        samples=dict(result.samples),
    )


def create(request: Request, session: Session, who: Caller, data: CampaignCreate) -> Campaign:
    settings: Settings = services(request).settings
    event: Event | None = get_event(session, data.event) if data.event else None
    spec = ops.CampaignSpec(
        name=data.name,
        texts={"ur": data.text_ur, "en": data.text_en},
        purpose=data.purpose,
        schedule=data.schedule,
        event_id=event.id if event else None,
        segment={key: getattr(data, key) for key in ops.SEGMENT_KEYS},
        spread_minutes=data.spread_minutes,
        send_from=data.send_from,
        send_until=data.send_until,
        timezone=data.timezone or settings.timezone,
    )
    campaign = ops.create_campaign(session, spec, who.user.id)
    audit(
        session,
        actor=who.user,
        action="sms.campaign.create",
        target=campaign.slug,
        details={"schedule": campaign.schedule, "purpose": campaign.purpose},
        ip=ip(request),
    )
    return campaign


Action = Literal["send", "pause", "cancel"]


def act(request: Request, session: Session, who: Caller, ref: str, action: Action) -> Campaign:
    """Send (schedule: the server's sender sends it), pause or cancel a campaign."""
    campaign = ops.get_campaign(session, ref)
    now = utc_now()
    details: dict[str, Any] = {}
    if action == "send":
        ops.schedule_campaign(session, campaign, now)
    elif action == "pause":
        ops.pause_campaign(session, campaign, now)
    else:
        details["skipped"] = ops.cancel_campaign(session, campaign, now)
    audit(
        session,
        actor=who.user,
        action=f"sms.campaign.{action}",
        target=campaign.slug,
        details=details,
        ip=ip(request),
    )
    return campaign


def _sms(request: Request) -> SmsService:
    service: SmsService = services(request).sms
    return service


# -- pages ---------------------------------------------------------------------------------


@router.get("/sms", response_class=HTMLResponse, include_in_schema=False)
def campaigns_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> Response:
    supporters, opted_out = ops.audience(session)
    context = {
        "campaigns": [campaign_out(session, c) for c in ops.list_campaigns(session)],
        "supporters": supporters,
        "opted_out": opted_out,
        "sender": _sms(request).status,
    }
    return page(request, "sms_campaigns.html", who, context)


class CampaignFields(BaseModel):
    """The new-campaign form as posted: lists are comma-separated text."""

    name: str = ""
    text_ur: str = ""
    text_en: str = ""
    event: str = ""
    schedule: str = "event-1h"
    purpose: str = "reminders"
    city: str = ""
    constituency: str = ""
    language: str = ""
    tags: str = ""
    spread_minutes: str = "0"
    send_from: str = "09:00"
    send_until: str = "21:00"
    timezone: str = ""


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _form_page(
    request: Request,
    session: Session,
    who: Caller,
    values: dict[str, Any],
    error: UserError | None = None,
) -> Response:
    context = {"values": values, "events": list_events(session)}
    return page(request, "sms_campaign_form.html", who, context, error=error)


@router.get("/sms/new", response_class=HTMLResponse, include_in_schema=False)
def new_campaign_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_SMS)),
) -> Response:
    settings: Settings = services(request).settings
    values = {**CampaignFields().model_dump(), "timezone": settings.timezone}
    return _form_page(request, session, who, values)


@router.post("/sms/new", include_in_schema=False)
def new_campaign_form(
    request: Request,
    form: Annotated[CampaignFields, Form()],
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_SMS)),
) -> Response:
    values = form.model_dump()
    data = {
        **values,
        **{key: _listed(values[key]) for key in ops.SEGMENT_KEYS},
        "event": form.event or None,
        "timezone": form.timezone or None,
    }
    try:
        campaign = create(request, session, who, from_form(CampaignCreate, data))
    except UserError as exc:
        return _form_page(request, session, who, values, error=exc)
    return done(
        request,
        f"/sms/{campaign.slug}/preview",
        f"Campaign {campaign.name} is written as a draft: check its preview, then send it.",
    )


@router.get("/sms/{campaign}", response_class=HTMLResponse, include_in_schema=False)
def campaign_page(
    request: Request,
    campaign: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> Response:
    found = ops.get_campaign(session, campaign)
    context = {
        "campaign": campaign_out(session, found),
        "sender": _sms(request).status,
        "refresh": REFRESH_SECONDS,
    }
    return page(request, "sms_campaign.html", who, context)


@router.get("/sms/{campaign}/preview", response_class=HTMLResponse, include_in_schema=False)
def preview_page(
    request: Request,
    campaign: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> Response:
    found = ops.get_campaign(session, campaign)
    context = {
        "campaign": campaign_out(session, found),
        "preview": preview_out(session, found, services(request).settings),
    }
    return page(request, "sms_preview.html", who, context)


def _action_page(
    request: Request, session: Session, who: Caller, campaign: str, action: Action
) -> Response:
    done_text = {"send": "is scheduled", "pause": "is paused", "cancel": "is cancelled"}
    try:
        found = act(request, session, who, campaign, action)
    except UserError as exc:
        found = ops.get_campaign(session, campaign)
        context = {"campaign": campaign_out(session, found), "sender": _sms(request).status}
        return page(request, "sms_campaign.html", who, {**context, "refresh": 0}, error=exc)
    return done(request, f"/sms/{found.slug}", f"Campaign {found.name} {done_text[action]}.")


@router.post("/sms/{campaign}/{action}", include_in_schema=False)
def action_form(
    request: Request,
    campaign: str,
    action: Action,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.SEND_SMS)),
) -> Response:
    return _action_page(request, session, who, campaign, action)


# -- JSON API ------------------------------------------------------------------------------


@router.get("/api/sms/campaigns", tags=["sms"])
def api_campaigns(
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> list[CampaignOut]:
    """Every campaign, newest first, with its progress."""
    return [campaign_out(session, c) for c in ops.list_campaigns(session)]


@router.post("/api/sms/campaigns", tags=["sms"], status_code=201)
def api_campaign_create(
    request: Request,
    data: CampaignCreate,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.EDIT_SMS)),
) -> CampaignOut:
    """Write a campaign draft; nothing is sent until `send`. A bad template, schedule or
    segment is a 400 that says what to change."""
    return campaign_out(session, create(request, session, who, data))


@router.get("/api/sms/campaigns/{campaign}", tags=["sms"])
def api_campaign(
    request: Request,
    campaign: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> CampaignOut:
    """One campaign (by slug or id) with its progress: messages by status, why those that
    ended unsent did, and what the server's sender is doing."""
    out = campaign_out(session, ops.get_campaign(session, campaign))
    out.sender = _sms(request).status
    return out


@router.get("/api/sms/campaigns/{campaign}/preview", tags=["sms"])
def api_campaign_preview(
    request: Request,
    campaign: str,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.VIEW_SMS)),
) -> PreviewOut:
    """What the campaign would send now: every message is rendered (nothing is stored), so
    this takes about a minute per million supporters."""
    return preview_out(session, ops.get_campaign(session, campaign), services(request).settings)


@router.post("/api/sms/campaigns/{campaign}/{action}", tags=["sms"])
def api_campaign_action(
    request: Request,
    campaign: str,
    action: Action,
    session: Session = Depends(db, scope="function"),
    who: Caller = Depends(Requires(Perm.SEND_SMS)),
) -> CampaignOut:
    """`send` schedules the campaign: the server's sender starts it at its time, and a paused
    campaign continues where it stopped (nobody is sent to twice). `pause` stops sending for
    now (messages already handed to the gateway still settle). `cancel` stops it for good:
    its waiting messages are skipped."""
    return campaign_out(session, act(request, session, who, campaign, action))
