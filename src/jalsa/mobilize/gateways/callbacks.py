"""What makes a gateway's call to the web app believable (docs/decisions.md §31).

Delivery reports: every message we submit carries its own callback URL (Kannel's dlr-url, the
REST API's StatusCallback) holding our key of the message, the Unix time we sent it and an
HMAC-SHA256, keyed with the callback secret, over the gateway, the key, the recipient's digits
and that time. A report is believed only with a valid HMAC and within the receipt window after
the time it names: a URL one has seen can be replayed for that one message for that long (a
report only ever moves a message forward, so a replay changes nothing), and no URL can be made
for another message or number.

Inbound messages: Kannel's sms-service get-url is one URL for every message, so nothing in it
can be signed per message. It carries a bearer token (a random secret of the operator's, not
derived from anything), and the message's own time must be within the inbound window; what a
forged message can do is bounded in `jalsa.mobilize.inbound`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jalsa.errors import UserError

SKEW = timedelta(minutes=5)  # clocks of the gateway's host and ours may differ this much
MIN_TOKEN = 24  # characters of an inbound token


class BadSignature(UserError):
    """A callback that is not the gateway's: a wrong signature or token, a time outside its
    window, or a caller not on the allow-list. The web app answers 403 and changes nothing."""


def digits(number: str) -> str:
    """A number's digits only: gateways write "+92...", "92..." or "0092..." for the same."""
    only = "".join(ch for ch in number if ch.isascii() and ch.isdigit())
    return only[2:] if only.startswith("00") else only


def sign(secret: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) of the parts, one per line."""
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def receipt_signature(secret: str, gateway: str, key: str, recipient: str, sent_at: int) -> str:
    """The signature a message's report URL carries."""
    return sign(secret, "receipt", gateway, key, digits(recipient), str(sent_at))


def unix_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True)
class CallbackKeys:
    """The secrets and windows the callbacks are checked with. `secrets[0]` signs; every one
    verifies (the previous one stays valid while reports for its messages come in)."""

    secrets: tuple[str, ...]
    inbound_tokens: tuple[str, ...] = ()
    receipt_window: timedelta = timedelta(hours=72)
    inbound_window: timedelta = timedelta(hours=24)
    allow: tuple[str, ...] = ()

    @property
    def secret(self) -> str:
        return self.secrets[0]

    def check_receipt(
        self,
        gateway: str,
        key: str,
        recipient: str,
        sent_at: str,
        signature: str | None,
        now: datetime,
    ) -> None:
        """BadSignature unless the report URL is one we made, within the receipt window."""
        when = unix_time(sent_at)
        if when is None or not signature:
            raise BadSignature(f"{gateway} report refused: it carries no signed time")
        if not any(
            hmac.compare_digest(
                receipt_signature(secret, gateway, key, recipient, int(sent_at)), signature
            )
            for secret in self.secrets
        ):
            raise BadSignature(
                f"{gateway} report refused: its signature does not match (another message's "
                "URL, another number, or the callback secret changed)"
            )
        within(when, now, self.receipt_window, f"{gateway} report refused: the message was sent")

    def check_token(self, given: str | None) -> None:
        """BadSignature unless `given` is one of the inbound tokens."""
        if not self.inbound_tokens:
            raise BadSignature(
                "Kannel's inbound messages are refused: set JALSA_SMS_INBOUND_TOKEN (a random "
                f"string of {MIN_TOKEN} characters or more) and put it in Kannel's get-url"
            )
        short = [t for t in self.inbound_tokens if len(t) < MIN_TOKEN]
        if short:
            raise BadSignature(
                f"JALSA_SMS_INBOUND_TOKEN is too short: use {MIN_TOKEN} random characters or more"
            )
        if not given or not any(
            hmac.compare_digest(token.encode(), given.encode()) for token in self.inbound_tokens
        ):
            raise BadSignature("Kannel inbound message refused: its token does not match")

    def check_caller(self, address: str | None) -> None:
        """BadSignature when an allow-list is set and `address` is not on it."""
        if not self.allow:
            return
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            raise BadSignature("callback refused: the caller's address is unknown") from None
        for entry in self.allow:
            if ip in ipaddress.ip_network(entry, strict=False):
                return
        raise BadSignature(
            f"callback refused: {ip} is not in JALSA_SMS_CALLBACK_ALLOW (the gateway's addresses)"
        )


def within(when: datetime, now: datetime, window: timedelta, what: str) -> None:
    """BadSignature when `when` is older than `window` or later than `now` (beyond SKEW)."""
    if when < now - window:
        raise BadSignature(f"{what} at {when:%Y-%m-%d %H:%M:%S} UTC, too long ago ({window})")
    if when > now + SKEW:
        raise BadSignature(f"{what} at {when:%Y-%m-%d %H:%M:%S} UTC, in the future")


def parse_allow(entries: Sequence[str]) -> tuple[str, ...]:
    """The allow-list's entries, each checked: an IP address or a network."""
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise UserError(
                f"JALSA_SMS_CALLBACK_ALLOW: {entry!r} is not an IP address or network "
                "(write 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return tuple(entry.strip() for entry in entries)
