"""The web app's SMS gateway callbacks: signed receipts and inbound messages are recorded;
unsigned or forged ones are refused and change nothing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from jalsa.config import Settings, load_settings
from jalsa.mobilize.gateways import callback_secret
from jalsa.mobilize.gateways.kannel import dlr_url, kannel_inbound_url
from jalsa.mobilize.gateways.rest import signature
from jalsa.mobilize.outbox import message_key
from jalsa.store import Store
from jalsa.store.models import OptOut, SmsMessage
from jalsa.timeutil import utc_now
from jalsa.web.app import create_app

PUBLIC = "https://jalsa.example.org"
TOKEN = "rest-auth-token-0123456789"


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        sms_callback_url=PUBLIC,
        sms_password=SecretStr(TOKEN),
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
            phone="+923001234567",
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


def test_a_signed_kannel_receipt_is_recorded_and_a_forged_one_refused(
    settings: Settings, client: TestClient
) -> None:
    message_id = a_message(settings, "kannel")
    url = dlr_url(PUBLIC, callback_secret(settings), message_key(message_id))
    forged = url.replace("sig=", "sig=0")
    fill = {"%d": "1", "%A": "ok", "%T": "1764000000", "%p": "%2B923001234567", "%I": "x"}
    for escape, value in fill.items():
        url, forged = url.replace(escape, value), forged.replace(escape, value)
    assert client.get(local(forged)).status_code == 403
    assert status_of(settings, message_id) == "sending"
    answer = client.get(local(url))
    assert answer.status_code == 200 and answer.text == "ok"
    assert status_of(settings, message_id) == "delivered"


def test_a_kannel_stop_opts_the_number_out(settings: Settings, client: TestClient) -> None:
    url = kannel_inbound_url(PUBLIC, callback_secret(settings))
    for escape, value in {
        "%p": "%2B923009998888",
        "%P": "8877",
        "%b": "STOP",
        "%I": "mo-1",
        "%t": "",
        "%T": "",
        "%c": "0",
        "%C": "UTF-8",
    }.items():
        url = url.replace(escape, value)
    assert client.get(local(url)).status_code == 200
    with Store(settings.effective_database_url).session() as session:
        assert session.get(OptOut, "+923009998888") is not None


def test_rest_callbacks_need_the_apis_signature(settings: Settings, client: TestClient) -> None:
    message_id = a_message(settings, "rest")
    path = f"/api/sms/receipts/rest?key={message_key(message_id)}"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+923001234567"}
    good = signature(PUBLIC + path, form, TOKEN)
    assert (
        client.post(path, data=form, headers={"X-Twilio-Signature": "x" + good}).status_code == 403
    )
    assert client.post(path, data=form).status_code == 403
    assert status_of(settings, message_id) == "sending"
    assert client.post(path, data=form, headers={"X-Twilio-Signature": good}).status_code == 200
    assert status_of(settings, message_id) == "delivered"

    inbound = {"From": "+447700900123", "To": "JALSA", "Body": "stop", "MessageSid": "SM9"}
    sig = signature(PUBLIC + "/api/sms/inbound/rest", inbound, TOKEN)
    answer = client.post("/api/sms/inbound/rest", data=inbound, headers={"X-Twilio-Signature": sig})
    assert answer.status_code == 200
    with Store(settings.effective_database_url).session() as session:
        assert session.get(OptOut, "+447700900123") is not None
        assert session.scalars(select(SmsMessage).where(SmsMessage.kind == "reply")).one()
