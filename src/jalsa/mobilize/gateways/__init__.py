"""The SMS gateways, one module each, and the one place a gateway is built from the settings."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import Gateway
from jalsa.mobilize.gateways.callbacks import CallbackKeys, parse_allow
from jalsa.vault import Vault

GATEWAYS = ("smpp", "kannel", "rest")


def callback_secret(settings: Settings) -> str:
    """The key that signs each message's report URL: JALSA_SMS_CALLBACK_SECRET, else derived
    from the data directory's secret key (so it needs no setting and changes when that does)."""
    if settings.sms_callback_secret is not None:
        return settings.sms_callback_secret.get_secret_value()
    key = Vault.key_of(settings)
    return hmac.new(key, b"jalsa sms callbacks", hashlib.sha256).hexdigest()


def callback_keys(settings: Settings) -> CallbackKeys:
    """Everything the callbacks are checked with, from the settings."""
    secrets = [callback_secret(settings)]
    if settings.sms_callback_previous_secret is not None:
        secrets.append(settings.sms_callback_previous_secret.get_secret_value())
    tokens = settings.sms_inbound_token.get_secret_value() if settings.sms_inbound_token else ""
    return CallbackKeys(
        secrets=tuple(secrets),
        inbound_tokens=tuple(t.strip() for t in tokens.split(",") if t.strip()),
        receipt_window=timedelta(hours=settings.sms_receipt_window_hours),
        inbound_window=timedelta(minutes=settings.sms_inbound_window_minutes),
        allow=parse_allow(settings.sms_callback_allow),
    )


def _host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("smpp://").rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        raise UserError(f"JALSA_SMS_GATEWAY_URL {url!r} is not HOST:PORT (e.g. 10.0.0.5:2775)")
    return host, int(port)


def gateway_from_settings(settings: Settings) -> Gateway:
    """The configured gateway; a clear error naming the missing setting otherwise."""
    kind = (settings.sms_gateway or "").lower()
    if not kind:
        raise UserError(
            "no SMS gateway is configured: set JALSA_SMS_GATEWAY (smpp, kannel or rest), "
            "JALSA_SMS_GATEWAY_URL, JALSA_SMS_USERNAME and the password (JALSA_SMS_PASSWORD or "
            "`jalsa` web app > Credentials)"
        )
    if kind not in GATEWAYS:
        raise UserError(f"unknown SMS gateway {kind!r}; use one of {', '.join(GATEWAYS)}")
    if not settings.sms_gateway_url or not settings.sms_username:
        raise UserError("set JALSA_SMS_GATEWAY_URL and JALSA_SMS_USERNAME for the SMS gateway")
    if settings.sms_password is None:
        raise UserError(
            "the SMS gateway's password is not set: JALSA_SMS_PASSWORD, or enter it in the "
            "web app under Credentials"
        )
    password = settings.sms_password.get_secret_value()
    window = max(1, settings.sms_window)
    if kind == "smpp":
        from jalsa.mobilize.gateways.smpp import SmppGateway

        host, port = _host_port(settings.sms_gateway_url)
        return SmppGateway(host, port, settings.sms_username, password, window=window)
    if kind == "kannel":
        from jalsa.mobilize.gateways.kannel import KannelGateway

        return KannelGateway(
            settings.sms_gateway_url,
            settings.sms_username,
            password,
            callback_url=settings.sms_callback_url,
            secret=callback_secret(settings),
            window=window,
        )
    from jalsa.mobilize.gateways.rest import RestGateway

    return RestGateway(
        settings.sms_gateway_url,
        settings.sms_username,
        password,
        callback_url=settings.sms_callback_url,
        secret=callback_secret(settings),
        window=window,
    )
