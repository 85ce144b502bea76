"""A Twilio-style SMS API simulator, for the REST gateway's tests and demos.

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json        send (To, From, Body,
                                                                 StatusCallback): 201
    GET  /2010-04-01/Accounts/{AccountSid}/Messages.json        list, newest first; To, From,
                                                                 DateSent / DateSent> / DateSent<
                                                                 filters; PageSize, Page paging
    GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  one message

HTTP Basic auth with the account SID and auth token (401, code 20003). Errors are the API's JSON
`{code, message, more_info, status}`. A message is stored as "queued"; shortly after, the
simulator moves it to "sent" then "delivered" (or "undelivered", error 30003, for numbers told to
fail that way), posting each status to the message's StatusCallback, signed with
X-Twilio-Signature as the API does. Tests can make the next answers 429 (with Retry-After),
refuse numbers with an error code, and post a signed inbound message to a webhook URL.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jalsa.mobilize.gateways.rest import API_VERSION, signature

E164 = re.compile(r"\+[1-9]\d{6,14}")
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}
DEFAULT_PAGE_SIZE = 50


def api_error(code: int, status: int, **fields: str) -> JSONResponse:
    """An error in the API's shape."""
    body = {
        "code": code,
        "message": ERROR_MESSAGES.get(code, "Error").format(**fields),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def rfc2822(when: datetime) -> str:
    """The API's timestamps: `Thu, 24 Aug 2023 05:01:45 +0000`."""
    return format_datetime(when.astimezone(UTC)).replace("-0000", "+0000")


@dataclass
class SimMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created: datetime
    status: str = "queued"
    sent: datetime | None = None
    error_code: int | None = None

    def resource(self, account_sid: str) -> dict[str, Any]:
        """The message as the API shows it."""
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{self.sid}"
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.created),
            "date_sent": rfc2822(self.sent) if self.sent else None,
            "date_updated": rfc2822(self.sent or self.created),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class SmsRestSim:
    """The simulator's state and its Starlette app."""

    account_sid: str = field(default_factory=lambda: new_sid("AC"))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    step_delay: float = 0.05  # seconds between status changes
    inbound_url: str | None = None
    messages: dict[str, SimMessage] = field(default_factory=dict)
    refuse: dict[str, int] = field(default_factory=dict)  # number -> error code at submission
    undeliverable: set[str] = field(default_factory=set)  # numbers whose messages fail later
    throttle_next: int = 0  # answer this many sends with 429
    retry_after: int = 2
    callbacks: list[dict[str, str]] = field(default_factory=list)  # posted, in order

    def app(self) -> Starlette:
        base = f"/{API_VERSION}/Accounts/{{account}}"
        return Starlette(
            routes=[
                Route(f"{base}/Messages.json", self.create, methods=["POST"]),
                Route(f"{base}/Messages.json", self.list, methods=["GET"]),
                Route(f"{base}/Messages/{{sid}}.json", self.fetch, methods=["GET"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        pair = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        expected = f"Basic {pair}"
        return secrets.compare_digest(auth, expected) and (
            request.path_params["account"] == self.account_sid
        )

    async def create(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return api_error(20003, 401)
        if self.throttle_next > 0:
            self.throttle_next -= 1
            answer = api_error(20429, 429)
            answer.headers["Retry-After"] = str(self.retry_after)
            return answer
        form = {name: str(value) for name, value in (await request.form()).items()}
        refused = self._refusal(form)
        if refused is not None:
            return refused
        message = SimMessage(
            sid=new_sid("SM"),
            to=form["To"],
            from_=form["From"],
            body=form["Body"],
            status_callback=form.get("StatusCallback"),
            created=datetime.now(UTC),
        )
        self.messages[message.sid] = message
        asyncio.get_running_loop().create_task(self._progress(message))
        return JSONResponse(message.resource(self.account_sid), status_code=201)

    def _refusal(self, form: dict[str, str]) -> JSONResponse | None:
        """The API's 400 for a form it will not send, or None."""
        to = form.get("To", "")
        if not to:
            return api_error(21604, 400)
        if not form.get("From"):
            return api_error(21603, 400)
        if not form.get("Body"):
            return api_error(21602, 400)
        if not E164.fullmatch(to):
            return api_error(21211, 400, to=to)
        if to in self.refuse:
            return api_error(self.refuse[to], 400, to=to)
        return None

    async def _progress(self, message: SimMessage) -> None:
        """queued -> sent -> delivered (or undelivered), each posted to the StatusCallback."""
        await self._post_status(message)
        for status in ("sent", "undelivered" if message.to in self.undeliverable else "delivered"):
            await asyncio.sleep(self.step_delay)
            message.status = status
            if status == "sent":
                message.sent = datetime.now(UTC)
            if status == "undelivered":
                message.error_code = 30003
            await self._post_status(message)

    async def _post_status(self, message: SimMessage) -> None:
        if not message.status_callback:
            return
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.error_code:
            fields["ErrorCode"] = str(message.error_code)
        await self._post_signed(message.status_callback, fields)

    async def _post_signed(self, url: str, fields: dict[str, str]) -> None:
        headers = {"X-Twilio-Signature": signature(url, fields, self.auth_token)}
        self.callbacks.append(fields)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                await client.post(url, data=fields, headers=headers)
        except httpx.HTTPError:
            pass  # the API does not retry status callbacks either

    def send_inbound(self, sender: str, to: str, body: str) -> dict[str, str]:
        """A supporter's message, posted signed to `inbound_url` as the API does; returns the
        fields posted."""
        assert self.inbound_url, "set inbound_url first"
        sid = new_sid("SM")
        fields = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": sender,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
        }
        headers = {"X-Twilio-Signature": signature(self.inbound_url, fields, self.auth_token)}
        httpx.post(self.inbound_url, data=fields, headers=headers, timeout=5)
        return fields

    async def list(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return api_error(20003, 401)
        query = request.query_params
        chosen = [m for m in self.messages.values() if self._matches(m, query)]
        chosen.sort(key=lambda m: m.created, reverse=True)
        size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        number = int(query.get("Page", 0))
        page = chosen[number * size : (number + 1) * size]
        uri = request.url.path

        def page_uri(n: int) -> str:
            params = {k: v for k, v in query.items() if k not in ("Page", "PageSize")}
            return f"{uri}?{httpx.QueryParams({**params, 'PageSize': size, 'Page': n})}"

        more = (number + 1) * size < len(chosen)
        return JSONResponse(
            {
                "end": number * size + max(len(page) - 1, 0),
                "first_page_uri": page_uri(0),
                "messages": [m.resource(self.account_sid) for m in page],
                "next_page_uri": page_uri(number + 1) if more else None,
                "page": number,
                "page_size": size,
                "previous_page_uri": page_uri(number - 1) if number else None,
                "start": number * size,
                "uri": page_uri(number),
            }
        )

    @staticmethod
    def _matches(message: SimMessage, query: Any) -> bool:
        """To/From equality; DateSent (that day), DateSent> (on or after), DateSent< (on or
        before), by the GMT day the message was sent: unsent messages match no DateSent."""
        if query.get("To") not in (None, message.to):
            return False
        if query.get("From") not in (None, message.from_):
            return False
        sent = message.sent.date() if message.sent else None
        tests = {"DateSent": date.__eq__, "DateSent>": date.__ge__, "DateSent<": date.__le__}
        for name, test in tests.items():
            if name in query and (sent is None or not test(sent, date.fromisoformat(query[name]))):
                return False
        return True

    async def fetch(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return api_error(20003, 401)
        message = self.messages.get(request.path_params["sid"])
        if message is None:
            return api_error(20404, 404)
        return JSONResponse(message.resource(self.account_sid))


class RunningSim:
    """The simulator on uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, sim: SmsRestSim) -> None:
        self.sim = sim
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            sim.app(), log_config=None, log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
            name="sms-rest-sim",
            daemon=True,
        )

    def __enter__(self) -> RunningSim:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the SMS API simulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
