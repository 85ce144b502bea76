"""The outbox's rules on a real store: who may be sent to and when, exactly one row per
recipient, forward-only states, receipts that settle lost answers, STOP/HELP/START."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from jalsa.errors import UserError
from jalsa.mobilize.campaigns import (
    CampaignSpec,
    create_campaign,
    materialize,
    preview,
    schedule_campaign,
    start_due,
)
from jalsa.mobilize.gateways.base import Inbound, Receipt, SubmitResult
from jalsa.mobilize.inbound import ReplyLimits, record_inbound
from jalsa.mobilize.outbox import (
    in_flight_to_unknown,
    message_id_of,
    message_key,
    record_receipt,
    record_results,
)
from jalsa.mobilize.schedule import SendingHours, resolve
from jalsa.mobilize.sender import SenderLimit, claim
from jalsa.store import Store
from jalsa.store.models import Campaign, Consent, Event, OptOut, SmsInbound, SmsMessage, Supporter
from jalsa.timeutil import local

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 11:00 in Karachi
GRACE = timedelta(minutes=10)
SENDERS = (SenderLimit("JALSA"),)


def add_supporters(store: Store, specs: list[dict[str, Any]]) -> None:
    """Supporters with consent for reminders unless `consent` is False; `opted_out` ones go in
    the registry."""
    with store.session() as session:
        for n, spec in enumerate(specs):
            phone = spec.get("phone", f"+9230012{n:05d}")
            supporter = Supporter(
                phone=phone,
                name=spec.get("name", f"Supporter {n}"),
                city=spec.get("city", "Lahore"),
                constituency="",
                language=spec.get("language", "ur"),
                tags=[],
                timezone=spec.get("timezone"),
                created_at=T0,
                updated_at=T0,
            )
            session.add(supporter)
            session.flush()
            if spec.get("consent", True):
                session.add(
                    Consent(
                        supporter_id=supporter.id,
                        purpose="reminders",
                        source="test",
                        given_at=T0,
                        recorded_at=T0,
                    )
                )
            if spec.get("opted_out"):
                session.add(OptOut(phone=phone, at=T0, source="manual", detail=""))


def start_campaign(store: Store, **spec: Any) -> int:
    with store.session() as session:
        fields = {"name": "Reminder", "texts": {"ur": "Jalsa {event_time} par", "en": "Rally"}}
        fields |= {"schedule": "2026-11-30 10:00"} | spec
        campaign = create_campaign(session, CampaignSpec(**fields), None, now=T0)
        campaign.status = "scheduled"
        session.flush()
        start_due(session, max(campaign.send_at, T0))
        while materialize(session, campaign, T0, "Asia/Karachi"):
            pass
        return campaign.id


def claim_all(store: Store, now: datetime, limit: int = 1000) -> list[SmsMessage]:
    with store.session() as session:
        return claim(session, now, gateway="smpp", senders=SENDERS, budget=100_000, limit=limit)


def test_one_row_per_recipient_however_often_materialized(store: Store) -> None:
    add_supporters(store, [{} for _ in range(5)])
    campaign_id = start_campaign(store)
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.cursor = 0  # a restart that lost the cursor's update
        assert materialize(session, campaign, T0, "Asia/Karachi") == 5
        count = session.scalar(select(func.count()).select_from(SmsMessage))
    assert count == 5


def test_opted_out_and_unconsented_are_skipped_and_said_why(store: Store) -> None:
    add_supporters(store, [{}, {"opted_out": True}, {"consent": False}])
    start_campaign(store)
    claimed = claim_all(store, T0)
    assert len(claimed) == 1
    with store.session() as session:
        reasons = sorted(
            m.reason for m in session.scalars(select(SmsMessage)) if m.status == "skipped"
        )
    assert reasons == ["no consent for reminders", "opted out"]


def test_quiet_hours_defer_to_the_next_opening_in_the_recipients_zone(store: Store) -> None:
    add_supporters(store, [{"timezone": "Asia/Karachi"}, {"timezone": "Europe/London"}])
    start_campaign(store)
    night = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 22:00 Karachi, 17:00 London
    claimed = claim_all(store, night)
    assert [m.timezone for m in claimed] == ["Europe/London"]
    with store.session() as session:
        waiting = session.scalars(select(SmsMessage).where(SmsMessage.status == "deferred")).one()
    assert waiting.not_before == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 09:00 Karachi
    assert claim_all(store, waiting.not_before - timedelta(minutes=1)) == []
    assert len(claim_all(store, waiting.not_before)) == 1


_examples = itertools.count()
_times = st.datetimes(
    min_value=datetime(2026, 11, 29), max_value=datetime(2026, 12, 3), timezones=st.just(UTC)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(
        st.fixed_dictionaries(
            {
                "opted_out": st.booleans(),
                "consent": st.booleans(),
                "timezone": st.sampled_from(["Asia/Karachi", "Europe/London", "America/Toronto"]),
            }
        ),
        min_size=1,
        max_size=12,
    ),
    hours=st.tuples(st.integers(0, 23), st.integers(0, 23)).filter(lambda h: h[0] != h[1]),
    schedule=_times,
    rounds=st.lists(_times, min_size=1, max_size=6),
    late_opt_out=st.booleans(),
)
def test_never_an_opted_out_or_out_of_hours_recipient(
    sqlite_url: str,
    people: list[dict[str, Any]],
    hours: tuple[int, int],
    schedule: datetime,
    rounds: list[datetime],
    late_opt_out: bool,
) -> None:
    """Whatever the schedule, sending hours and the times the sender runs: a claimed message
    is to a consenting, not-opted-out number, inside its recipient's sending hours, and no
    recipient is claimed twice."""
    store = Store(sqlite_url.replace(".db", f"-{next(_examples)}.db"))
    add_supporters(store, people)
    start = f"{hours[0]:02d}:00"
    end = f"{hours[1]:02d}:00"
    start_campaign(
        store,
        schedule=schedule.strftime("%Y-%m-%d %H:%M+00:00"),
        send_from=start,
        send_until=end,
    )
    window = SendingHours.parse(start, end)
    seen: set[str] = set()
    for n, now in enumerate(sorted(rounds)):
        if late_opt_out and n == 1:  # an opt-out that arrives while the campaign runs
            with store.session() as session:
                first = session.scalars(select(Supporter).order_by(Supporter.id)).first()
                if first and session.get(OptOut, first.phone) is None:
                    session.add(OptOut(phone=first.phone, at=now, source="sms", detail="STOP"))
        with store.session() as session:
            opted_out = set(session.scalars(select(OptOut.phone)))
        for message in claim_all(store, now):
            person = people[int(message.phone[-5:])]
            assert message.phone not in opted_out
            assert person["consent"]
            assert window.open_at(local(now, message.timezone))
            assert now >= resolve(schedule.strftime("%Y-%m-%d %H:%M+00:00"), "UTC", None)
            assert message.phone not in seen
            seen.add(message.phone)
    store.dispose()


def test_per_sender_limit_counts_segments_in_the_period(store: Store) -> None:
    add_supporters(store, [{} for _ in range(5)])
    start_campaign(store)
    limited = (SenderLimit.parse("SIM1:3/15m"),)
    with store.session() as session:
        first = claim(session, T0, gateway="smpp", senders=limited, budget=100, limit=100)
    assert len(first) == 3
    with store.session() as session:
        assert claim(session, T0, gateway="smpp", senders=limited, budget=100, limit=100) == []
    later = T0 + timedelta(minutes=16)
    with store.session() as session:
        assert len(claim(session, later, gateway="smpp", senders=limited, budget=100, limit=9)) == 2


def test_sender_limits_are_read_clearly() -> None:
    assert SenderLimit.parse("+923001234567:200/15m") == SenderLimit(
        "+923001234567", 200, timedelta(minutes=15)
    )
    with pytest.raises(UserError, match="NAME:200/15m"):
        SenderLimit.parse("SIM1:200 per hour")


def test_results_move_rows_forward_only(store: Store) -> None:
    add_supporters(store, [{}, {}, {}, {}])
    start_campaign(store)
    a, b, c, d = claim_all(store, T0)
    with store.session() as session:
        # A receipt overtakes the sender's own bookkeeping for `a`.
        record_receipt(session, "smpp", Receipt("delivered", key=message_key(a.id)), T0)
        record_results(
            session,
            [
                SubmitResult(message_key(a.id), "accepted", "G-a"),
                SubmitResult(message_key(b.id), "retry", detail="throttled"),
                SubmitResult(message_key(c.id), "rejected", detail="invalid destination"),
                SubmitResult(message_key(d.id), "unknown"),
            ],
            T0,
            GRACE,
        )
        rows = {m.id: m for m in session.scalars(select(SmsMessage))}
    assert (rows[a.id].status, rows[a.id].gateway_id) == ("delivered", "G-a")
    assert (rows[b.id].status, rows[b.id].not_before) == ("queued", T0 + timedelta(seconds=15))
    assert (rows[c.id].status, rows[c.id].reason) == ("rejected", "invalid destination")
    assert (rows[d.id].status, rows[d.id].not_before) == ("unknown", T0 + GRACE)


def test_a_dead_senders_rows_are_settled_by_receipts_matched_on_recipient_and_text(
    store: Store,
) -> None:
    add_supporters(store, [{}, {}])
    start_campaign(store)
    first, second = claim_all(store, T0)
    with store.session() as session:
        assert in_flight_to_unknown(session, T0, GRACE) == 2
        # The SMSC took `first` before the sender died; its receipt names only the number.
        matched = record_receipt(
            session,
            "smpp",
            Receipt(
                "delivered", gateway_id="X1", recipient=first.phone, text_start=first.text[:20]
            ),
            T0,
        )
        rows = {m.id: m for m in session.scalars(select(SmsMessage))}
    assert matched
    assert rows[first.id].status == "delivered"
    assert rows[second.id].status == "unknown"


def test_stop_opts_out_once_and_is_confirmed_once_in_the_senders_language(store: Store) -> None:
    stop = Inbound(sender="+923001112222", to="8877", text="بند کریں", gateway_id="mo-1")
    with store.session() as session:
        assert record_inbound(session, "smpp", stop, T0) is not None
        assert record_inbound(session, "smpp", stop, T0) is None  # posted twice
        opt_out = session.get(OptOut, "+923001112222")
        replies = list(session.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")))
    assert opt_out is not None and opt_out.source == "sms"
    assert len(replies) == 1 and "START" in replies[0].text and replies[0].language == "ur"


def test_start_takes_back_the_numbers_own_opt_out_and_help_is_answered(store: Store) -> None:
    with store.session() as session:
        record_inbound(session, "rest", Inbound("+447911123456", "JALSA", "STOP", "a"), T0)
        record_inbound(session, "rest", Inbound("+447911123456", "JALSA", "start", "b"), T0)
        record_inbound(session, "rest", Inbound("+447911123456", "JALSA", "Help?", "c"), T0)
        record_inbound(session, "rest", Inbound("+447911123456", "JALSA", "see you", "d"), T0)
        assert session.get(OptOut, "+447911123456") is None
        texts = [m.text for m in session.scalars(select(SmsMessage).order_by(SmsMessage.id))]
    assert len(texts) == 3 and texts[2].startswith("Event reminders")


def test_a_reply_goes_out_at_night_and_to_an_opted_out_number(store: Store) -> None:
    night = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 01:00 in Karachi
    with store.session() as session:
        record_inbound(session, "smpp", Inbound("+923001112222", "8877", "STOP", "x"), night)
    assert [m.kind for m in claim_all(store, night)] == ["reply"]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("event-1h", datetime(2026, 12, 5, 14, 0, tzinfo=UTC)),
        ("event+15m", datetime(2026, 12, 5, 15, 15, tzinfo=UTC)),
        ("event-1d@18:00", datetime(2026, 12, 4, 13, 0, tzinfo=UTC)),
        ("event@08:00", datetime(2026, 12, 5, 3, 0, tzinfo=UTC)),
        ("2026-12-01 09:30", datetime(2026, 12, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_schedules_resolve(schedule: str, expected: datetime) -> None:
    start = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # 20:00 in Karachi
    assert resolve(schedule, "Asia/Karachi", start) == expected


@pytest.mark.parametrize("schedule", ["event", "event-1h@18:00", "tomorrow", "event-1w"])
def test_bad_schedules_say_how_to_write_them(schedule: str) -> None:
    with pytest.raises(UserError):
        resolve(schedule, "Asia/Karachi", datetime(2026, 12, 5, 15, 0, tzinfo=UTC))


def test_a_relative_schedule_needs_an_event(store: Store) -> None:
    with store.session() as session, pytest.raises(UserError, match="name the event"):
        create_campaign(session, CampaignSpec(name="x", texts={"en": "hi"}), None, now=T0)


def test_event_fields_are_filled_in_the_campaigns_zone(store: Store) -> None:
    with store.session() as session:
        event = Event(
            slug="jalsa",
            name="Jalsa Lahore",
            starts_at=datetime(2026, 12, 5, 15, 0, tzinfo=UTC),
            ends_at=datetime(2026, 12, 5, 18, 0, tzinfo=UTC),
            timezone="Asia/Karachi",
            hashtags=[],
            created_at=T0,
        )
        session.add(event)
        session.flush()
        event_id = event.id
    add_supporters(store, [{"name": "Ayesha Khan", "language": "en"}])
    start_campaign(
        store,
        event_id=event_id,
        schedule="event-1d@18:00",
        texts={"en": "Dear {first_name|friend}, {event} is at {event_time}."},
    )
    with store.session() as session:
        message = session.scalars(select(SmsMessage)).one()
    assert message.text == "Dear Ayesha, Jalsa Lahore is at 20:00."
    assert message.not_before == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)


def test_preview_counts_who_gets_what_and_leaves_the_campaign_usable(store: Store) -> None:
    add_supporters(
        store,
        [{"language": "en"}, {"language": "ur"}, {"opted_out": True}, {"consent": False}],
    )
    with store.session() as session:
        campaign = create_campaign(
            session,
            CampaignSpec(
                name="Preview",
                texts={"en": "Rally at 8, {first_name}", "ur": "جلسہ آٹھ بجے، " + "ی" * 70},
                schedule="2026-11-30 10:00",
            ),
            None,
            now=T0,
        )
        result = preview(session, campaign, price_per_segment=0.5, currency="PKR")
        schedule_campaign(session, campaign, T0)  # the same session, after the preview
        campaign_id = campaign.id
    assert (result.recipients, result.sendable, result.opted_out, result.no_consent) == (4, 2, 1, 1)
    assert result.encodings == {"GSM-7": 1, "UCS-2": 1}
    assert (result.segments, result.max_segments, result.cost) == (3, 2, 1.5)
    with store.session() as session:
        stored = session.get(Campaign, campaign_id)
        assert stored is not None and stored.status == "scheduled"


def test_a_key_names_a_row_only_in_its_own_spelling() -> None:
    """A gateway's key comes back in a callback: 'm¹' passed `isdigit()` and then made
    `int()` raise, and 'm99999999999' overflowed PostgreSQL's INTEGER."""
    assert message_id_of(message_key(42)) == 42
    for key in ["m¹", "m01", "m+1", "m 1", "m99999999999", "m", "", "42", "x42"]:
        assert message_id_of(key) is None, key


@pytest.mark.parametrize(
    "sender", ["9" * 300, "JALSA", "+92300", "x\ud800", "+447700900123"], ids=str.__len__
)
def test_an_inbound_message_whose_sender_is_not_a_mobile_is_refused(
    store: Store, sender: str
) -> None:
    with store.session() as session, pytest.raises(UserError, match="not a mobile"):
        record_inbound(session, "kannel", Inbound(sender, "8877", "HELP", "mo-x"), T0)
    with store.session() as session:
        assert session.scalars(select(SmsInbound)).first() is None
        assert session.scalars(select(SmsMessage)).first() is None


def test_numbers_as_gateways_write_them_are_one_sender(store: Store) -> None:
    with store.session() as session:
        for n, sender in enumerate(("923001112222", "00923001112222", "+92 300 1112222")):
            record_inbound(session, "kannel", Inbound(sender, "8877", "hi", f"mo-{n}"), T0)
        phones = set(session.scalars(select(SmsInbound.phone)))
    assert phones == {"+923001112222"}


def test_a_replayed_message_with_another_id_is_stored_once(store: Store) -> None:
    at = T0 - timedelta(minutes=1)
    with store.session() as session:
        first = Inbound("+923001112222", "8877", "STOP", "mo-1", received_at=at)
        assert record_inbound(session, "kannel", first, T0) is not None
        replayed = Inbound("+923001112222", "8877", "STOP", "forged-2", received_at=at)
        assert record_inbound(session, "kannel", replayed, T0) is None
        assert len(list(session.scalars(select(SmsInbound)))) == 1


def test_help_is_answered_once_per_number_in_the_interval(store: Store) -> None:
    limits = ReplyLimits(every=timedelta(minutes=60), per_hour=500)
    with store.session() as session:
        for n, minutes in enumerate((0, 10, 59, 61)):
            help_ = Inbound("+923001112222", "8877", "HELP", f"h{n}")
            record_inbound(session, "kannel", help_, T0 + timedelta(minutes=minutes), limits=limits)
        stop = Inbound("+923001112222", "8877", "STOP", "s1")  # another keyword: answered
        record_inbound(session, "kannel", stop, T0 + timedelta(minutes=62), limits=limits)
        again = Inbound("+923001112222", "8877", "STOP", "s2")
        record_inbound(session, "kannel", again, T0 + timedelta(minutes=63), limits=limits)
        replies = list(session.scalars(select(SmsMessage).order_by(SmsMessage.id)))
        assert len(list(session.scalars(select(SmsInbound)))) == 6  # every message is kept
        assert session.get(OptOut, "+923001112222") is not None  # the opt-out always applies
    assert [m.created_at - T0 for m in replies] == [
        timedelta(0),
        timedelta(minutes=61),
        timedelta(minutes=62),
    ]


def test_answers_for_all_numbers_are_capped_per_hour(store: Store) -> None:
    limits = ReplyLimits(every=timedelta(minutes=60), per_hour=3)
    with store.session() as session:
        for n in range(5):
            help_ = Inbound(f"+92300111{n:04d}", "8877", "HELP", f"h{n}")
            record_inbound(session, "kannel", help_, T0 + timedelta(seconds=n), limits=limits)
        later = Inbound("+923009990000", "8877", "HELP", "late")
        record_inbound(session, "kannel", later, T0 + timedelta(minutes=61), limits=limits)
        replies = list(session.scalars(select(SmsMessage.phone).order_by(SmsMessage.id)))
    assert replies == ["+923001110000", "+923001110001", "+923001110002", "+923009990000"]
