"""What a platform plugin contributes, and the pluggy hook through which it says so.

A platform is one package (`jalsa/platforms/youtube/`, or a third-party distribution) that
describes itself with a `Platform`: its audience connectors (one per stream kind), the line
formats its exports and raw logs come in, its moderation actions, its inbox collecting and
the module path of its simulated API. The package implements one hook, as Datasette's
plugins do:

    from jalsa.platforms.plugin import Platform, hookimpl

    @hookimpl
    def jalsa_platforms() -> list[Platform]:
        return [Platform(name="twitch", title="Twitch", connectors=(TwitchConnector,))]

Built-in platforms are registered by `registry.py`; others through the `jalsa.plugins` entry
point group (see docs/adding-a-platform.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from jalsa.metrics import Metric
from jalsa.platforms.actions import PlatformActions
from jalsa.platforms.base import Connector
from jalsa.platforms.collect.inbox import InboxSource
from jalsa.platforms.sources import LineSource

PROJECT = "jalsa"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class PluginError(ValueError):
    """A platform that contradicts itself or another one (a kind or a name used twice)."""


@dataclass(frozen=True)
class Platform:
    """One platform: `name` is the `platform` value of its posts, inbox items and metrics."""

    name: str
    title: str
    metrics: tuple[Metric, ...] = ()
    connectors: tuple[type[Connector], ...] = ()
    line_sources: tuple[type[LineSource], ...] = ()
    actions: type[PlatformActions] | None = None
    # What the inbox collects for an event's streams of this platform's kinds.
    inbox: type[InboxSource] | None = None
    # The module path of the platform's simulated API ("jalsa.platforms.youtube.sim.api"): its
    # test double, which `jalsa.sim.server` imports by this path, so nothing in production
    # imports it (docs/adding-a-platform.md, "A simulator").
    simulator: str | None = None
    # Settings the platform adds to jalsa's (name -> (type, default)), read from JALSA_<NAME>
    # and jalsa.toml like the others; the built-in platforms' are in jalsa/config.py.
    settings: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts: list[tuple[str, str]] = [(m.name, m.platform) for m in self.metrics]
        parts += [(c.__name__, c.platform) for c in self.connectors]
        parts += [(s.__name__, s.platform) for s in self.line_sources]
        if self.actions is not None:
            parts.append((self.actions.__name__, self.actions.platform))
        if self.inbox is not None:
            parts.append((self.inbox.__name__, self.inbox.platform))
        for part, platform in parts:
            if platform != self.name:
                raise PluginError(f"platform {self.name!r}: {part} says it belongs to {platform!r}")
        for name in self.settings:
            if not name.startswith(f"{self.name}_"):
                raise PluginError(
                    f"platform {self.name!r}: setting {name!r} must start with '{self.name}_'"
                )
        declared = {m.name for m in self.metrics}
        for c in self.connectors:
            if missing := set(c.metrics) - declared:
                raise PluginError(
                    f"platform {self.name!r}: {c.__name__} produces undeclared metrics "
                    f"{sorted(missing)}"
                )


class PlatformSpec:
    """The hooks a platform plugin may implement."""

    @hookspec
    def jalsa_platforms(self) -> list[Platform]:  # type: ignore[empty-body]
        """The platforms this plugin adds."""
