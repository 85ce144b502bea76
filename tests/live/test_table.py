"""The terminal table shows each stream's spend in the unit its connector class declares."""

from __future__ import annotations

from jalsa.live.table import spend_text

USAGE = {"requests": 7, "quota_units": 3, "billed_resources": 12, "cost_usd": 0.125}


def test_spend_is_shown_in_the_unit_that_matters_for_the_platform() -> None:
    shown = {
        kind: spend_text(kind, USAGE)
        for kind in ("youtube", "x_space", "x_counts", "facebook", "instagram", "unknown")
    }
    assert shown == {
        "youtube": "3 units",
        "x_space": "$0.12 (12 res)",
        "x_counts": "$0.12 (12 res)",
        "facebook": "7 req",
        "instagram": "7 req",
        "unknown": "7 req",
    }
