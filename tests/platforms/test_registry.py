from __future__ import annotations

import pytest

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.platforms.registry import CATALOGUE, CONNECTORS, connector_for, get_metric


def test_every_kind_has_one_connector() -> None:
    assert sorted(CONNECTORS) == ["facebook", "instagram", "x_counts", "x_space", "youtube"]
    for kind, cls in CONNECTORS.items():
        assert cls.kind == kind
        assert connector_for(kind) is cls


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_declared_capabilities_point_at_real_things(kind: str) -> None:
    cls = CONNECTORS[kind]
    fields = Settings.model_fields
    assert cls.base_url_setting in fields
    assert cls.credential_setting in fields
    assert cls.interval_setting in fields
    assert cls.metrics, "a connector must produce at least one metric"
    for name in cls.metrics:
        assert get_metric(name).platform == cls.platform
    assert cls.title and cls.id_help


def test_every_platform_metric_in_the_catalogue_has_a_connector() -> None:
    produced = {name for cls in CONNECTORS.values() for name in cls.metrics}
    platform_metrics = {m.name for m in CATALOGUE if m.platform != "jalsa"}
    assert produced == platform_metrics


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UserError) as caught:
        connector_for("tiktok")
    message = str(caught.value)
    assert "'tiktok'" in message
    assert "facebook, instagram, x_counts, x_space, youtube" in message
