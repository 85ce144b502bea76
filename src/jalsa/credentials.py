"""Platform credentials: from the environment (JALSA_*) or entered in the web app and kept
encrypted in the store. The environment wins, so an operator can always override."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.platforms.registry import ACTIONS, CONNECTORS, connector_for
from jalsa.store import Store
from jalsa.store.models import Credential
from jalsa.timeutil import utc_now
from jalsa.vault import Vault, hint

# The SMS gateway's password or API token (the mobilize gateways read settings.sms_password).
SMS_PASSWORD_SETTING = "sms_password"


def credential_names() -> list[str]:
    """Settings attributes that hold credentials: one per platform API, the tokens the inbox's
    moderation actions use, and the SMS gateway's password."""

    readers = {c.credential_setting for c in CONNECTORS.values()}
    moderators = {name for a in ACTIONS.values() for name in a.credential_settings}
    return sorted(readers | moderators | {SMS_PASSWORD_SETTING})


def set_credential(
    session: Session, vault: Vault, name: str, value: str, user_id: int | None
) -> Credential:
    if name not in credential_names():
        raise UserError(f"unknown credential {name!r}; known: {', '.join(credential_names())}")
    value = value.strip()
    if not value:
        raise UserError("the credential is empty")
    row = session.get(Credential, name) or Credential(name=name)
    row.ciphertext = vault.encrypt(value)
    row.hint = hint(value)
    row.updated_at = utc_now()
    row.updated_by = user_id
    session.add(row)
    session.flush()
    return row


def delete_credential(session: Session, name: str) -> bool:
    row = session.get(Credential, name)
    if row is None:
        return False
    session.delete(row)
    return True


def stored_credentials(session: Session) -> list[Credential]:
    return list(session.scalars(select(Credential).order_by(Credential.name)))


def reader_credentials(kinds: Iterable[str]) -> set[str]:
    """The credentials that polling streams of these kinds uses."""
    return {connector_for(kind).credential_setting for kind in kinds}


def with_stored_credentials(
    settings: Settings, store: Store, only: Collection[str] | None = None
) -> Settings:
    """Settings whose missing credentials are filled from the encrypted store: all of them, or
    only those named in `only`. Only those are decrypted, so a credential entered for something
    else (under a secret key this process does not have) cannot stop it; one it needs and
    cannot decrypt is a UserError naming it."""
    with store.session() as session:
        rows = stored_credentials(session)
    missing = {
        r.name: r
        for r in rows
        if getattr(settings, r.name) is None and (only is None or r.name in only)
    }
    if not missing:
        return settings
    vault = Vault.from_settings(settings)
    filled = {name: vault.decrypt(row.ciphertext, name) for name, row in missing.items()}
    return settings.model_copy(update={k: SecretStr(v) for k, v in filled.items()})
