"""Live tracking: planning and scheduling polls, storing samples, the live aggregate (restored
from the store, updated by the tracker and by the feed that follows the store) and the event bus."""
