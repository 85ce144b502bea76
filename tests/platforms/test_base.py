"""Faults that look the same on every platform, handled once in `Connector.get_json`."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from jalsa.config import Settings
from jalsa.platforms.base import (
    BatchConnector,
    Connector,
    PollError,
    PollResult,
    StreamStatus,
    Target,
    Usage,
    as_count,
    charge_errors,
    parse_retry_after,
    shape_error,
)
from jalsa.platforms.registry import CONNECTORS
from testkit import MockApi

NOW = datetime(2023, 12, 17, 15, 5, tzinfo=UTC)


class EchoConnector(Connector):
    """The smallest connector: one request, no platform-specific errors."""

    kind = "echo"
    platform = "echo"
    title = "Echo"
    id_help = "anything"
    metrics = ()
    base_url_setting = "x_base_url"
    credential_setting = "x_bearer_token"
    interval_setting = "x_space_interval"

    async def poll(self, target: Target, now: datetime) -> PollResult:
        usage = Usage()
        payload = await self.fetch(usage, f"/echo/{target.external_id}")
        return PollResult(StreamStatus.OK, usage=usage, detail=str(payload))

    def expected_usage(self, batch: int = 1) -> Usage:
        return Usage(requests=1)


def echo(api: MockApi, credential: str | None = "tok") -> EchoConnector:
    return EchoConnector(api.client(), "https://api.example/v1/", credential)


async def fails(api: MockApi, credential: str | None = "tok") -> PollError:
    with pytest.raises(PollError) as caught:
        await echo(api, credential).poll(Target("42"), NOW)
    return caught.value


HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


async def test_success_returns_parsed_json_and_counts_the_request() -> None:
    api = MockApi(httpx.Response(200, json={"ok": True}))
    result = await echo(api).poll(Target("42"), NOW)

    assert result.detail == "{'ok': True}"
    assert result.usage == Usage(requests=1)
    assert str(api.last.url) == "https://api.example/v1/echo/42"


async def test_truncated_json_is_a_bad_response() -> None:
    api = MockApi(
        httpx.Response(
            200,
            content=b'{"items": [{"id": "a", "stat',
            headers={"content-type": "application/json"},
        )
    )
    error = await fails(api)

    assert error.status is StreamStatus.BAD_RESPONSE
    assert "not valid JSON" in error.detail
    assert "application/json" in error.detail
    assert error.usage == Usage(requests=1)


async def test_html_page_with_200_is_a_bad_response() -> None:
    # A captive portal or a block page answers 200 with HTML.
    api = MockApi(httpx.Response(200, content=HTML, headers={"content-type": "text/html"}))
    error = await fails(api)

    assert error.status is StreamStatus.BAD_RESPONSE
    assert "text/html" in error.detail
    assert error.http_status == 200


async def test_html_page_with_502_is_a_server_error() -> None:
    api = MockApi(httpx.Response(502, content=HTML, headers={"content-type": "text/html"}))
    error = await fails(api)

    assert error.status is StreamStatus.SERVER_ERROR
    assert error.http_status == 502
    assert error.retry_after is None


async def test_503_with_retry_after_keeps_the_wait() -> None:
    api = MockApi(httpx.Response(503, text="Service Unavailable", headers={"Retry-After": "120"}))
    error = await fails(api)

    assert error.status is StreamStatus.SERVER_ERROR
    assert error.retry_after == 120.0


async def test_timeout_is_its_own_status_and_counts_the_request() -> None:
    api = MockApi(httpx.ReadTimeout("timed out"))
    error = await fails(api)

    assert error.status is StreamStatus.TIMEOUT
    assert error.usage == Usage(requests=1)


async def test_connect_error_is_a_network_error() -> None:
    api = MockApi(httpx.ConnectError("[Errno 111] Connection refused"))
    error = await fails(api)

    assert error.status is StreamStatus.NETWORK_ERROR
    assert "https://api.example/v1" in error.detail
    assert error.usage == Usage()


async def test_429_with_retry_after_seconds() -> None:
    api = MockApi(httpx.Response(429, json={}, headers={"Retry-After": "45"}))
    error = await fails(api)

    assert error.status is StreamStatus.RATE_LIMITED
    assert error.retry_after == 45.0
    assert error.http_status == 429


async def test_429_with_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    api = MockApi(httpx.Response(429, json={}, headers={"Retry-After": when}))
    error = await fails(api)

    assert error.status is StreamStatus.RATE_LIMITED
    assert error.retry_after == pytest.approx(300, abs=2)


async def test_429_with_x_rate_limit_reset() -> None:
    reset = str(int(time.time()) + 900)
    api = MockApi(httpx.Response(429, json={}, headers={"x-rate-limit-reset": reset}))
    error = await fails(api)

    assert error.status is StreamStatus.RATE_LIMITED
    assert error.retry_after == pytest.approx(900, abs=2)


async def test_429_without_a_usable_header_leaves_the_wait_to_the_scheduler() -> None:
    api = MockApi(httpx.Response(429, json={}, headers={"Retry-After": "soon"}))
    error = await fails(api)

    assert error.status is StreamStatus.RATE_LIMITED
    assert error.retry_after is None


def test_parse_retry_after_prefers_retry_after_and_never_goes_negative() -> None:
    headers = httpx.Headers({"Retry-After": "10", "x-rate-limit-reset": "2000"})
    assert parse_retry_after(headers, now=1000.0) == 10.0
    assert parse_retry_after(httpx.Headers({"x-rate-limit-reset": "900"}), now=1000.0) == 0.0
    assert parse_retry_after(httpx.Headers({}), now=1000.0) is None


@pytest.mark.parametrize("credential", [None, ""])
async def test_missing_credential_fails_before_any_request(credential: str | None) -> None:
    api = MockApi()
    error = await fails(api, credential=credential)

    assert error.status is StreamStatus.AUTH_FAILED
    assert "JALSA_X_BEARER_TOKEN" in error.detail
    assert api.requests == []


@pytest.mark.parametrize(("status", "expected"), [(401, "auth_failed"), (404, "not_found")])
async def test_plain_http_errors(status: int, expected: str) -> None:
    error = await fails(MockApi(httpx.Response(status, text="")))
    assert error.status == expected


async def test_charge_errors_attaches_the_spend_to_a_shape_error() -> None:
    usage = Usage(requests=2, quota_units=2)
    with pytest.raises(PollError) as caught, charge_errors(usage):
        raise shape_error("no items")

    assert caught.value.usage is usage
    assert caught.value.status is StreamStatus.BAD_RESPONSE


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("48213", 48213), (" 12 ", 12), (3.0, 3)])
def test_as_count_accepts_numbers_and_numeric_strings(value: Any, expected: int) -> None:
    assert as_count(value, "n") == expected


@pytest.mark.parametrize("value", [None, True, "1.5", "-3", -1, 2.5, "many", [1]])
def test_as_count_rejects_everything_else(value: Any) -> None:
    with pytest.raises(PollError) as caught:
        as_count(value, "field")
    assert caught.value.status is StreamStatus.BAD_RESPONSE


# --- poll_many of a connector that polls one target at a time -------------------------------


def test_a_connector_polls_one_target_unless_it_says_otherwise() -> None:
    assert EchoConnector.batch_size == 1


async def test_poll_many_of_one_target_is_its_poll() -> None:
    api = MockApi(httpx.Response(200, json={"ok": True}))
    outcomes, usage = await echo(api).poll_many([Target("42")], NOW)

    (outcome,) = outcomes
    assert isinstance(outcome, PollResult)
    assert outcome.status is StreamStatus.OK
    assert outcome.detail == "{'ok': True}"
    assert usage == Usage(requests=1)
    assert str(api.last.url) == "https://api.example/v1/echo/42"


async def test_poll_many_returns_a_failure_as_the_outcome() -> None:
    api = MockApi(httpx.Response(503, text="Service Unavailable"))
    outcomes, usage = await echo(api).poll_many([Target("42")], NOW)

    (outcome,) = outcomes
    assert isinstance(outcome, PollError)
    assert outcome.status is StreamStatus.SERVER_ERROR
    assert usage == Usage(requests=1)


@pytest.mark.parametrize("count", [0, 2])
async def test_poll_many_refuses_anything_but_one_target(count: int) -> None:
    api = MockApi()
    with pytest.raises(ValueError, match="one target at a time"):
        await echo(api).poll_many([Target(str(i)) for i in range(count)], NOW)
    assert api.requests == []


def test_from_settings_reads_the_declared_settings() -> None:
    settings = Settings(x_base_url="http://sim.local/2/", x_bearer_token="secret-bearer")
    connector = EchoConnector.from_settings(httpx.AsyncClient(), settings)

    assert connector.base_url == "http://sim.local/2"
    assert connector.credential == "secret-bearer"


def test_from_settings_without_a_credential_gives_none() -> None:
    connector = EchoConnector.from_settings(httpx.AsyncClient(), Settings(x_bearer_token=None))
    assert connector.credential is None


# Every real connector must leave these transport faults to the shared handling, not swallow
# them in its own error mapping.

TARGET = Target("123", query="#jalsa", since=NOW)


def real(cls: type[Connector], api: MockApi) -> Connector:
    return cls(api.client(), "https://api.example/v1", "tok")


def _html(status: int) -> Any:
    return lambda: httpx.Response(status, content=HTML, headers={"content-type": "text/html"})


FAULTS = {
    "html-502": (_html(502), "server_error"),
    "html-200": (_html(200), "bad_response"),
    "truncated": (lambda: httpx.Response(200, content=b'{"data": ['), "bad_response"),
    "timeout": (lambda: httpx.ReadTimeout("timed out"), "timeout"),
    "connect": (lambda: httpx.ConnectError("refused"), "network_error"),
    "429": (lambda: httpx.Response(429, json={}, headers={"Retry-After": "30"}), "rate_limited"),
}


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_connector_reports_transport_faults(kind: str, fault: str) -> None:
    make, expected = FAULTS[fault]
    api = MockApi(make())
    with pytest.raises(PollError) as caught:
        await real(CONNECTORS[kind], api).poll(TARGET, NOW)

    assert caught.value.status == expected
    assert len(api.requests) == 1
    if expected == "rate_limited":
        assert caught.value.retry_after == 30.0


BATCHING = sorted(kind for kind, cls in CONNECTORS.items() if cls.batch_size > 1)


def test_the_batching_connectors_are_youtube_and_x_spaces() -> None:
    assert BATCHING == ["x_space", "youtube"]
    for kind in BATCHING:
        assert issubclass(CONNECTORS[kind], BatchConnector)
    for kind in set(CONNECTORS) - set(BATCHING):
        assert not issubclass(CONNECTORS[kind], BatchConnector)


@pytest.mark.parametrize("kind", BATCHING)
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_transport_fault_is_every_batched_targets_outcome(kind: str, fault: str) -> None:
    make, expected = FAULTS[fault]
    api = MockApi(make())
    targets = [Target("123"), Target("456")]
    outcomes, usage = await real(CONNECTORS[kind], api).poll_many(targets, NOW)

    assert len(api.requests) == 1
    assert [o.status for o in outcomes] == [expected, expected]
    assert usage.requests == (0 if fault == "connect" else 1)
