"""X's simulated API v2, the platform's test double: `jalsa.sim.server` loads `api.py` by the
module path in `Platform.simulator`; nothing in production imports it.

    api.py          Spaces and post counts (the audience), and the routes
    errors.py       X's problem bodies, the bearer-token check and the 15-minute rate windows
    posts.py        the simulated posts, and recent search
    stream.py       the filtered stream and its rules
    moderation.py   hidden replies, posting, mentions, replies in a conversation
"""
