"""The simulator's HTTP app: every registered platform's simulated API on the platform's own
paths, in its JSON shapes, with its error bodies and headers, plus the simulator's own
endpoints.

    Simulator GET  /_sim/status
              GET  /_sim/moderation          (everything done through the moderation APIs)
              POST /_sim/moderation/delete   {"platform", "id"}  (an author deletes an item)

A platform brings its simulator as a module named by `Platform.simulator` (the built-in ones:
`jalsa.platforms.<name>.sim.api`), imported here by its path, so production code never imports
a simulator. The module exposes `BASE_URLS` (setting → path under the simulator's root) and
`routes(sim)`, the Starlette routes of its endpoints on the shared `Simulator`
(`jalsa.sim.simulator`), built with the kit (`jalsa.sim.kit`, and `jalsa.sim.graph` for the
Graph API's platforms).

Every answer is computed from the scenario and the shared clock: posts, live chat messages and
comments are generated per minute, so what the collectors read agrees with the counts and the
audience the tracker reads.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from jalsa.clock import Clock
from jalsa.platforms.plugin import PluginError
from jalsa.platforms.registry import PLATFORMS
from jalsa.sim.scenario import Scenario
from jalsa.sim.simulator import Simulator


@cache
def simulators() -> tuple[ModuleType, ...]:
    """The simulator module of every registered platform that has one, in registry order."""
    found = []
    for platform in PLATFORMS.values():
        if platform.simulator is None:
            continue
        try:
            module = importlib.import_module(platform.simulator)
        except ImportError as exc:
            raise PluginError(
                f"platform {platform.name!r}: simulator {platform.simulator!r} does not "
                f"import: {exc}"
            ) from exc
        for name in ("BASE_URLS", "routes"):
            if not hasattr(module, name):
                raise PluginError(
                    f"platform {platform.name!r}: simulator {platform.simulator!r} has no {name}"
                )
        found.append(module)
    return tuple(found)


def sim_base_urls(root: str) -> dict[str, str]:
    """Settings attribute → base URL, for pointing jalsa's connectors at a simulator at `root`
    (e.g. `http://127.0.0.1:8765`)."""
    root = root.rstrip("/")
    return {name: root + path for m in simulators() for name, path in m.BASE_URLS.items()}


def create_app(
    scenario: Scenario,
    clock: Clock,
    *,
    hang_seconds: float = 60.0,
    stream_seconds: float = 300.0,
) -> Starlette:
    """The simulator as an ASGI app. `clock` dates everything (share one CompressedClock with
    the tracker in a demo); `hang_seconds` bounds how long an "unreachable" request hangs;
    `stream_seconds` (clock time) how long X keeps a filtered-stream connection open. The
    `Simulator` is `app.state.sim`; a platform's own state is `app.state.sim.parts[name]`."""
    sim = Simulator(scenario, clock, hang_seconds=hang_seconds, stream_seconds=stream_seconds)
    routes: list[BaseRoute] = []
    for module in simulators():
        for route in module.routes(sim):
            # A shared API's routes (Graph's, returned by Facebook and Instagram) count once.
            if not any(route is seen for seen in routes):
                routes.append(route)
    routes += [
        Route("/_sim/moderation", sim.moderation_endpoint),
        Route("/_sim/moderation/delete", sim.delete_item, methods=["POST"]),
        Route("/_sim/status", sim.status_endpoint),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
