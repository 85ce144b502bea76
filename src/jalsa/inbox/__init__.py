"""Unified inbox and code-of-conduct moderation (issue 6)."""

from jalsa.inbox.model_files import load_model
from jalsa.inbox.policy import Policy
from jalsa.inbox.policy_file import load_policy
from jalsa.inbox.service import InboxService

__all__ = [
    "InboxService",
    "Policy",
    "load_model",
    "load_policy",
]
