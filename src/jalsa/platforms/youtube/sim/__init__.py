"""YouTube's simulated Data API v3, the platform's test double: `jalsa.sim.server` loads
`api.py` by the module path in `Platform.simulator`; nothing in production imports it.

    api.py        videos.list, and the routes
    errors.py     YouTube's error bodies and the key, expiry and quota checks
    chat.py       liveChatMessages.list, and the chat's moderation (bans, insert, delete)
    comments.py   commentThreads.list, comments.list/insert/setModerationStatus
"""
