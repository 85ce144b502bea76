"""Unified inbox and code-of-conduct moderation (issue 6)."""
