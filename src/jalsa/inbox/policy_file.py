"""Reading a moderation policy file: the shipped `default_policy.yaml` or a team's own, as
YAML that refuses a key given twice, validated into a `Policy` with every problem reported by
line, and checked against the versions already used (a version's rules may not change)."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from jalsa.errors import UserError
from jalsa.inbox.policy import Policy
from jalsa.platforms.inbox_record import CATEGORIES

log = logging.getLogger(__name__)

DEFAULT_POLICY = "default_policy.yaml"
# The content hash of every shipped version of default_policy.yaml: editing the shipped file
# without a new `version` fails at load (and in the tests), as an edited copy would.
SHIPPED_VERSIONS: dict[str, str] = {
    "2026-11-23.1": "94e2e5ecd60948036c7f54418da783131e595f3c13b34dfba92594f1b009a5b9",
    "2026-12-07.1": "46d9395d70c289f2af073d474fff94a2a2172d4dd067a004fe199eb1c35ae532",
}


class PolicyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


def default_policy_text() -> str:
    """The shipped policy file's text (package data)."""
    return resources.files("jalsa.inbox").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")


def load_policy(
    path: str | Path | None = None,
    *,
    known_versions: Mapping[str, str] | None = None,
    on_edited: Literal["refuse", "warn"] = "refuse",
) -> Policy:
    """Read and validate a policy file (None: the shipped default). `known_versions` maps
    versions already used (e.g. in the audit log) to their content hash: a file whose rules
    changed but whose version did not is refused, or logged as a warning with "warn"."""
    if path is None:
        where, text = f"the default policy ({DEFAULT_POLICY})", default_policy_text()
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"{where}: no such policy file") from None
        except UnicodeDecodeError:
            raise UserError(f"{where}: not UTF-8 text; save the policy file as UTF-8") from None
        except OSError as exc:
            raise UserError(f"{where}: cannot read the policy file ({exc.strerror})") from None
    policy = parse_policy(text, where=where)
    known = {**SHIPPED_VERSIONS, **(known_versions or {})}
    expected = known.get(policy.version)
    if expected is not None and expected != policy.content_hash:
        message = (
            f"{where}: version {policy.version!r} was used before with other rules "
            f"(hash {expected[:12]}…, now {policy.content_hash[:12]}…); give the edited "
            "policy a new version, e.g. today's date and a number"
        )
        if on_edited == "refuse":
            raise UserError(message)
        log.warning(message)
    return policy


def parse_policy(text: str, *, where: str = "policy") -> Policy:
    """A policy from YAML text; every problem in one UserError with line numbers."""
    try:
        data = yaml.load(text, Loader=PolicyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise UserError(
            f"{where}: {at}{problem}; fix the YAML (indentation, a ':' after each key, "
            "quotes around text with ':' or '#')"
        ) from None
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(
            f"{where}: a policy file is a mapping with version, categories, ... "
            "(see the shipped default_policy.yaml)"
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=PolicyLoader)
        problems = [_problem(error, root) for error in exc.errors()]
        plural = "s" if len(problems) > 1 else ""
        raise UserError(
            f"{where}: {len(problems)} problem{plural} in the policy:\n  " + "\n  ".join(problems)
        ) from None


def _problem(error: Any, root: yaml.Node | None) -> str:
    """One validation error as `line N, key.path: what to fix`."""
    loc = [part for part in error["loc"] if part != "[key]"]
    path = ".".join(str(part) for part in loc) or "(top level)"
    line = _line_of(root, loc)
    at = f"line {line}, " if line else ""
    kind, message = error["type"], error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}; check its spelling against default_policy.yaml"
    elif kind == "missing":
        message = "required, but missing"
    if loc and loc[0] == "version" and kind == "string_type":
        message = 'the version must be text in quotes, e.g. version: "2026-12-07.1"'
    elif len(loc) == 2 and loc[0] == "categories" and "[key]" in error["loc"]:
        message = f"unknown category {loc[1]!r}; the categories are {', '.join(CATEGORIES)}"
    return f"{at}{path}: {message}"


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """The line (1-based) of the YAML key or item at `loc`, or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
