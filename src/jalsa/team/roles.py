"""Who may do what: the roles, the one written permission matrix, whom each role may invite,
and what an API token's scope allows. The web app's routes each name the permission they need
(`jalsa.web.deps.Requires`); docs/permissions.md is generated from this table and a test keeps
them equal."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A team member's role; what each may do is in MATRIX."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MODERATOR = "moderator"
    VOLUNTEER = "volunteer"
    VIEWER = "viewer"


class Perm(StrEnum):
    """Something a role may see or do; each route needs one (`ALLOWS` says what it allows)."""

    VIEW_EVENTS = "events:view"
    EDIT_EVENTS = "events:edit"
    VIEW_CREDENTIALS = "credentials:view"
    EDIT_CREDENTIALS = "credentials:edit"
    VIEW_USERS = "users:view"
    INVITE = "users:invite"
    MANAGE_USERS = "users:manage"
    VIEW_AUDIT = "audit:view"
    OWN_TOKENS = "tokens:own"
    VIEW_WATCH = "watch:view"
    SUBMIT_WATCH = "watch:submit"
    SUBMIT_ANY_VANTAGE = "watch:submit-any"
    VIEW_INBOX = "inbox:view"
    REPLY_INBOX = "inbox:reply"
    MODERATE_INBOX = "inbox:moderate"
    APPROVE_INBOX = "inbox:approve"
    VIEW_SMS = "sms:view"
    EDIT_SMS = "sms:edit"
    SEND_SMS = "sms:send"


# What each permission lets a role see or do (the first column of docs/permissions.md).
ALLOWS: dict[Perm, str] = {
    Perm.VIEW_EVENTS: "event list, live dashboard, timeline, stream health, conversation "
    "figures (posts, hashtags, spikes)",
    Perm.EDIT_EVENTS: "create and edit events, attach streams",
    Perm.VIEW_CREDENTIALS: "which platform credentials are set (hints only)",
    Perm.EDIT_CREDENTIALS: "enter or remove platform credentials",
    Perm.VIEW_USERS: "the team list",
    Perm.INVITE: "invite volunteers, moderators and viewers",
    Perm.MANAGE_USERS: "invite any role, change roles, deactivate accounts",
    Perm.VIEW_AUDIT: "the audit log",
    Perm.OWN_TOKENS: "create and revoke one's own API tokens",
    Perm.VIEW_WATCH: "disruption incidents and probe measurements",
    Perm.SUBMIT_WATCH: "upload probe measurements from a vantage agent, ask the server for "
    "control measurements",
    Perm.SUBMIT_ANY_VANTAGE: "upload measurements under any vantage name (without it: only "
    "with an agent token, for the vantage named on it)",
    # Comments hold abuse and personal data: the whole inbox is for those who moderate it;
    # a volunteer sees the items assigned to them (inbox:reply), not the queue.
    Perm.VIEW_INBOX: "every item of an event's inbox, with its decisions and replies "
    "(without it: only the items assigned to oneself)",
    Perm.REPLY_INBOX: "see the inbox items assigned to oneself, draft replies (checked against "
    "the code of conduct) and send those the check passed or a coordinator approved",
    Perm.MODERATE_INBOX: "hide, allow, review, unhide and ban; undo a decision; assign items; "
    "record an author's appeal",
    Perm.APPROVE_INBOX: "approve replies the code of conduct flagged; decide appeals",
    # Campaigns show counts and texts, never a supporter's number or name.
    Perm.VIEW_SMS: "SMS campaigns, their preview (counts, encoding, cost) and live progress",
    Perm.EDIT_SMS: "write SMS campaign drafts",
    Perm.SEND_SMS: "send, pause and cancel SMS campaigns",
}


_EVERYONE = {Perm.VIEW_EVENTS, Perm.VIEW_WATCH}
MATRIX: dict[Role, frozenset[Perm]] = {
    Role.VIEWER: frozenset(_EVERYONE),
    Role.VOLUNTEER: frozenset(_EVERYONE | {Perm.OWN_TOKENS, Perm.SUBMIT_WATCH, Perm.REPLY_INBOX}),
    Role.MODERATOR: frozenset(
        _EVERYONE
        | {
            Perm.OWN_TOKENS,
            Perm.VIEW_USERS,
            Perm.VIEW_INBOX,
            Perm.REPLY_INBOX,
            Perm.MODERATE_INBOX,
            Perm.VIEW_SMS,
            Perm.EDIT_SMS,
        }
    ),
    Role.COORDINATOR: frozenset(
        _EVERYONE
        | {
            Perm.OWN_TOKENS,
            Perm.EDIT_EVENTS,
            Perm.VIEW_CREDENTIALS,
            Perm.EDIT_CREDENTIALS,
            Perm.VIEW_USERS,
            Perm.INVITE,
            Perm.VIEW_AUDIT,
            Perm.SUBMIT_WATCH,
            Perm.SUBMIT_ANY_VANTAGE,
            Perm.VIEW_INBOX,
            Perm.REPLY_INBOX,
            Perm.MODERATE_INBOX,
            Perm.APPROVE_INBOX,
            Perm.VIEW_SMS,
            Perm.EDIT_SMS,
            Perm.SEND_SMS,
        }
    ),
    Role.ADMIN: frozenset(Perm),
}

# Roles a user may hand out by invitation: coordinators invite the field team, admins anyone.
INVITABLE: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.COORDINATOR: frozenset({Role.VOLUNTEER, Role.MODERATOR, Role.VIEWER}),
}


# What an API token may do, on top of its owner's role: no token manages tokens (a stolen one
# cannot mint a successor), and an agent token does only what a vantage agent does, for the
# vantage named on it (checked by the upload route).
TOKEN_SCOPES: dict[str, frozenset[Perm]] = {
    "api": frozenset(Perm) - {Perm.OWN_TOKENS},
    "agent": frozenset({Perm.SUBMIT_WATCH}),
}
SCOPE_ALLOWS = {
    "api": "what the owner's role allows, except creating or revoking tokens",
    "agent": "upload measurements for the one vantage named on the token, and ask the server "
    "for control measurements; nothing else",
}


def token_allows(scope: str, perm: Perm) -> bool:
    """Whether an API token of this scope may use `perm` (its owner's role must allow it too)."""
    return perm in TOKEN_SCOPES.get(scope, frozenset())


def allowed(role: str, perm: Perm) -> bool:
    """Whether the role has the permission; an unknown role has none."""
    try:
        return perm in MATRIX[Role(role)]
    except ValueError:
        return False


def can_invite(inviter: str, role: str) -> bool:
    """Whether someone with the role `inviter` may invite someone as `role`."""
    try:
        return Role(role) in INVITABLE.get(Role(inviter), frozenset())
    except ValueError:
        return False


def matrix_markdown() -> str:
    """The matrix as a Markdown table (docs/permissions.md)."""
    roles = list(Role)
    lines = [
        "# Permission matrix",
        "",
        "Generated from `src/jalsa/team/roles.py`; a test keeps this file equal to it.",
        "",
        "| permission | allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm in Perm:
        cells = ["yes" if perm in MATRIX[r] else "—" for r in roles]
        lines.append(f"| `{perm.value}` | {ALLOWS[perm]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Invitations: an admin may invite any role; a coordinator may invite "
        "volunteers, moderators and viewers.",
        "",
        "API tokens carry a scope, and a call needs both the role's permission and the scope's:",
        "",
        "| scope | allows |",
        "|---|---|",
        *(f"| `{scope}` | {text} |" for scope, text in SCOPE_ALLOWS.items()),
        "",
        "Measurements from a volunteer come through an agent token, for its vantage only; "
        "coordinators and admins may upload for any vantage (`watch:submit-any`).",
        "",
    ]
    return "\n".join(lines)
