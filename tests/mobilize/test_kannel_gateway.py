"""The Kannel gateway against a real bearerbox, smsbox and fake SMSC: texts arrive intact (Urdu
too), delivery reports and a supporter's message come back to the callbacks and parse (each
report with the signature of its own message, as Kannel filled in its dlr-url), and Kannel's
refusals become the right outcomes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import Handlers, OutgoingSms
from jalsa.mobilize.gateways.callbacks import BadSignature, CallbackKeys
from jalsa.mobilize.gateways.kannel import (
    RECEIPT_PATH,
    KannelGateway,
    dlr_url,
    inbound_from_kannel,
    kannel_inbound_url,
    receipt_from_kannel,
)
from jalsa.timeutil import utc_now
from mobilize.kannel import Kannel, Receiver, wait_for

pytestmark = pytest.mark.integration

SECRET = "callback-secret"
TOKEN = "inbound-token-0123456789abcdef"
KEYS = CallbackKeys(secrets=(SECRET,), inbound_tokens=(TOKEN,))
URDU = "جلسہ آج شام پانچ بجے، لبرٹی چوک"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Kannel]:
    running = Kannel(tmp_path_factory.mktemp("kannel"), kannel_inbound_url(receiver.url, TOKEN))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def gateway(kannel: Kannel, receiver: Receiver) -> Iterator[KannelGateway]:
    with KannelGateway(
        kannel.sendsms_url,
        kannel.username,
        kannel.password,
        callback_url=receiver.url,
        secret=SECRET,
        window=4,
    ) as opened:
        opened.open(Handlers())
        yield opened


def arrived(kannel: Kannel, text: str) -> tuple[str, str, str]:
    return wait_for(
        f"{text!r} at the fake SMSC",
        lambda: next((m for m in kannel.delivered() if m[2] == text), None),
        timeout=10,
    )


def test_ascii_and_urdu_texts_reach_the_smsc_intact(kannel: Kannel, gateway: KannelGateway) -> None:
    ascii_text = "Rally at 5pm,  Liberty Chowk [bring flags]"
    results = gateway.submit(
        [
            OutgoingSms("k-ascii", "+923001234567", ascii_text, "JALSA"),
            OutgoingSms("k-urdu", "+923001234568", URDU, "8585"),
        ]
    )
    assert [(r.key, r.outcome, r.gateway_id) for r in results] == [
        ("k-ascii", "accepted", "k-ascii"),
        ("k-urdu", "accepted", "k-urdu"),
    ]
    assert results[0].detail == "0: Accepted for delivery"
    assert arrived(kannel, ascii_text) == ("JALSA", "+923001234567", ascii_text)
    assert arrived(kannel, URDU) == ("8585", "+923001234568", URDU)
    # GSM text goes as 7-bit text, Urdu as UCS-2: what fakesmsc printed says which
    log = kannel.fake_log.read_text()
    assert "+923001234568 ucs-2 " in log


def test_delivery_reports_reach_the_callback_and_name_our_key(
    gateway: KannelGateway, receiver: Receiver
) -> None:
    key = "campaign-7/msg 42"  # a key with characters Kannel's dlr-url cannot carry as they are
    [result] = gateway.submit([OutgoingSms(key, "+923001230000", "Thanks for joining", "JALSA")])
    assert result.outcome == "accepted"
    # fakesmsc reports "delivered to SMSC" (8) when it takes the message, then "delivered" (1)
    receipts = []
    for dlr_type in ("8", "1"):
        params = receiver.take(RECEIPT_PATH, type=dlr_type, to="+923001230000")
        receipts.append(receipt_from_kannel(params, KEYS, utc_now()))
    assert [r.state for r in receipts] == ["accepted", "delivered"]
    assert {(r.key, r.gateway_id, r.recipient) for r in receipts} == {(key, key, "+923001230000")}
    assert all(r.at is not None for r in receipts)
    # The URL Kannel called is good for this message and number only, and only for a while.
    with pytest.raises(BadSignature, match="signature"):
        receipt_from_kannel({**params, "to": "+923001230001"}, KEYS, utc_now())
    with pytest.raises(BadSignature, match="signature"):
        receipt_from_kannel({**params, "key": "m1"}, KEYS, utc_now())
    with pytest.raises(BadSignature, match="too long ago"):
        receipt_from_kannel(params, KEYS, utc_now() + timedelta(hours=73))


def test_a_supporters_message_reaches_the_get_url_intact(
    kannel: Kannel, receiver: Receiver
) -> None:
    reply = "ہاں،  میں آؤں گا"  # Urdu, with a double space that %a would squeeze
    kannel.inject_mo("+923331112222", "8585", reply)
    params = receiver.take("/api/sms/inbound/kannel", timeout=10)
    assert params["token"] == TOKEN and "sig" not in params
    inbound = inbound_from_kannel(params, KEYS, utc_now())
    assert (inbound.sender, inbound.to, inbound.text) == ("+923331112222", "8585", reply)
    assert inbound.received_at is not None
    assert len(inbound.gateway_id) == 36  # bearerbox's UUID for the message

    kannel.inject_mo("+923331112222", "8585", "STOP")
    again = inbound_from_kannel(
        receiver.take("/api/sms/inbound/kannel", timeout=10), KEYS, utc_now()
    )
    assert again.text == "STOP"
    assert again.gateway_id != inbound.gateway_id


def test_a_wrong_sendsms_password_is_a_user_error_without_the_password(
    kannel: Kannel,
) -> None:
    wrong = "not-the-password"
    with (
        KannelGateway(
            kannel.sendsms_url, kannel.username, wrong, callback_url=None, secret=SECRET
        ) as gateway,
        pytest.raises(UserError, match="sendsms user 'jalsa'") as refused,
    ):
        gateway.submit([OutgoingSms("k-auth", "+923001234567", "hello", "JALSA")])
    assert wrong not in str(refused.value)
    assert wrong not in repr(gateway)


def test_a_number_kannel_refuses_is_rejected(gateway: KannelGateway) -> None:
    [result] = gateway.submit([OutgoingSms("k-bad", "not-a-number", "hello", "JALSA")])
    assert result.outcome == "rejected"
    assert result.detail.startswith("400 ")


def signed_dlr(key: str, to: str, sent_at: int, **fields: str) -> dict[str, str]:
    """The query Kannel makes of the dlr-url for `key`, with `fields` for its escapes."""
    url = dlr_url("http://app", SECRET, key, to, sent_at)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    return {**{k: v for k, v in query.items() if not v.startswith("%")}, "to": to, **fields}


def test_callbacks_with_a_bad_signature_are_refused() -> None:
    now = int(utc_now().timestamp())
    good = signed_dlr("k1", "+923001234567", now, type="1")
    assert receipt_from_kannel(good, KEYS, utc_now()).state == "delivered"
    assert receipt_from_kannel({**good, "to": "923001234567"}, KEYS, utc_now()).key == "k1"
    for forged in ({"key": "k2"}, {"to": "+923001234568"}, {"ts": str(now + 1)}, {"sig": ""}):
        with pytest.raises(BadSignature):
            receipt_from_kannel({**good, **forged}, KEYS, utc_now())
    with pytest.raises(BadSignature, match="signature"):
        receipt_from_kannel(good, CallbackKeys(secrets=("another-secret",)), utc_now())
    rotated = CallbackKeys(secrets=("new-secret", SECRET))  # the previous one still verifies
    assert receipt_from_kannel(good, rotated, utc_now()).state == "delivered"
    inbound = {"from": "+923001234567", "text": "STOP", "at": str(now), "id": "x"}
    with pytest.raises(BadSignature, match="token"):
        inbound_from_kannel({**inbound, "token": "0" * 30}, KEYS, utc_now())
    with pytest.raises(BadSignature, match="JALSA_SMS_INBOUND_TOKEN"):
        inbound_from_kannel({**inbound, "token": TOKEN}, CallbackKeys(("s",)), utc_now())
    with pytest.raises(BadSignature, match="too long ago"):
        stale = {**inbound, "token": TOKEN, "at": str(now - 25 * 3600)}
        inbound_from_kannel(stale, KEYS, utc_now())
    with pytest.raises(BadSignature, match="no time"):
        inbound_from_kannel({**inbound, "token": TOKEN, "at": ""}, KEYS, utc_now())


def test_dlr_types_map_to_receipt_states() -> None:
    now = int(utc_now().timestamp())
    states = {
        t: receipt_from_kannel(signed_dlr("k9", "+92300", now, type=t, reply="x"), KEYS, utc_now())
        for t in ("1", "2", "4", "8", "16", "")
    }
    assert {t: r.state for t, r in states.items()} == {
        "1": "delivered",
        "2": "failed",
        "4": "accepted",
        "8": "accepted",
        "16": "rejected",
        "": "unknown",
    }
    assert states["2"].error == "x" and states["1"].error == ""


def test_an_unrecoded_ucs2_text_is_refused_with_the_fix() -> None:
    at = str(int(utc_now().timestamp()))
    params = {"token": TOKEN, "from": "+92300", "to": "8585", "text": "\x06", "coding": "2"}
    with pytest.raises(UserError, match="mo-recode"):
        inbound_from_kannel({**params, "at": at}, KEYS, utc_now())


def test_no_smsbox_is_retry_and_no_answer_is_unknown() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = KannelGateway(
        f"http://127.0.0.1:{port}/cgi-bin/sendsms", "u", "p", callback_url=None, secret=SECRET
    )
    [result] = refused.submit([OutgoingSms("k-down", "+923001234567", "hi", "J")])
    assert result.outcome == "retry"

    # A server that takes the request and never answers: the message may have been taken.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    mute = KannelGateway(
        f"http://127.0.0.1:{silent.getsockname()[1]}/cgi-bin/sendsms",
        "u",
        "p",
        callback_url=None,
        secret=SECRET,
        timeout=0.5,
    )
    try:
        [result] = mute.submit([OutgoingSms("k-mute", "+923001234567", "hi", "J")])
    finally:
        for conn in held:
            conn.close()
        silent.close()
        mute.close()
        refused.close()
    assert result.outcome == "unknown"


def test_the_readme_shows_the_get_url_jalsa_reads() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert kannel_inbound_url("https://jalsa.example.org", "TOKEN") in readme
