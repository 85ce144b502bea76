"""The SMPP gateway against the SMSC simulator on loopback: two independent SMPP 3.4
implementations (smpplib in the gateway, smpp34 in the simulator) checking each other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import Handlers, Inbound, OutgoingSms, Receipt
from jalsa.mobilize.gateways.smpp import SmppGateway
from jalsa.mobilize.gateways.smpp_codec import parse_receipt, source_address
from jalsa.sim.smsc import Smsc

PASSWORD = "s3cret"
URDU = (
    "ہم سب مل کر جلسے میں شریک ہوں گے، آپ بھی ضرور آئیں اور اپنے دوستوں کو بھی ساتھ لائیں۔"
    " جلسہ شام سات بجے شروع ہوگا۔"
)


class Collected:
    """What the gateway handed over on its own, with a way to wait for it."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound: list[Inbound] = []
        self.handlers = Handlers(on_receipt=self.receipts.append, on_inbound=self.inbound.append)


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def sms(
    n: int, to: str = "+923001234567", text: str = "Rally today at 5 pm", sender: str = "JALSA"
):
    return OutgoingSms(key=f"k{n}", to=to, text=text, sender=sender)


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    with Smsc(password=PASSWORD, receipt_delay=0.05) as running:
        yield running


def gateway(smsc: Smsc, collected: Collected | None = None, **options) -> SmppGateway:
    gw = SmppGateway("127.0.0.1", smsc.port, "jalsa", PASSWORD, **options)
    gw.open((collected or Collected()).handlers)
    return gw


def test_ascii_and_urdu_arrive_intact(smsc: Smsc) -> None:
    with gateway(smsc) as gw:
        results = gw.submit(
            [sms(1, text="Jalsa @ Liberty Chowk, 5 pm {bring a friend}"), sms(2, text=URDU)]
        )
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    ascii_msg, urdu_msg = smsc.messages
    assert ascii_msg.text == "Jalsa @ Liberty Chowk, 5 pm {bring a friend}"
    assert ascii_msg.data_coding == 0 and ascii_msg.parts == 1
    assert urdu_msg.text == URDU
    assert urdu_msg.data_coding == 8 and urdu_msg.parts == 2
    assert results[1].gateway_id == urdu_msg.part_ids[0]
    assert gw.part_ids(urdu_msg.part_ids[0]) == list(urdu_msg.part_ids)
    assert ascii_msg.destination == "923001234567" and ascii_msg.source == "JALSA"


def test_long_texts_are_cut_between_characters(smsc: Smsc) -> None:
    """A cut every 153 septets or 134 bytes would split an escape pair or an emoji."""
    escapes = "a" + "€" * 100  # 201 septets, each € an escape pair
    emoji = "a" + "😀" * 40  # surrogate pairs in UCS-2
    with gateway(smsc) as gw:
        results = gw.submit([sms(1, text=escapes), sms(2, text=emoji)])
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    assert [(m.text, m.parts) for m in smsc.messages] == [(escapes, 2), (emoji, 2)]


def test_source_address_types() -> None:
    assert source_address("JALSA") == ("JALSA", 5, 0)
    assert source_address("+923009999999") == ("923009999999", 1, 1)
    assert source_address("8100") == ("8100", 3, 0)


def test_window_is_respected_and_pipelined() -> None:
    with Smsc(password=PASSWORD, response_delay=0.03) as slow, gateway(slow, window=4) as gw:
        results = gw.submit([sms(n) for n in range(40)])
    assert all(r.outcome == "accepted" for r in results)
    assert [r.key for r in results] == [f"k{n}" for n in range(40)]
    assert slow.stats.max_outstanding == 4  # never more than the window, and it was filled


def test_receipts_reach_on_receipt(smsc: Smsc) -> None:
    smsc.fail_numbers = {"923001111111"}
    collected = Collected()
    with gateway(smsc, collected) as gw:
        ok, failed, long = gw.submit(
            [sms(1), sms(2, to="+923001111111"), sms(3, to="+923002222222", text=URDU)]
        )
        assert wait_until(lambda: len(collected.receipts) == 3)
    by_id = {r.gateway_id: r for r in collected.receipts}
    assert by_id[ok.gateway_id].state == "delivered"
    assert by_id[ok.gateway_id].recipient == "+923001234567"
    assert by_id[ok.gateway_id].text_start == "Rally today at 5 pm"
    assert by_id[failed.gateway_id].state == "failed"
    assert by_id[long.gateway_id].state == "delivered"  # one receipt for both parts
    assert by_id[long.gateway_id].text_start == URDU[:20]


def test_mo_reaches_on_inbound(smsc: Smsc) -> None:
    collected = Collected()
    with gateway(smsc, collected):
        smsc.send_mo("+923005556666", "8100", "STOP")
        smsc.send_mo("+923005556667", "8100", "شامل کریں")
        assert wait_until(lambda: len(collected.inbound) == 2)
    stop, urdu = collected.inbound
    assert (stop.sender, stop.to, stop.text) == ("+923005556666", "8100", "STOP")
    assert urdu.text == "شامل کریں" and stop.gateway_id != urdu.gateway_id


def test_throttled_is_retry(smsc: Smsc) -> None:
    smsc.throttle_next(2)
    with gateway(smsc) as gw:
        results = gw.submit([sms(1), sms(2), sms(3)])
    # smpp34 hands pipelined submissions over concurrently: which two get throttled may vary.
    assert sorted(r.outcome for r in results) == ["accepted", "retry", "retry"]
    throttled = next(r for r in results if r.outcome == "retry")
    assert "ESME_RTHROTTLED" in throttled.detail


def test_invalid_destination_is_rejected(smsc: Smsc) -> None:
    with gateway(smsc) as gw:
        (result,) = gw.submit([sms(1, to="+92")])
    assert result.outcome == "rejected"
    assert result.detail == "invalid destination address (ESME_RINVDSTADR)"


def test_dropped_connection_mid_batch(smsc: Smsc) -> None:
    smsc.drop_after(8)
    with gateway(smsc, window=5, response_timeout=5.0) as gw:
        results = gw.submit([sms(n) for n in range(20)])
        outcomes = [r.outcome for r in results]
        # The connection is cut after the 8th submit_sm. Those in the window then (the 8th and
        # up to four before it) reached the SMSC but may have lost their answers: "unknown".
        # So may those written after it before the cut was noticed (a window's worth). The
        # rest go out on the new bind, or come back "retry" (never sent) if the new bind took
        # longer than the response timeout. None is lost or sent twice.
        unknown = [n for n, o in enumerate(outcomes) if o == "unknown"]
        assert all(8 - 5 <= n < 8 + 5 for n in unknown), outcomes
        assert all(o == "accepted" for o in outcomes[: 8 - 5]), outcomes
        assert all(o in ("accepted", "retry") for o in outcomes[8 + 5 :]), outcomes
        assert "retry" not in outcomes[:8], outcomes
        assert smsc.stats.binds == 2
        sent = [r.gateway_id for r in results if r.outcome == "accepted"]
        assert len(sent) == len(set(sent))
        later = gw.submit([sms(n) for n in range(100, 105)])
    assert all(r.outcome == "accepted" for r in later)
    assert smsc.stats.binds == 2


def test_reconnects_after_the_smsc_unbinds(smsc: Smsc) -> None:
    with gateway(smsc) as gw:
        smsc.unbind_all()
        assert wait_until(lambda: smsc.stats.binds == 2), f"binds: {smsc.stats.binds}"
        (result,) = gw.submit([sms(1)])
    assert result.outcome == "accepted"


def test_wrong_password_is_a_user_error(smsc: Smsc) -> None:
    gw = SmppGateway("127.0.0.1", smsc.port, "jalsa", "wrong-pw")
    with pytest.raises(UserError) as error:
        gw.open(Handlers())
    message = str(error.value)
    assert "ESME_RINVPASWD" in message and "wrong-pw" not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert "wrong-pw" not in repr(gw)


def test_enquire_link_when_idle(smsc: Smsc) -> None:
    with gateway(smsc, enquire_link_seconds=0.3):
        assert wait_until(lambda: smsc.stats.enquire_links >= 2, timeout=4)


def test_queued_receipts_are_delivered_after_a_rebind() -> None:
    with Smsc(password=PASSWORD, receipt_delay=0.5) as smsc:
        with gateway(smsc) as gw:
            (result,) = gw.submit([sms(1)])
        assert wait_until(lambda: smsc.queued() == 1)  # due while nobody was bound
        collected = Collected()
        with gateway(smsc, collected):
            assert wait_until(lambda: len(collected.receipts) == 1)
    assert collected.receipts[0].gateway_id == result.gateway_id
    assert collected.receipts[0].state == "delivered"


def test_parse_receipt_text_and_tlvs() -> None:
    text = (
        "id:0A1B2C sub:001 dlvrd:000 submit date:2401151230 done date:2401151231 "
        "stat:UNDELIV err:034 text:Rally today at 5 pm"
    )
    receipt = parse_receipt(text, recipient="923001234567")
    assert (receipt.state, receipt.gateway_id, receipt.error) == ("failed", "0A1B2C", "034")
    assert receipt.recipient == "+923001234567" and receipt.text_start == "Rally today at 5 pm"
    assert receipt.at is not None and (receipt.at.hour, receipt.at.minute) == (12, 31)
    tlv_only = parse_receipt("", receipted_message_id="77", message_state=3)
    assert (tlv_only.state, tlv_only.gateway_id) == ("expired", "77")
    for stat, state in [
        ("DELIVRD", "delivered"),
        ("EXPIRED", "expired"),
        ("REJECTD", "rejected"),
        ("ACCEPTD", "accepted"),
        ("ENROUTE", "accepted"),
        ("DELETED", "unknown"),
    ]:
        assert parse_receipt(f"id:1 stat:{stat} text:x").state == state


def test_no_threads_left_after_close(smsc: Smsc) -> None:
    before = threading.active_count()
    with gateway(smsc) as gw:
        gw.submit([sms(1)])
    assert wait_until(lambda: threading.active_count() <= before, timeout=3)


def test_the_part_map_forgets_by_size_and_by_age(monkeypatch: pytest.MonkeyPatch) -> None:
    from jalsa.mobilize.gateways import smpp_parts

    clock = [1000.0]
    monkeypatch.setattr(smpp_parts.time, "monotonic", lambda: clock[0])
    parts = smpp_parts.PartMap(limit=4, max_age=60.0)
    parts.add("a1", ["a1", "a2"], 2)
    clock[0] += 61
    parts.add("b1", ["b1", "b2"], 2)  # "a" is over a minute old: forgotten
    assert (list(parts._first), list(parts._added)) == (["b1", "b2"], ["b1"])
    for n in range(5):  # more parts than the limit: the oldest go
        parts.add(f"c{n}", [f"c{n}"], 1)
    assert len(parts._first) <= 4 and set(parts._added) <= set(parts._first.values())
    assert "b1" not in parts._total
