"""Every platform, in one place: the built-in ones and those installed plugins add through the
`jalsa.plugins` entry point group, gathered once with pluggy. The tables the rest of jalsa reads
(the metric catalogue, connectors by stream kind, line sources by name, actions and inbox
collecting by platform) are derived here and nowhere else.

Adding a built-in platform: write its package and add it to BUILTIN. Adding one from outside
the repository: docs/adding-a-platform.md."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy

from jalsa.config import extend_settings
from jalsa.errors import UserError
from jalsa.metrics import DERIVED, Metric
from jalsa.platforms.actions import PlatformActions
from jalsa.platforms.base import Connector
from jalsa.platforms.collect.inbox import InboxSource
from jalsa.platforms.plugin import PROJECT, Platform, PlatformSpec, PluginError
from jalsa.platforms.sources import LineSource

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "jalsa.plugins"
BUILTIN = (
    "jalsa.platforms.youtube",
    "jalsa.platforms.facebook",
    "jalsa.platforms.x",
    "jalsa.platforms.instagram",
)


@dataclass(frozen=True)
class Registry:
    """The platforms and the tables derived from them."""

    platforms: dict[str, Platform]
    metrics: dict[str, Metric]
    connectors: dict[str, type[Connector]]
    line_sources: dict[str, type[LineSource]]
    actions: dict[str, type[PlatformActions]]
    inbox_sources: dict[str, type[InboxSource]]


def _add(table: dict[str, object], key: str, value: object, what: str, owner: str) -> None:
    if key in table and table[key] is not value:
        raise PluginError(f"{what} {key!r} of platform {owner!r} is already registered")
    table[key] = value


def build(platforms: Iterable[Platform]) -> Registry:
    """The registry of these platforms; a name, stream kind or line format claimed twice is a
    PluginError naming it."""
    by_name: dict[str, object] = {}
    catalogue: dict[str, object] = {}
    connectors: dict[str, object] = {}
    sources: dict[str, object] = {}
    actions: dict[str, object] = {}
    inbox: dict[str, object] = {}
    for p in platforms:
        _add(by_name, p.name, p, "platform", p.name)
        for m in p.metrics:
            _add(catalogue, m.name, m, "metric", p.name)
        for c in p.connectors:
            _add(connectors, c.kind, c, "stream kind", p.name)
        for s in p.line_sources:
            _add(sources, s.name, s, "line format", p.name)
        if p.actions is not None:
            _add(actions, p.name, p.actions, "actions", p.name)
        if p.inbox is not None:
            _add(inbox, p.name, p.inbox, "inbox collecting", p.name)
    for m in DERIVED:
        _add(catalogue, m.name, m, "metric", "jalsa")
    return Registry(by_name, catalogue, connectors, sources, actions, inbox)  # type: ignore[arg-type]


def plugin_manager(entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the built-in platforms and, unless told not to, every installed
    plugin. A plugin that fails to load is left out with a warning: one broken third-party
    package must not stop the rally's dashboard."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(PlatformSpec)
    for name in BUILTIN:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:
            log.warning("a jalsa plugin failed to load and is left out: %s", exc)
    return pm


def collect(pm: pluggy.PluginManager) -> Registry:
    """The registry of every platform the manager's plugins add, in the order they were
    registered (pluggy calls the last registered first)."""
    return build(p for batch in reversed(pm.hook.jalsa_platforms()) for p in batch)


REGISTRY = collect(plugin_manager())
if _added := {k: v for p in REGISTRY.platforms.values() for k, v in p.settings.items()}:
    extend_settings(_added)
PLATFORMS = REGISTRY.platforms
METRICS = REGISTRY.metrics
CATALOGUE: tuple[Metric, ...] = tuple(METRICS.values())
CONNECTORS = REGISTRY.connectors
LINE_SOURCES = REGISTRY.line_sources
ACTIONS = REGISTRY.actions
INBOX_SOURCES = REGISTRY.inbox_sources


def connector_for(kind: str) -> type[Connector]:
    """The connector class for a stream kind; an unknown kind is the user's to fix."""
    try:
        return CONNECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise UserError(f"unknown stream kind {kind!r}: use one of {known}") from None


def inbox_source_for(kind: str) -> type[InboxSource] | None:
    """The inbox collecting of the platform whose streams are of `kind`; None when that
    platform has none or no installed platform knows the kind."""
    connector = CONNECTORS.get(kind)
    return None if connector is None else INBOX_SOURCES.get(connector.platform)


def get_metric(name: str) -> Metric:
    """The catalogue entry for `name`; an unknown name is a programming error."""
    return METRICS[name]


def audience_metric(cls: type[Connector]) -> str | None:
    """The connector's concurrent-audience metric (the first it declares), or None: the one
    figure per stream that the dashboard draws and the disruption watch compares."""
    found = [m for m in cls.metrics if METRICS[m].is_audience]
    return found[0] if found else None
