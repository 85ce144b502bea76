"""Errors a user can cause. The CLI prints their message and exits non-zero, no traceback."""


class UserError(Exception):
    """Bad input, bad configuration or bad credentials: the message says what to do."""

    exit_code = 2


class NotFound(UserError):
    exit_code = 3
