"""The SMS sender inside the server (`jalsa serve`, `jalsa demo`): a thread that runs the outbox
whenever a gateway is configured, so a campaign sent from the web app goes out without anyone
keeping a terminal open.

It never gives up while the server runs: if another sender holds the outbox (a `jalsa sms
campaign send` in a terminal) it waits for the lease; if the gateway cannot be reached it tries
again with a growing pause. What it is doing is always one sentence (`status`), for the
campaigns page. The gateway's password is read from the settings or the encrypted store and is
never part of that sentence or the log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from jalsa.config import Settings
from jalsa.credentials import with_stored_credentials
from jalsa.errors import UserError
from jalsa.mobilize.gateways import gateway_from_settings
from jalsa.mobilize.inbound import ReplyLimits
from jalsa.mobilize.sender import LeaseHeld, Sender, SenderConfig, SenderLimit
from jalsa.redact import redact
from jalsa.store import Store
from jalsa.timeutil import utc_now

log = logging.getLogger(__name__)

RETRY_FIRST = 2.0  # seconds before trying again after a failure; doubles up to RETRY_MAX
RETRY_MAX = 60.0


def sender_config(settings: Settings) -> SenderConfig:
    """The sender's limits from the settings (one place for the CLI and the server)."""
    return SenderConfig(
        senders=tuple(SenderLimit.parse(s) for s in settings.sms_senders)
        or (SenderLimit("JALSA"),),
        rate=settings.sms_rate,
        grace=timedelta(seconds=settings.sms_unknown_grace_seconds),
        default_timezone=settings.timezone,
        replies=ReplyLimits(
            every=timedelta(minutes=settings.sms_reply_every_minutes),
            per_hour=settings.sms_replies_per_hour,
        ),
    )


class SmsService:
    """Runs a Sender on a thread until `stop()`. `now`: the clock it sends by (the demo's is
    compressed)."""

    def __init__(
        self, store: Store, settings: Settings, *, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.store, self.settings, self.now = store, settings, now
        self._status = "not started"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sender: Sender | None = None

    @property
    def status(self) -> str:
        """What the sender is doing, in one sentence (for the campaigns page)."""
        sender = self._sender
        trouble = sender.gateway.trouble() if sender is not None else None
        if trouble and self._status.startswith("sending"):
            return f"{self._status}, but {trouble}"
        return self._status

    @property
    def configured(self) -> bool:
        return bool(self.settings.sms_gateway)

    def start(self) -> None:
        if not self.configured:
            self._status = "no SMS gateway is configured (JALSA_SMS_GATEWAY): campaigns wait"
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sms-service", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._sender is not None:
            self._sender.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        pause = RETRY_FIRST
        while not self._stop.is_set():
            try:
                settings = with_stored_credentials(self.settings, self.store)
                gateway = gateway_from_settings(settings)
                self._sender = Sender(self.store, gateway, sender_config(settings), now=self.now)
                self._status = f"sending through the {gateway.name} gateway"
                self._sender.run(until=self._stop.is_set)
                pause = RETRY_FIRST
            except LeaseHeld as exc:
                self._status = f"waiting: {exc}"
                pause = RETRY_FIRST * 5
            except UserError as exc:  # a setting is missing or wrong: say which, retry seldom
                self._status = f"stopped: {redact(str(exc))}"
                log.warning("SMS sender: %s", redact(str(exc)))
                pause = RETRY_MAX
            except Exception as exc:  # the gateway is unreachable or failed: try again
                self._status = f"retrying in {pause:.0f} s: {redact(str(exc))}"
                log.warning("SMS sender failed (%s); retrying in %.0f s", redact(str(exc)), pause)
                pause = min(pause * 2, RETRY_MAX)
            self._stop.wait(pause)
        self._status = "stopped"
