"""Secrets at rest: platform tokens and gateway credentials are encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) before they reach the database, and only a hint is ever shown."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from jalsa.config import Settings
from jalsa.errors import UserError

KEY_FILE = "secret.key"


class Vault:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise UserError(
                "JALSA_SECRET_KEY is not a valid key; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(cls.key_of(settings))

    @staticmethod
    def key_of(settings: Settings) -> bytes:
        """The secret key: JALSA_SECRET_KEY, else the data directory's key file."""
        if settings.secret_key is not None:
            return settings.secret_key.get_secret_value().encode()
        return _key_file(settings.data_dir / KEY_FILE)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str, name: str | None = None) -> str:
        """The plaintext; `name` (the credential's setting) makes the error say which."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            if name is None:
                raise UserError(
                    "a stored credential cannot be decrypted: the secret key changed. Restore "
                    "JALSA_SECRET_KEY (or the data directory's secret.key), or enter it again."
                ) from None
            raise UserError(
                f"the stored credential {name} cannot be decrypted with this process's secret "
                "key: it was entered where another key is used. Give every jalsa process the "
                "web app's key (JALSA_SECRET_KEY, or a copy of the secret.key file in its "
                f"JALSA_DATA_DIR), set JALSA_{name.upper()} for this process, or enter the "
                "credential again."
            ) from None


def _key_file(path: Path) -> bytes:
    """Read the key file, creating it (owner-only) the first time."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def hint(secret: str) -> str:
    """What may be shown of a secret: its last four characters, if it is long enough."""
    return f"…{secret[-4:]}" if len(secret) >= 16 else "…"
