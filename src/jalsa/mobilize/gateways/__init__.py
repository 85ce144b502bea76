"""The SMS gateways, one module each, and the one place a gateway is built from the settings."""

from __future__ import annotations

import hashlib
import hmac

from jalsa.config import Settings
from jalsa.errors import UserError
from jalsa.mobilize.gateways.base import Gateway
from jalsa.vault import Vault

GATEWAYS = ("smpp", "kannel", "rest")
PASSWORD_SETTING = "sms_password"


def callback_secret(settings: Settings) -> str:
    """The key that signs the callback URLs we give Kannel (its delivery reports and inbound
    messages carry the signature back): derived from the data directory's secret key, so it
    needs no setting of its own and changes when that key does."""
    key = Vault.key_of(settings)
    return hmac.new(key, b"jalsa sms callbacks", hashlib.sha256).hexdigest()


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
        window=window,
    )
