"""Login throttling: a guesser is slowed, the real user is not locked out, memory is bounded."""

from __future__ import annotations

import secrets
import time
import tracemalloc

from jalsa.web.throttle import LoginThrottle, device_cookie, device_key, known_device


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_shared_address_is_not_locked_out_by_five_strangers() -> None:
    """An internet café shares one address: five people mistyping their own passwords must not
    lock out the sixth, but one username at one address is limited to five failures."""
    throttle = LoginThrottle()
    for name in ("a", "b", "c", "d", "e"):
        throttle.failed(name, "1.2.3.4")
    assert throttle.retry_after("f", "1.2.3.4", known_device=False) is None
    assert throttle.retry_after("a", "1.2.3.4", known_device=False) is None
    for _ in range(4):
        throttle.failed("A ", "1.2.3.4")  # the same username as typed differently
    assert throttle.retry_after("a", "1.2.3.4", known_device=False) is not None
    assert throttle.retry_after("a", "1.2.3.4", known_device=True) is not None  # same place
    assert throttle.retry_after("a", "5.6.7.8", known_device=False) is None  # elsewhere
    for i in range(30):
        throttle.failed(f"x{i}", "5.6.7.8")
    assert throttle.retry_after("new", "5.6.7.8", known_device=False) is not None


def test_a_guesser_on_many_addresses_does_not_lock_the_user_out_of_a_known_browser() -> None:
    throttle = LoginThrottle()
    for i in range(100):
        throttle.failed("coordinator", f"10.0.{i // 250}.{i % 250}")
    # every new address, and a new browser, now waits for this username...
    assert throttle.retry_after("coordinator", "203.0.113.9", known_device=False) is not None
    # ...but the coordinator's own phone, at yet another address, does not
    assert throttle.retry_after("coordinator", "198.51.100.7", known_device=True) is None
    # and nobody else is held up
    assert throttle.retry_after("moderator", "203.0.113.9", known_device=False) is None


def test_a_password_spray_slows_unknown_browsers_only() -> None:
    throttle = LoginThrottle(global_attempts=50)
    for i in range(50):
        throttle.failed(f"user{i}", f"10.1.{i}.1")
    assert throttle.retry_after("someone", "192.0.2.1", known_device=False) is not None
    assert throttle.retry_after("someone", "192.0.2.1", known_device=True) is None


def test_budgets_refill_as_the_window_slides() -> None:
    clock = Clock()
    throttle = LoginThrottle(window=900.0, clock=clock)
    for _ in range(5):
        throttle.failed("viewer", "1.1.1.1")
        clock.now += 10
    wait = throttle.retry_after("viewer", "1.1.1.1", known_device=False)
    assert wait is not None and abs(wait - (900 - 50)) < 1e-6
    clock.now += wait + 0.001
    assert throttle.retry_after("viewer", "1.1.1.1", known_device=False) is None


def test_a_success_forgives_that_users_failures_from_that_address() -> None:
    throttle = LoginThrottle()
    for _ in range(4):
        throttle.failed("viewer", "1.1.1.1")
    throttle.succeeded("viewer", "1.1.1.1")
    for _ in range(4):
        throttle.failed("viewer", "1.1.1.1")
    assert throttle.retry_after("viewer", "1.1.1.1", known_device=False) is None


def test_asking_adds_nothing_and_the_map_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=1000)
    for _ in range(100):
        throttle.retry_after(secrets.token_hex(8), secrets.token_hex(8), known_device=False)
    assert len(throttle) == 0
    for i in range(3000):
        throttle.failed(f"u{i}", "9.9.9.9")  # the attacker's address stays the freshest key
    assert len(throttle) <= 1000
    assert throttle.retry_after("anyone", "9.9.9.9", known_device=False) is not None


def test_huge_usernames_are_not_kept() -> None:
    """The defect: 150 attempts with random 1 MB usernames kept ~143 MB for good."""
    throttle = LoginThrottle()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(150):
            name = secrets.token_hex(512 * 1024)  # 1 MB
            throttle.retry_after(name, "1.2.3.4", known_device=False)
            throttle.failed(name, "1.2.3.4")
            del name
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000, kept  # a few hundred small deques, not 150 MB


def test_the_device_cookie_proves_only_what_it_says() -> None:
    key = device_key(b"server secret")
    cookie = device_cookie(key, "Coordinator")
    assert known_device(key, cookie, "coordinator")
    assert not known_device(key, cookie, "moderator")
    assert not known_device(device_key(b"another server"), cookie, "coordinator")
    assert not known_device(
        key, cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"), "coordinator"
    )
    expired = device_cookie(key, "coordinator", now=time.time() - 200 * 86400)
    assert not known_device(key, expired, "coordinator")
    for junk in ("", "x", "%%%", "a" * 5000, "fA==|1|2"):
        assert not known_device(key, junk, "coordinator")
