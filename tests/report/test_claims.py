"""Reading claimed figures: numbers as people write them, the platform, what was counted, and
the measured figure each is compared with."""

from __future__ import annotations

import pytest

from jalsa.report.claims import check_claim, parse_number
from reportkit import sample_audience


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4 million views on Facebook", 4e6),
        ("1.4m on FB", 1.4e6),
        ("2.5 lakh on YouTube", 2.5e5),
        ("4,000,000 views", 4e6),
        ("40,00,000 views", 4e6),
        ("1,5 million", 1.5e6),
        ("1,234.5 viewers on YouTube", 1234.5),
        ("1.000.000 views on FB", 1e6),
        ("2,50 lakh", 2.5e5),
        ("In 2024 we got 4 million views on Facebook", 4e6),
        ("4 mil views", 4e6),
        ("4.5 crore total views", 4.5e7),
        ("two million", None),
        ("", None),
    ],
)
def test_numbers_are_read_as_people_write_them(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def test_each_claim_is_compared_with_the_figure_it_most_likely_means() -> None:
    audience = sample_audience()
    views = check_claim("40,000 views on Facebook", audience)
    assert views.measured is not None and views.measured.value == 4000 and views.ratio == 10
    space = check_claim("1,000 listeners on the X Space", audience)
    assert space.counted == "present" and space.measured is not None
    assert space.measured.key == "audience.3.peak" and space.ratio == 5
    watching = check_claim("3,000 watching on YouTube", audience)
    assert watching.measured is not None and watching.measured.key == "audience.1.peak"
    unique = check_claim("6,000 people reached on Facebook", audience)
    assert unique.measured is not None and unique.measured.value == 3000 and unique.ratio == 2
    both = check_claim("26,000 views across Facebook and YouTube", audience)
    assert both.platform == "all" and both.measured is not None
    assert both.measured.value == 13000 and both.ratio == 2
    assert "summed over 2 streams" in both.measured.definition.lower()
    assert "Facebook view is 3 seconds" in both.measured.definition


def test_a_claim_no_figure_can_check_says_so() -> None:
    audience = sample_audience()
    x_views = check_claim("2 million views on Instagram", audience)
    assert x_views.measured is None and x_views.ratio is None
    assert "Instagram reports no view count" in x_views.explanation
    ig = check_claim("50,000 watching on Instagram", audience)
    assert ig.measured is not None and ig.measured.value is None and ig.ratio is None
    assert "Not measured: no viewer count" in ig.explanation
    vague = check_claim("millions watched", audience)
    assert vague.claimed is None and "could not read a number" in vague.explanation
    nowhere = check_claim("5 million viewers", audience)
    assert nowhere.platform is None and "could not read a platform" in nowhere.explanation


@pytest.mark.parametrize(
    ("text", "value", "platform", "counted"),
    [
        ("فیس بک پر 40 لاکھ ویوز", 4e6, "facebook", "views"),
        ("ایکس اسپیس پر ۵۰ لاکھ سامعین", 5e6, "x_space", "present"),
        ("یوٹیوب پر 2 ملین ناظرین", 2e6, "youtube", "present"),
    ],
)
def test_urdu_claims_are_read_too(text: str, value: float, platform: str, counted: str) -> None:
    check = check_claim(text, sample_audience())
    assert (check.claimed, check.platform, check.counted) == (value, platform, counted)
    assert check.ratio is not None
