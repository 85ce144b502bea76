"""Helpers shared by the tests (importable as `testkit`: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(platform: str, name: str) -> Any:
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))


# --- platform connectors: serve fixtures through httpx.MockTransport -------------------------

BASE_URLS = {
    "youtube": "https://www.googleapis.com/youtube/v3",
    "facebook": "https://graph.facebook.com/v21.0",
    "instagram": "https://graph.facebook.com/v21.0",
    "x": "https://api.x.com/2",
}


def fixture_response(
    platform: str, name: str, status: int = 200, headers: dict[str, str] | None = None
) -> Any:
    """An httpx.Response whose body is the fixture file byte for byte."""
    body = (FIXTURES / platform / name).read_bytes()
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


class MockApi:
    """Answers requests in order from a queue (a Response, an exception to raise, or a function
    of the request) and records every request, so tests can check what the connector sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def _handle(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self) -> Any:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def connector(self, cls: Any, credential: str | None = "test-token", **options: Any) -> Any:
        platform = cls.platform if cls.platform in BASE_URLS else cls.kind
        return cls(self.client(), BASE_URLS[platform], credential, **options)

    @property
    def last(self) -> Any:
        return self.requests[-1]


@dataclass(frozen=True)
class DemoRun:
    """What `jalsa demo` left: its data directory (the demo's store is demo/jalsa-demo.db in
    it, its posts under conversation/demo) and the finished process."""

    data_dir: Path
    done: subprocess.CompletedProcess[str]

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'demo' / 'jalsa-demo.db'}"


# -- hostile JSON, for the property tests in tests/hostile ------------------------------------


def json_values(*leaves: Any) -> Any:
    """Any JSON value (hypothesis), with these extra leaf strategies beside the plain ones."""
    from hypothesis import strategies as st

    base = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    for extra in leaves:
        base = base | extra
    return st.recursive(
        base,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=10,
    )


def mutate(data: Any, doc: Any, value: Any) -> None:
    """Put `value` somewhere in `doc`: in place of a member or an element, or as a new member,
    at any depth (hypothesis draws the path, so failures shrink to the shortest)."""
    from hypothesis import strategies as st

    node = doc
    while isinstance(node, dict | list) and node:
        keys: list[Any] = [*sorted(node), None] if isinstance(node, dict) else [*range(len(node))]
        key = data.draw(st.sampled_from(keys))
        if key is None:
            node[data.draw(st.text(max_size=6))] = value
            return
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = value
        return


def json_size(doc: Any) -> int:
    """The number of JSON values in `doc`: a bound on what reading it may give."""
    if isinstance(doc, dict):
        return 1 + sum(json_size(v) for v in doc.values())
    if isinstance(doc, list):
        return 1 + sum(json_size(v) for v in doc)
    return 1
