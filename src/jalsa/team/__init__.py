"""The team: accounts and passwords, browser sessions, invitations (and the first admin's
link), API tokens, the roles and what each may do, and the audit log. Used by the web app, the
CLI, the simulator's demo and the services that audit their writes; it needs only the store.

Its public API is below; the modules are named for what they do (accounts, sessions,
invitations, tokens, roles, audit, hashing)."""

from jalsa.team.accounts import (
    MIN_PASSWORD,
    active_admins,
    authenticate,
    change_user,
    check_password,
    check_username,
    create_user,
    display_names,
    end_access,
    find_user,
    log_in,
    members,
    members_who_may,
)
from jalsa.team.audit_log import Actor, audit, audit_entries
from jalsa.team.hashing import digest
from jalsa.team.invitations import (
    FIRST_ADMIN_NOTE,
    FirstAdminLink,
    accept_invitation,
    create_invitation,
    first_admin_link,
    invite,
    open_invitation,
    pending_invitations,
)
from jalsa.team.roles import (
    ALLOWS,
    INVITABLE,
    MATRIX,
    SCOPE_ALLOWS,
    TOKEN_SCOPES,
    Perm,
    Role,
    allowed,
    can_invite,
    matrix_markdown,
    token_allows,
)
from jalsa.team.sessions import create_session, end_session, lookup_session
from jalsa.team.tokens import (
    TOKEN_PREFIX,
    create_api_token,
    issue_token,
    lookup_api_token,
    own_tokens,
    revoke_token,
)

__all__ = [
    "ALLOWS",
    "FIRST_ADMIN_NOTE",
    "INVITABLE",
    "MATRIX",
    "MIN_PASSWORD",
    "SCOPE_ALLOWS",
    "TOKEN_PREFIX",
    "TOKEN_SCOPES",
    "Actor",
    "FirstAdminLink",
    "Perm",
    "Role",
    "accept_invitation",
    "active_admins",
    "allowed",
    "audit",
    "audit_entries",
    "authenticate",
    "can_invite",
    "change_user",
    "check_password",
    "check_username",
    "create_api_token",
    "create_invitation",
    "create_session",
    "create_user",
    "digest",
    "display_names",
    "end_access",
    "end_session",
    "find_user",
    "first_admin_link",
    "invite",
    "issue_token",
    "log_in",
    "lookup_api_token",
    "lookup_session",
    "matrix_markdown",
    "members",
    "members_who_may",
    "open_invitation",
    "own_tokens",
    "pending_invitations",
    "revoke_token",
    "token_allows",
]
