"""What is stored instead of a secret: an argon2 hash of a password, a SHA-256 digest of a
random token (a session cookie, an invitation link, an API token). A copy of the database
opens no account."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, used to keep timing equal")


def digest(token: str) -> str:
    """The stored form of a random token (long and random: a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash. With no hash (no such user) a dummy one is
    checked, so the answer takes as long either way."""
    try:
        _hasher.verify(_DUMMY_HASH if password_hash is None else password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
