"""Hostile OONI files: any bytes, any JSON, real measurements among damaged lines. Reading
raises OoniFormatError (the whole file refused, with a reason) or gives measurements and
Problems; a real measurement among bad lines is never lost."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jalsa.watch.ooni import OoniFormatError, Problem, read_ooni
from jalsa.watch.record import Measurement

REAL = json.dumps(
    {
        "test_name": "web_connectivity",
        "input": "https://x.com/",
        "measurement_uid": "20231217140000.000000_PK_webconnectivity_0123456789abcdef",
        "measurement_start_time": "2023-12-17 14:00:00",
        "probe_asn": "AS17557",
        "probe_cc": "PK",
        "test_keys": {
            "queries": [
                {"hostname": "x.com", "failure": "dns_nxdomain_error", "answers": None,
                 "engine": "system", "query_type": "A"}
            ],
            "tcp_connect": [],
            "requests": [],
            "control": {"dns": {"failure": None, "addrs": ["104.244.42.1"]}},
            "blocking": "dns",
            "accessible": False,
        },
    }
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)
KEYS = ["test_keys", "input", "measurement_start_time", "test_name", "raw_measurement", "results"]
MUTATED = st.builds(
    lambda k, v: json.dumps({**json.loads(REAL), k: v}), st.sampled_from(KEYS), JSON
)
LINE = st.one_of(
    st.text(max_size=30),
    JSON.map(json.dumps),
    MUTATED,
    st.integers(1, len(REAL) - 1).map(lambda n: REAL[:n]),
    st.just('{"raw_measurement": "{\\"a\\": \\"\\ud800\\"}"}'),
    st.just("[" * 5000),
).map(lambda s: s.replace("\n", " ").replace("\r", " "))


def read(content: bytes, name: str = "m.jsonl") -> list[Measurement | Problem] | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            return list(read_ooni(path))
        except OoniFormatError as exc:
            assert str(exc)
            return None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(LINE, max_size=5), st.integers(0, 5), st.booleans())
@example(['{"raw_measurement": "{not json"}'], 1, False)
@example(["\x0c0"], 0, False)  # a form feed split the line: line numbers went wrong
@example(["[" * 5000], 1, True)
@example(['{"test_name": "web_connectivity", "input": "\\ud800", "test_keys": {}}'], 0, False)
def test_real_measurements_among_hostile_lines(bad: list[str], at: int, packed: bool) -> None:
    lines = [REAL, *bad]
    lines.insert(at % len(lines) + 1, REAL.replace("0123456789abcdef", "fedcba9876543210"))
    content = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    items = read(gzip.compress(content) if packed else content)
    assert items is not None  # the first line is a real measurement: never refused whole
    measurements = [i for i in items if isinstance(i, Measurement)]
    assert {m.id for m in measurements} >= {
        "ooni:20231217140000.000000_PK_webconnectivity_0123456789abcdef",
        "ooni:20231217140000.000000_PK_webconnectivity_fedcba9876543210",
    }
    for item in items:
        if isinstance(item, Problem):
            assert item.reason and (item.line is None or 1 <= item.line <= len(lines))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
@example(b"\x1f\x8b\x08\x00")  # a gzip header, then nothing
@example(b"\xef\xbb\xbf{")
@example(b'{"results": [1, "x", null]}')
def test_any_bytes(content: bytes) -> None:
    read(content, "m.json")
