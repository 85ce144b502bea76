"""The web app's SMS gateway callbacks: signed receipts and inbound messages are recorded;
unsigned, forged, stale or malformed ones are refused and change nothing (docs/decisions.md
§31)."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from jalsa.config import Settings, load_settings
from jalsa.mobilize.gateways import callback_secret
from jalsa.mobilize.gateways.callbacks import receipt_signature
from jalsa.mobilize.gateways.kannel import dlr_url, kannel_inbound_url
from jalsa.mobilize.gateways.rest import signature
from jalsa.mobilize.outbox import message_key
from jalsa.store import Store
from jalsa.store.models import OptOut, SmsInbound, SmsMessage
from jalsa.timeutil import utc_now
from jalsa.web.app import create_app

PUBLIC = "https://jalsa.example.org"
TOKEN = "rest-auth-token-0123456789"
INBOUND_TOKEN = "kannel-inbound-0123456789abcdef"
PHONE = "+923001234567"


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        sms_callback_url=PUBLIC,
        sms_password=SecretStr(TOKEN),
        sms_inbound_token=SecretStr(INBOUND_TOKEN),
    )


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(Store(settings.effective_database_url), settings))


def a_message(settings: Settings, gateway: str) -> int:
    store = Store(settings.effective_database_url)
    now = utc_now()
    with store.session() as session:
        message = SmsMessage(
            kind="campaign",
            phone=PHONE,
            language="en",
            timezone="Asia/Karachi",
            text="Rally at 8",
            encoding="GSM-7",
            segments=1,
            status="sending",
            attempts=1,
            gateway=gateway,
            created_at=now,
            updated_at=now,
        )
        session.add(message)
        session.flush()
        return message.id


def status_of(settings: Settings, message_id: int) -> str:
    with Store(settings.effective_database_url).session() as session:
        message = session.get(SmsMessage, message_id)
        assert message is not None
        return message.status


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def filled(url: str, values: dict[str, str]) -> str:
    """The URL as Kannel calls it: each escape replaced by its (URL-encoded) value."""
    for escape, value in values.items():
        url = url.replace(escape, quote(value, safe=""))
    return local(url)


def report(url: str, to: str = PHONE) -> str:
    return filled(url, {"%d": "1", "%A": "ok", "%T": str(int(time.time())), "%p": to})


def test_a_kannel_report_is_good_for_its_own_message_only(
    settings: Settings, client: TestClient
) -> None:
    secret, now = callback_secret(settings), int(time.time())
    mine, other = a_message(settings, "kannel"), a_message(settings, "kannel")
    url = dlr_url(PUBLIC, secret, message_key(mine), PHONE, now)
    # The old scheme signed the key alone: that signature is worth nothing now.
    old_sig = hmac.new(secret.encode(), f"dlr:{message_key(other)}".encode(), hashlib.sha256)
    old = f"/api/sms/receipts/kannel?key={message_key(other)}&sig={old_sig.hexdigest()}&type=1"
    forged = [
        old,
        report(url.replace(message_key(mine), message_key(other))),  # another message's key
        report(url, to="+923001234568"),  # another number
        report(url.replace(f"ts={now}", f"ts={now + 60}")),  # another time
        report(dlr_url(PUBLIC, secret, message_key(mine), PHONE, now - 73 * 3600)),  # too old
        report(url.replace("sig=", "sig=0")),
    ]
    for attempt in forged:
        assert client.get(attempt).status_code == 403, attempt
    assert status_of(settings, mine) == status_of(settings, other) == "sending"
    answer = client.get(report(url))
    assert answer.status_code == 200 and answer.text == "ok"
    assert (status_of(settings, mine), status_of(settings, other)) == ("delivered", "sending")


def inbound(text: str, sender: str = "+923009998888", mo_id: str = "mo-1", **more: str) -> str:
    values = {"%p": sender, "%P": "8877", "%b": text, "%I": mo_id, "%T": str(int(time.time()))}
    values |= {"%c": "0", "%C": "UTF-8", **more}
    return filled(kannel_inbound_url(PUBLIC, INBOUND_TOKEN), values)


def test_a_kannel_stop_opts_the_number_out(settings: Settings, client: TestClient) -> None:
    assert client.get(inbound("STOP")).status_code == 200
    with Store(settings.effective_database_url).session() as session:
        assert session.get(OptOut, "+923009998888") is not None


def inbound_rows(settings: Settings) -> list[SmsInbound]:
    with Store(settings.effective_database_url).session() as session:
        return list(session.scalars(select(SmsInbound)))


def test_a_forged_kannel_message_is_refused_and_changes_nothing(
    settings: Settings, client: TestClient
) -> None:
    # The get-url used to carry an HMAC of the constant "inbound": seen once, good forever.
    secret = callback_secret(settings)
    constant = hmac.new(secret.encode(), b"inbound", hashlib.sha256).hexdigest()
    stale = str(int(time.time()) - 25 * 3600)
    refused = {
        inbound("STOP").replace(INBOUND_TOKEN, constant): 403,
        inbound("STOP").replace(f"token={INBOUND_TOKEN}&", ""): 403,
        inbound("STOP", **{"%T": stale}): 403,  # older than the inbound window
        inbound("STOP", **{"%T": ""}): 403,
        inbound("HELP", sender="9" * 300): 400,  # stored into a 20-character column before
        inbound("HELP", sender="JALSA"): 400,
        inbound("HELP", mo_id="x" * 101): 400,
    }
    for url, status in refused.items():
        assert client.get(url).status_code == status, url
    assert inbound_rows(settings) == []
    with Store(settings.effective_database_url).session() as session:
        assert session.scalars(select(SmsMessage)).first() is None


def test_kannel_replays_and_help_floods_cost_one_answer(
    settings: Settings, client: TestClient
) -> None:
    at = str(int(time.time()) - 60)
    first = inbound("HELP", mo_id="mo-1", **{"%T": at})
    assert client.get(first).status_code == 200
    assert client.get(first).status_code == 200  # smsbox retried: stored once
    assert client.get(inbound("HELP", mo_id="forged", **{"%T": at})).status_code == 200
    for n in range(5):  # later, forged or not: no more answers to this number
        later = {"%T": str(int(at) + n + 1)}
        assert client.get(inbound("help", mo_id=f"h{n}", **later)).status_code == 200
    with Store(settings.effective_database_url).session() as session:
        replies = list(session.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")))
    assert len(inbound_rows(settings)) == 6 and len(replies) == 1


@pytest.mark.parametrize(
    ("allow", "status"), [(["10.0.0.0/8"], 403), (["192.0.2.0/24", "10.0.0.5"], 200), ([], 200)]
)
def test_kannel_callbacks_can_be_limited_to_kannels_address(
    tmp_path: Path, sqlite_url: str, allow: list[str], status: int
) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        sms_callback_url=PUBLIC,
        sms_inbound_token=SecretStr(INBOUND_TOKEN),
        sms_callback_allow=allow,
    )
    app = create_app(Store(settings.effective_database_url), settings)
    client = TestClient(app, client=("192.0.2.7", 40000))  # Kannel's host
    answer = client.get(inbound("STOP"))
    assert answer.status_code == status
    assert status == 200 or "JALSA_SMS_CALLBACK_ALLOW" in answer.text


def rest_callback(message_id: int, sent_at: int, secret: str, to: str = PHONE) -> str:
    key = message_key(message_id)
    sig = receipt_signature(secret, "rest", key, to, sent_at)
    return f"/api/sms/receipts/rest?key={key}&ts={sent_at}&sig={sig}"


def test_rest_callbacks_need_the_apis_signature_and_ours(
    settings: Settings, client: TestClient
) -> None:
    message_id, now = a_message(settings, "rest"), int(time.time())
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": PHONE}

    def post(path: str, sig: str | None = None) -> int:
        signed = signature(PUBLIC + path, form, TOKEN) if sig is None else sig
        return client.post(path, data=form, headers={"X-Twilio-Signature": signed}).status_code

    path = rest_callback(message_id, now, callback_secret(settings))
    assert post(path, "x" + signature(PUBLIC + path, form, TOKEN)) == 403
    assert post(path, "") == 403
    # Signed by the API but not about a message we sent: the old URL (key alone), another
    # message's URL, a URL from before the receipt window.
    other = a_message(settings, "rest")
    assert post(f"/api/sms/receipts/rest?key={message_key(message_id)}") == 403
    assert post(rest_callback(other, now, callback_secret(settings)).replace(
        message_key(other), message_key(message_id))) == 403  # fmt: skip
    assert post(rest_callback(message_id, now - 73 * 3600, callback_secret(settings))) == 403
    assert status_of(settings, message_id) == "sending"
    assert post(path) == 200
    assert status_of(settings, message_id) == "delivered"

    inbound = {"From": "+447911123456", "To": "JALSA", "Body": "stop", "MessageSid": "SM9"}
    sig = signature(PUBLIC + "/api/sms/inbound/rest", inbound, TOKEN)
    answer = client.post("/api/sms/inbound/rest", data=inbound, headers={"X-Twilio-Signature": sig})
    assert answer.status_code == 200
    with Store(settings.effective_database_url).session() as session:
        assert session.get(OptOut, "+447911123456") is not None
        assert session.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")).one()
    long_from = {**inbound, "From": "4" * 300, "MessageSid": "SM10"}
    sig = signature(PUBLIC + "/api/sms/inbound/rest", long_from, TOKEN)
    answer = client.post(
        "/api/sms/inbound/rest", data=long_from, headers={"X-Twilio-Signature": sig}
    )
    assert answer.status_code == 400 and "not a mobile" in answer.text
