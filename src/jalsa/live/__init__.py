"""Live tracking: scheduling polls, storing samples, live aggregates and the event bus."""
