"""The Twilio-style REST gateway against the API simulator on a real HTTP server: sends, status
callbacks that verify and parse, refusals, throttling, lookup of an "unknown" submission, and
the signature scheme checked against Twilio's published example."""

from __future__ import annotations

import http.server
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import Handlers, OutgoingSms
from jalsa.mobilize.gateways.callbacks import BadSignature, CallbackKeys, receipt_signature
from jalsa.mobilize.gateways.rest import (
    RestGateway,
    inbound_from_rest,
    receipt_from_rest,
    signature,
    verify_signature,
)
from jalsa.sim.sms_rest import RunningSim, SmsRestSim
from jalsa.timeutil import utc_now

pytestmark = pytest.mark.integration

URDU = "جلسہ آج شام پانچ بجے، لبرٹی چوک"
SECRET = "callback-secret"
KEYS = CallbackKeys(secrets=(SECRET,))


class FormReceiver:
    """The web app's stand-in for POSTed callbacks: records (url, form fields, signature)."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, dict[str, str], str]] = queue.Queue()
        posts = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                url = f"{receiver.url}{self.path}"
                posts.put((url, dict(parse_qsl(body)), self.headers["X-Twilio-Signature"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        receiver = self
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, timeout: float = 5.0) -> tuple[str, dict[str, str], str]:
        return self.posts.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[FormReceiver]:
    server = FormReceiver()
    yield server
    server.close()


@pytest.fixture
def sim(receiver: FormReceiver) -> Iterator[tuple[SmsRestSim, str]]:
    state = SmsRestSim(step_delay=0.02, inbound_url=f"{receiver.url}/api/sms/inbound/rest")
    with RunningSim(state) as running:
        yield state, running.url


@pytest.fixture
def gateway(sim: tuple[SmsRestSim, str], receiver: FormReceiver) -> Iterator[RestGateway]:
    state, url = sim
    with RestGateway(
        url,
        state.account_sid,
        state.auth_token,
        callback_url=receiver.url,
        secret=SECRET,
        window=3,
    ) as opened:
        opened.open(Handlers())
        yield opened


def test_a_send_is_accepted_with_the_sid_and_urdu_intact(
    sim: tuple[SmsRestSim, str], gateway: RestGateway
) -> None:
    state, _ = sim
    results = gateway.submit(
        [
            OutgoingSms("r-1", "+923001234567", "Rally at 5pm", "+15005550006"),
            OutgoingSms("r-2", "+923001234568", URDU, "JALSA"),
        ]
    )
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    assert all(r.gateway_id and r.gateway_id.startswith("SM") for r in results)
    stored = state.messages[results[1].gateway_id or ""]
    assert (stored.to, stored.from_, stored.body) == ("+923001234568", "JALSA", URDU)


def test_status_callbacks_verify_and_parse(
    sim: tuple[SmsRestSim, str], gateway: RestGateway, receiver: FormReceiver
) -> None:
    state, _ = sim
    state.undeliverable.add("+923009999999")
    sent = gateway.submit(
        [
            OutgoingSms("r-ok", "+923001234567", "hello", "JALSA"),
            OutgoingSms("r-lost", "+923009999999", "hello", "JALSA"),
        ]
    )
    sids = {r.key: r.gateway_id for r in sent}
    finals = {}
    for _ in range(6):  # queued, sent and a final status for each message
        url, fields, signed = receiver.take()
        assert verify_signature(url, fields, signed, state.auth_token)
        assert not verify_signature(url, {**fields, "To": "+1"}, signed, state.auth_token)
        assert not verify_signature(url, fields, signed, "wrong-token")
        query = dict(parse_qsl(url.split("?", 1)[1]))  # key, ts, sig: ours, per message
        key = query["key"]
        receipt = receipt_from_rest(fields, query, KEYS, utc_now())
        with pytest.raises(BadSignature, match="signature"):  # another message's URL
            receipt_from_rest({**fields, "To": "+923001230000"}, query, KEYS, utc_now())
        with pytest.raises(BadSignature, match="too long ago"):  # replayed after the window
            receipt_from_rest(fields, query, KEYS, utc_now() + timedelta(hours=73))
        assert receipt.gateway_id == sids[key]
        if receipt.state != "accepted":
            finals[key] = receipt
    assert finals["r-ok"].state == "delivered"
    assert finals["r-ok"].recipient == "+923001234567"
    assert (finals["r-lost"].state, finals["r-lost"].error) == ("failed", "30003 (undelivered)")


def test_invalid_and_unsubscribed_numbers_are_rejected_saying_why(
    sim: tuple[SmsRestSim, str], gateway: RestGateway
) -> None:
    state, _ = sim
    state.refuse["+923007777777"] = 21610
    results = gateway.submit(
        [
            OutgoingSms("r-bad", "0300-1234567", "hello", "JALSA"),
            OutgoingSms("r-stop", "+923007777777", "hello", "JALSA"),
        ]
    )
    assert [r.outcome for r in results] == ["rejected", "rejected"]
    assert "21211" in results[0].detail and "invalid number" in results[0].detail
    assert "21610" in results[1].detail and "unsubscribed" in results[1].detail


def test_throttling_is_retry_and_the_rest_of_the_batch_waits(
    sim: tuple[SmsRestSim, str], receiver: FormReceiver
) -> None:
    state, url = sim
    state.throttle_next, state.retry_after = 1, 7
    with RestGateway(url, state.account_sid, state.auth_token, callback_url=None, window=1) as gw:
        batch = [OutgoingSms(f"r-t{i}", "+923001234567", f"m{i}", "JALSA") for i in range(3)]
        results = gw.submit(batch)
        assert [r.outcome for r in results] == ["retry", "retry", "retry"]
        assert "429" in results[0].detail and "Retry-After 7" in results[0].detail
        assert not state.messages  # nothing was sent twice later: nothing was sent
        assert [r.outcome for r in gw.submit(batch[:1])] == ["accepted"]


def test_wrong_credentials_are_a_user_error_without_the_token(
    sim: tuple[SmsRestSim, str],
) -> None:
    state, url = sim
    with (
        RestGateway(url, state.account_sid, "wrong-token", callback_url=None) as gateway,
        pytest.raises(UserError, match="account SID and auth token") as refused,
    ):
        gateway.submit([OutgoingSms("r-auth", "+923001234567", "hello", "JALSA")])
    assert "wrong-token" not in str(refused.value) + repr(gateway)


def test_lookup_finds_a_sent_message_across_pages(sim: tuple[SmsRestSim, str]) -> None:
    state, url = sim
    gateway = RestGateway(url, state.account_sid, state.auth_token, callback_url=None)
    since = datetime.now(UTC) - timedelta(seconds=5)
    target = OutgoingSms("r-unknown", "+923001234567", URDU, "JALSA")
    others = [OutgoingSms(f"r-o{i}", target.to, f"other {i}", "JALSA") for i in range(120)]
    [sent] = gateway.submit([target])
    gateway.submit(others)  # newer, so the target is on the second page of 100

    deadline = time.monotonic() + 10
    while not all(m.sent for m in state.messages.values()):
        assert time.monotonic() < deadline, "the simulator did not send the messages"
        time.sleep(0.05)
    assert gateway.lookup(target, since) == sent.gateway_id
    assert gateway.lookup(OutgoingSms("r-none", target.to, "never sent", "J"), since) is None
    assert gateway.lookup(target, datetime.now(UTC) + timedelta(days=1)) is None
    gateway.close()


def test_a_supporters_message_arrives_signed_and_parses(
    sim: tuple[SmsRestSim, str], receiver: FormReceiver
) -> None:
    state, _ = sim
    posted = state.send_inbound("+923331112222", "+15005550006", "ہاں،  میں آؤں گا")
    url, fields, signed = receiver.take()
    assert url.endswith("/api/sms/inbound/rest")
    assert verify_signature(url, fields, signed, state.auth_token)
    inbound = inbound_from_rest(fields)
    assert (inbound.sender, inbound.to, inbound.text) == (
        "+923331112222",
        "+15005550006",
        "ہاں،  میں آؤں گا",
    )
    assert inbound.gateway_id == posted["MessageSid"]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        # The example in Twilio's webhook security guide.
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        # The vector in Twilio's SDKs' RequestValidator tests (twilio-php, twilio-csharp).
        ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ],
)
def test_signature_matches_twilios_published_examples(caller: str, expected: str) -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": caller,
        "Digits": "1234",
        "From": caller,
        "To": "+18005551212",
    }
    assert signature(url, params, "12345") == expected
    assert verify_signature(url, params, expected, "12345")
    assert not verify_signature(url + "&x=1", params, expected, "12345")


def test_receipt_states_map_from_statuses() -> None:
    now = int(utc_now().timestamp())
    sig = receipt_signature(SECRET, "rest", "m1", "+923001234567", now)
    query = {"key": "m1", "ts": str(now), "sig": sig}
    fields = {"MessageSid": "SM1", "To": "+923001234567"}
    states = {
        status: receipt_from_rest({**fields, "MessageStatus": status}, query, KEYS, utc_now()).state
        for status in ("queued", "sent", "delivered", "undelivered", "failed", "weird")
    }
    assert states == {
        "queued": "accepted",
        "sent": "accepted",
        "delivered": "delivered",
        "undelivered": "failed",
        "failed": "failed",
        "weird": "unknown",
    }
