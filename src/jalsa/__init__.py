"""jalsa: a self-hosted command center for virtual rallies."""

__version__ = "0.1.0"
