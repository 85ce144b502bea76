"""Scenario files: validation messages, the built-in scenario, and the curves' determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import CALM, RESTRICTED, TEST_SCENARIO, make_scenario

from jalsa.errors import UserError
from jalsa.sim.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    query_terms,
    scenario_with_streams,
)

MINIMAL = """
name = "minimal"
start = 2023-12-17T20:00:00
duration_minutes = 60

[[streams]]
platform = "youtube"
id = "abc"
ramp_minutes = 5
peak = 1000
peak_at_minutes = 30
"""


def error_of(text: str, tmp_path: Path) -> str:
    path = tmp_path / "rally.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


# --- validation -----------------------------------------------------------------------------


def test_minimal_scenario_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rally.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.timezone == "Asia/Karachi"
    assert scenario.start_utc == datetime(2023, 12, 17, 15, 0, tzinfo=UTC)
    assert scenario.end_utc == datetime(2023, 12, 17, 16, 0, tzinfo=UTC)
    assert scenario.clock_start == scenario.start_utc - timedelta(minutes=15)


def test_misspelt_field_names_the_stream_and_field(tmp_path: Path) -> None:
    message = error_of(MINIMAL.replace("peak = 1000", "peek = 1000"), tmp_path)
    assert "streams[0] (youtube 'abc').peek: unknown field" in message
    assert "streams[0] (youtube 'abc').peak: required field is missing" in message


def test_negative_peak_is_refused(tmp_path: Path) -> None:
    message = error_of(MINIMAL.replace("peak = 1000", "peak = -5"), tmp_path)
    assert "streams[0] (youtube 'abc').peak: Input should be greater than or equal to 0" in message


def test_unknown_platform_lists_the_valid_ones(tmp_path: Path) -> None:
    message = error_of(MINIMAL.replace('"youtube"', '"tiktok"'), tmp_path)
    assert "streams[0] (tiktok 'abc').platform" in message
    assert "'youtube'" in message and "'x_counts'" in message


def test_ramp_after_peak_is_refused(tmp_path: Path) -> None:
    message = error_of(MINIMAL.replace("ramp_minutes = 5", "ramp_minutes = 45"), tmp_path)
    assert "ramp_minutes (45) must not be after peak_at_minutes (30)" in message


def test_peak_after_the_end_is_refused(tmp_path: Path) -> None:
    message = error_of(MINIMAL.replace("peak_at_minutes = 30", "peak_at_minutes = 90"), tmp_path)
    assert "peak_at_minutes (90) is after the end of the rally" in message


def test_platform_specific_field_on_the_wrong_platform(tmp_path: Path) -> None:
    message = error_of(MINIMAL + 'video_id = "999"\n', tmp_path)
    assert "video_id applies only to facebook streams, not to youtube" in message


def test_bad_toml_says_where(tmp_path: Path) -> None:
    message = error_of(MINIMAL + "oops = \n", tmp_path)
    assert "is not valid TOML" in message and "line" in message


def test_unknown_time_zone(tmp_path: Path) -> None:
    message = error_of('timezone = "Asia/Lahore"\n' + MINIMAL, tmp_path)
    assert "timezone: unknown time zone 'Asia/Lahore'" in message


def test_restriction_window_must_end_after_it_starts(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[[restrictions]]\nstart_minutes = 30\nend_minutes = 10\nplatforms = ['x']\n"
        "audience_factor = 0.2\n"
    )
    message = error_of(text, tmp_path)
    assert "restrictions[0]: end_minutes (10) must be after start_minutes (30)" in message


def test_restriction_factor_above_one(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[[restrictions]]\nstart_minutes = 0\nend_minutes = 10\nplatforms = ['x']\n"
        "audience_factor = 1.5\n"
    )
    assert "restrictions[0].audience_factor" in error_of(text, tmp_path)


def test_graph_code_only_for_throttling_codes(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[[rate_limit_bursts]]\nplatform = 'facebook'\nstart_minutes = 0\nend_minutes = 1\n"
        "code = 190\n"
    )
    assert "code must be a Graph throttling code" in error_of(text, tmp_path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    stream = MINIMAL[MINIMAL.index("[[streams]]") :]
    assert "id 'abc' is already used by streams[0]" in error_of(MINIMAL + stream, tmp_path)


def test_missing_file_names_the_built_in_scenarios(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not exist.*jalsa-2023-12-17"):
        load_scenario(tmp_path / "nope.toml")


def test_several_problems_are_reported_in_one_message(tmp_path: Path) -> None:
    text = MINIMAL.replace("duration_minutes = 60", "duration_minutes = 0").replace(
        "peak = 1000", "peak = -1"
    )
    message = error_of(text, tmp_path)
    assert "duration_minutes" in message and ".peak" in message


# --- the built-in scenario ------------------------------------------------------------------


def test_default_scenario_is_the_17_december_jalsa() -> None:
    scenario = load_scenario(None)
    assert DEFAULT_SCENARIO in builtin_scenarios()
    assert load_scenario(DEFAULT_SCENARIO) == scenario
    local = scenario.start_utc.astimezone(scenario.tz)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2023-12-17", 20, 0)
    assert 90 <= scenario.duration_minutes <= 150
    platforms = {s.platform for s in scenario.streams}
    assert platforms == {"youtube", "facebook", "x_space", "instagram", "x_counts"}
    counts = scenario.streams_of("x_counts")[0]
    assert "#ptivirtualjalsa" in query_terms(counts.x_query)
    assert 0.005 <= scenario.malformed_rate <= 0.02
    assert any(b.end_minutes - b.start_minutes <= 5 for b in scenario.rate_limit_bursts)


def test_default_scenario_audiences_are_plausible_not_claimed_millions() -> None:
    scenario = load_scenario(None)
    combined_peak = 0
    for minute in range(int(scenario.duration_minutes)):
        when = scenario.at(minute)
        combined = sum(
            scenario.expected_audience(s, when)
            for s in scenario.streams
            if s.platform != "x_counts"
        )
        combined_peak = max(combined_peak, combined)
    assert 10_000 <= combined_peak < 1_000_000


def test_default_scenario_restriction_starts_near_8_pm_and_collapses_every_platform() -> None:
    scenario = load_scenario(None)
    for platform in ("youtube", "facebook", "instagram", "x_space", "x_counts"):
        windows = [r for r in scenario.restrictions if r.covers(platform, 30)]
        assert windows, platform
        first = min(r.start_minutes for r in windows)
        assert -30 <= first <= 30
        factor = scenario.audience_factor(platform, 30)
        assert 0 < factor < 1  # VPNs: collapsed, not zero
        assert max(r.end_minutes for r in windows) - first >= 6 * 60


# --- curves ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_values_and_another_seed_differs() -> None:
    one, two, other = make_scenario(), make_scenario(), make_scenario(seed=8)
    for minute in (1, 12.5, 33, 61, 119):
        when = one.at(minute)
        for a, b in zip(one.streams, two.streams, strict=True):
            if a.platform == "x_counts":
                assert one.expected_posts(a, when) == two.expected_posts(b, when)
            else:
                assert one.expected_audience(a, when) == two.expected_audience(b, when)
    yt = one.streams[0]
    series = [one.expected_audience(yt, one.at(m)) for m in range(10, 30)]
    other_series = [other.expected_audience(other.streams[0], other.at(m)) for m in range(10, 30)]
    assert series != other_series


def test_audience_is_zero_outside_the_rally_and_follows_the_curve() -> None:
    scenario = make_scenario()
    yt = scenario.streams[0]
    assert scenario.expected_audience(yt, scenario.at(-0.01)) == 0
    assert scenario.expected_audience(yt, scenario.at(120)) == 0
    reseeded = scenario.model_copy(update={"seed": 1})
    peak = reseeded.expected_audience(yt, reseeded.at(60))
    assert 50000 * 0.85 <= peak <= 50000 * 1.15
    early = scenario.expected_audience(yt, scenario.at(2))
    assert early < peak / 3


def test_restriction_lowers_the_audience_by_its_factor() -> None:
    restricted = make_scenario()
    free = Scenario.model_validate(
        {**restricted.model_dump(exclude_unset=True), "restrictions": []}
    )
    for stream_r, stream_f in zip(restricted.streams, free.streams, strict=True):
        if stream_r.platform == "x_counts":
            continue
        when = restricted.at(RESTRICTED)
        low = restricted.expected_audience(stream_r, when)
        high = free.expected_audience(stream_f, when)
        assert high > 1000
        assert abs(low - 0.2 * high) <= 1, stream_r.platform
        calm = restricted.at(CALM)
        assert restricted.expected_audience(stream_r, calm) == free.expected_audience(
            stream_f, calm
        )


def test_posts_have_a_baseline_before_the_rally_and_a_peak_during_it() -> None:
    scenario = make_scenario()
    counts = scenario.streams_of("x_counts")[0]
    before = [scenario.expected_posts(counts, scenario.at(-60 - m)) for m in range(30)]
    assert 5 <= sum(before) / len(before) <= 15
    during = scenario.expected_posts(counts, scenario.at(25))
    assert during > 200
    # a bucket is a whole minute: any time inside it gives the same count
    minute = scenario.at(25)
    assert scenario.expected_posts(counts, minute + timedelta(seconds=59)) == during


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(min_value=-30, max_value=200, allow_nan=False),
    b=st.floats(min_value=-30, max_value=200, allow_nan=False),
)
def test_cumulative_counters_never_go_down(a: float, b: float) -> None:
    scenario = SCENARIO
    early, late = sorted((a, b))
    for stream in scenario.streams:
        if stream.platform == "x_counts":
            continue
        t1, t2 = scenario.at(early), scenario.at(late)
        assert scenario.expected_views(stream, t1) <= scenario.expected_views(stream, t2)
        assert scenario.expected_comments(stream, t1) <= scenario.expected_comments(stream, t2)
        assert scenario.expected_unique_views(stream, t2) <= scenario.expected_views(stream, t2)
        assert scenario.expected_audience(stream, t1) >= 0


SCENARIO = parse_scenario(TEST_SCENARIO)


def test_query_terms_ignore_operators_and_case() -> None:
    assert query_terms('(#PTIVirtualJalsa OR "#JalsaNow") -is:retweet lang:ur') == {
        "#ptivirtualjalsa",
        "#jalsanow",
    }


def test_synthetic_streams_for_benchmarks() -> None:
    scenario = scenario_with_streams(200, faults=False)
    audience = [s for s in scenario.streams if s.platform != "x_counts"]
    assert len(audience) == 200
    assert len({(s.platform, s.id) for s in scenario.streams}) == len(scenario.streams)
    assert {s.platform for s in audience} == {"youtube", "facebook", "x_space", "instagram"}
    assert scenario.restrictions == [] and scenario.malformed_rate == 0
    when = scenario.at(30)
    assert all(scenario.expected_audience(s, when) > 0 for s in audience)
    with_faults = scenario_with_streams(8)
    assert with_faults.restrictions and len(with_faults.streams) == 9


def test_a_restriction_probe_method_must_be_a_blocking_verdict(tmp_path: Path) -> None:
    restriction = (
        '\n[[restrictions]]\nstart_minutes = 10\nend_minutes = 20\nplatforms = ["x"]\n'
        'probe_method = "ok"\n'
    )
    message = error_of(MINIMAL + restriction, tmp_path)
    assert "probe_method 'ok' is not a blocking method" in message
    assert "tls.sni_filter" in message
