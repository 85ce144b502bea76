"""Facebook's simulated Graph API, the platform's test double: `jalsa.sim.server` loads `api.py`
by the module path in `Platform.simulator`; nothing in production imports it. The paths,
credential gate and errors Facebook shares with Instagram are the kit's (`jalsa.sim.graph`)."""
