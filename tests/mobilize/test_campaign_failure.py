"""A campaign that cannot be sent: refused when written with a bad segment, and when its stored
row goes bad anyway (written by hand, an older version), it fails with its reason and never
holds up another campaign."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from jalsa.errors import UserError
from jalsa.mobilize.campaigns import (
    CampaignSpec,
    create_campaign,
    get_campaign,
    preview,
    schedule_campaign,
)
from jalsa.mobilize.gateways.base import Gateway, Handlers, OutgoingSms, SubmitResult
from jalsa.mobilize.sender import Sender, SenderConfig
from jalsa.store import Store
from jalsa.store.models import Campaign, SmsMessage
from mobilize.test_outbox import T0, add_supporters


class TakesAll(Gateway):
    """A gateway that accepts every message (the sending itself is not what is tested)."""

    name = "smpp"

    def __init__(self) -> None:
        self.sent: list[OutgoingSms] = []

    def open(self, handlers: Handlers) -> None:
        pass

    def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        self.sent.extend(messages)
        return [SubmitResult(m.key, "accepted", gateway_id=m.key) for m in messages]

    def close(self) -> None:
        pass


def spec(name: str, **segment: list[str]) -> CampaignSpec:
    return CampaignSpec(
        name=name,
        texts={"en": "Rally tonight"},
        schedule="2026-11-30 10:00",  # 05:00 UTC: due at T0
        segment=dict(segment),
        send_from="00:00",
        send_until="23:59",
    )


@pytest.mark.parametrize(
    ("segment", "named"),
    [
        ({"language": ["ur", "xx"]}, "'xx'"),
        ({"language": ["Klingon"]}, "'Klingon'"),
        ({"colour": ["red"]}, "colour"),
        ({"city": ["x" * 101]}, "100 characters"),
    ],
)
def test_a_segment_that_cannot_be_sent_is_refused_when_written(
    store: Store, segment: dict[str, list[str]], named: str
) -> None:
    with store.session() as session, pytest.raises(UserError) as refused:
        create_campaign(session, spec("Bad", **segment), None, now=T0)
    assert named in str(refused.value)
    if "language" in segment:
        assert "use ur, en" in str(refused.value)
    with store.session() as session:
        assert session.scalars(select(Campaign)).first() is None


def test_languages_are_read_as_supporters_write_them(store: Store) -> None:
    with store.session() as session:
        campaign = create_campaign(session, spec("Urdu", language=[" Urdu ", "en"]), None, T0)
        assert campaign.segment == {"language": ["Urdu", "en"]}


def test_a_broken_campaign_fails_with_its_reason_and_the_other_goes_out(store: Store) -> None:
    add_supporters(store, [{"language": "en"} for _ in range(4)])
    with store.session() as session:
        broken = create_campaign(session, spec("Broken"), None, now=T0)
        good = create_campaign(session, spec("Good"), None, now=T0)
        for campaign in (broken, good):
            schedule_campaign(session, campaign, T0)
        broken_id, good_id = broken.id, good.id
    with store.session() as session:  # what the API refuses, written to the database directly
        session.execute(
            update(Campaign).where(Campaign.id == broken_id).values(segment={"language": ["xx"]})
        )
        with pytest.raises(UserError, match="'xx'"):  # the preview says why, no crash
            preview(session, get_campaign(session, "broken"), price_per_segment=1, currency="")
    gateway = TakesAll()
    sender = Sender(store, gateway, SenderConfig(rate=1000), now=lambda: T0)
    for _ in range(5):
        sender.step()
    with store.session() as session:
        broken_row = session.get(Campaign, broken_id)
        good_row = session.get(Campaign, good_id)
        assert broken_row is not None and good_row is not None
        assert broken_row.status == "failed"
        assert "'xx'" in broken_row.failure and "ur, en" in broken_row.failure
        assert good_row.status == "done"
        statuses = list(
            session.scalars(select(SmsMessage.status).where(SmsMessage.campaign_id == good_id))
        )
    assert statuses == ["submitted"] * 4 and len(gateway.sent) == 4
    with store.session() as session, pytest.raises(UserError, match="failed"):
        schedule_campaign(session, get_campaign(session, "broken"), T0 + timedelta(hours=1))


def test_a_campaign_that_goes_bad_while_sending_fails_and_the_other_goes_on(
    store: Store,
) -> None:
    add_supporters(store, [{"language": "en"} for _ in range(3)])
    with store.session() as session:
        first = create_campaign(session, spec("First"), None, now=T0)
        second = create_campaign(session, spec("Second"), None, now=T0)
        for campaign in (first, second):
            schedule_campaign(session, campaign, T0)
        first_id = first.id
    sender = Sender(store, TakesAll(), SenderConfig(rate=1000, batch=1), now=lambda: T0)
    sender.step()  # both start; one message goes
    with store.session() as session:
        session.execute(update(Campaign).where(Campaign.id == first_id).values(send_from="25:00"))
    for _ in range(8):
        sender.step()
    with store.session() as session:
        rows = {c.slug: (c.status, c.failure) for c in session.scalars(select(Campaign))}
        reasons = set(
            session.scalars(select(SmsMessage.reason).where(SmsMessage.campaign_id == first_id))
        )
    assert rows["first"][0] == "failed" and "25:00" in rows["first"][1]
    assert rows["second"] == ("done", "")
    assert "campaign failed" in reasons
