"""Login throttling that slows a password guesser without locking the real user out.

Failed logins are counted, over a sliding window, in four budgets:
- per username *and* address (5): a guesser at one address waits; the same user elsewhere not;
- per address (30): an internet café shares one address, so this one is wider;
- per username from every address (20) and over all logins (600): a guesser spread over many
  addresses, or spraying one password over many usernames, makes *unknown browsers* wait.

A browser the user logged in from before carries a signed device cookie for that username
(`device_cookie`), and is not held by the last two budgets: someone hammering the
coordinator's name from a botnet cannot lock the coordinator out of their own phone, and the
cookie opens no account by itself (the password is still checked).

Memory is bounded whatever callers send: keys are fixed-size digests of what the client chose
(username, address), each key keeps at most its budget's timestamps, and the map holds at most
`max_keys`, dropping the least recently used (a key in active use is never the one dropped).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

DEVICE_COOKIE = "jalsa_device"
DEVICE_DAYS = 180


def _key(kind: str, value: str) -> bytes:
    return hashlib.blake2b(f"{kind}\0{value}".encode(errors="replace"), digest_size=16).digest()


def normal_username(username: str) -> str:
    """As `authenticate` looks it up, cut to a bounded length (longer names are not valid)."""
    return username.strip().lower()[:64]


@dataclass
class LoginThrottle:
    pair_attempts: int = 5
    address_attempts: int = 30
    user_attempts: int = 20
    global_attempts: int = 600
    window: float = 900.0
    max_keys: int = 20_000
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self._failures: OrderedDict[bytes, deque[float]] = OrderedDict()
        self._all: deque[float] = deque(maxlen=self.global_attempts)

    def _budgets(self, username: str, address: str) -> list[tuple[bytes, int, bool]]:
        """(key, budget, held for known devices too) for one attempt."""
        user = normal_username(username)
        return [
            (_key("pair", f"{user}\0{address}"), self.pair_attempts, True),
            (_key("address", address), self.address_attempts, True),
            (_key("user", user), self.user_attempts, False),
        ]

    def _wait(self, failures: deque[float] | None, budget: int, now: float) -> float | None:
        """A full budget (each deque keeps its budget's latest failures) waits until its oldest
        failure leaves the window."""
        if failures is None or len(failures) < budget:
            return None
        wait = failures[0] + self.window - now
        return wait if wait > 0 else None

    def retry_after(self, username: str, address: str, *, known_device: bool) -> float | None:
        """Seconds until this attempt may be made, or None if it may be made now. Only reads:
        asking never adds a key."""
        now = self.clock()
        waits = [
            self._wait(self._failures.get(key), budget, now)
            for key, budget, always in self._budgets(username, address)
            if always or not known_device
        ]
        if not known_device:
            waits.append(self._wait(self._all, self.global_attempts, now))
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        self._all.append(now)
        for key, budget, _ in self._budgets(username, address):
            failures = self._failures.pop(key, None)
            if failures is None:
                failures = deque(maxlen=budget)
            failures.append(now)
            self._failures[key] = failures  # most recently used last
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """The right password: this user's failures from this address are forgiven."""
        self._failures.pop(self._budgets(username, address)[0][0], None)

    def __len__(self) -> int:
        return len(self._failures)


# -- the device cookie ---------------------------------------------------------------------


def device_cookie(key: bytes, username: str, *, now: float | None = None) -> str:
    """A cookie value that proves this browser logged in as `username` before."""
    expires = int((time.time() if now is None else now) + DEVICE_DAYS * 86400)
    body = f"{normal_username(username)}|{expires}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body.encode() + b"|" + mac).decode().rstrip("=")


def known_device(key: bytes, cookie: str | None, username: str) -> bool:
    """Whether `cookie` is a valid, unexpired device cookie for `username`."""
    if not cookie or len(cookie) > 200:
        return False
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        user, expires, mac = raw.split(b"|", 2)
        expected = hmac.new(key, user + b"|" + expires, hashlib.sha256).digest()[:16]
        return (
            hmac.compare_digest(mac, expected)
            and user.decode() == normal_username(username)
            and int(expires) > time.time()
        )
    except (ValueError, UnicodeDecodeError):
        return False


def device_key(secret: bytes) -> bytes:
    """The device cookie's own key, derived from the server's secret key."""
    return hmac.new(secret, b"jalsa login device cookie", hashlib.sha256).digest()
