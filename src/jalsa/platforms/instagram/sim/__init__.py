"""Instagram's simulated Graph API, the platform's test double: `jalsa.sim.server` loads
`api.py` by the module path in `Platform.simulator`; nothing in production imports it. The
paths, credential gate and errors Instagram shares with Facebook are the kit's
(`jalsa.sim.graph`)."""
