"""The platform simulator: an HTTP server answering on the same paths and in the same JSON shapes
as the YouTube, Graph (Facebook, Instagram) and X APIs, driven by a scenario file, so jalsa can be
demoed and tested without credentials. Used only by the demo, tests and benchmarks.

Each platform's simulated API lives in its package (`jalsa/platforms/<name>/sim/`); here are
what they share (`kit.py`, `simulator.py`, `graph.py`), the app that assembles them from the
platform registry (`server.py`), the scenario and the ways to run it."""

from jalsa.sim.runner import SimServer, make_clock
from jalsa.sim.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    Stream,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    scenario_with_streams,
)
from jalsa.sim.server import create_app, sim_base_urls

__all__ = [
    "DEFAULT_SCENARIO",
    "Scenario",
    "SimServer",
    "Stream",
    "builtin_scenarios",
    "create_app",
    "load_scenario",
    "make_clock",
    "parse_scenario",
    "scenario_with_streams",
    "sim_base_urls",
]
