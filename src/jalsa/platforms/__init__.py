"""The platforms jalsa speaks to, one package each (`youtube/`, `facebook/`, `instagram/`,
`x/`), and what they share: the connector base (`base.py`), the Graph API (`graph.py`), the
collection layer (`collect/`), the records platforms hand the areas (`post_record.py`,
`inbox_record.py`), the line-source and actions bases (`sources.py`, `actions.py`), and the
plugin hook and registry (`plugin.py`, `registry.py`). Areas use platforms; platforms use
only the store and the shared core."""

from jalsa.platforms.base import Connector, PollError, PollResult, Reading, StreamStatus, Target
from jalsa.platforms.plugin import Platform, hookimpl
from jalsa.platforms.registry import (
    CONNECTORS,
    PLATFORMS,
    audience_metric,
    connector_for,
    get_metric,
)

__all__ = [
    "CONNECTORS",
    "PLATFORMS",
    "Connector",
    "Platform",
    "PollError",
    "PollResult",
    "Reading",
    "StreamStatus",
    "Target",
    "audience_metric",
    "connector_for",
    "get_metric",
    "hookimpl",
]
