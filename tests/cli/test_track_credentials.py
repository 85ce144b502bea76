"""The tracker decrypts only the stored credentials its event's streams use: one entered in the
web app for something else, under a secret key this machine does not have, does not stop it;
one it needs and cannot decrypt stops it with a message naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet

from jalsa.config import get_settings
from jalsa.credentials import set_credential, with_stored_credentials
from jalsa.store import Store
from jalsa.vault import Vault


def _enter_elsewhere(database_url: str, name: str, value: str) -> None:
    """A credential entered in a web app whose secret key is not this machine's."""
    store = Store(database_url)
    try:
        with store.session() as session:
            set_credential(session, Vault(Fernet.generate_key()), name, value, None)
    finally:
        store.dispose()


def test_only_the_needed_credentials_are_decrypted(
    cli: Callable[..., Any], database_url: str
) -> None:
    _enter_elsewhere(database_url, "instagram_access_token", "another-event-token")
    store = Store(database_url)
    try:
        settings = get_settings()
        filled = with_stored_credentials(settings, store, only={"youtube_api_key"})
        assert filled.instagram_access_token is None  # not needed: left alone
        store_key = Vault.from_settings(settings)
        with store.session() as session:
            set_credential(session, store_key, "youtube_api_key", "yt-key-of-this-key", None)
        filled = with_stored_credentials(settings, store, only={"youtube_api_key"})
        assert filled.youtube_api_key is not None
        assert filled.youtube_api_key.get_secret_value() == "yt-key-of-this-key"
    finally:
        store.dispose()


def test_a_needed_credential_that_cannot_be_decrypted_is_named(
    cli: Callable[..., Any], database_url: str
) -> None:
    assert (
        cli("event", "create", "Rally", "--starts", "2030-01-01 20:00", "--slug", "r").exit_code
        == 0
    )
    assert cli("stream", "add", "r", "youtube", "dQw4w9WgXcQ").exit_code == 0
    _enter_elsewhere(database_url, "youtube_api_key", "a-key-entered-elsewhere")
    result = cli("track", "r", "--minutes", "0.05")
    assert result.exit_code == 2
    assert "youtube_api_key cannot be decrypted" in result.output
    assert "JALSA_SECRET_KEY" in result.output
    assert "Traceback" not in result.output
