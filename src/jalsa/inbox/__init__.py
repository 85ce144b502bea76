"""Unified inbox and code-of-conduct moderation (issue 6).

The names below are imported when first used (PEP 562): loading the classifier alone
(`jalsa.inbox.shipped`) must not import the inbox's store, its database layer and pandas.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from jalsa.inbox.model_files import load_model
    from jalsa.inbox.policy import Policy
    from jalsa.inbox.policy_file import load_policy
    from jalsa.inbox.service import InboxService

_WHERE = {
    "InboxService": "jalsa.inbox.service",
    "Policy": "jalsa.inbox.policy",
    "load_model": "jalsa.inbox.model_files",
    "load_policy": "jalsa.inbox.policy_file",
}

__all__ = ["InboxService", "Policy", "load_model", "load_policy"]


def __getattr__(name: str) -> _typing.Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'jalsa.inbox' has no attribute {name!r}")
    return getattr(_importlib.import_module(module), name)
