"""One typed Settings object: JALSA_* environment variables, then an optional jalsa.toml.

Secrets are SecretStr so they never appear in a repr, a log line or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jalsa.errors import UserError


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jalsa"


def _config_file() -> Path:
    return Path(os.environ.get("JALSA_CONFIG", "jalsa.toml"))


class Settings(BaseSettings):
    """Everything configurable, with the defaults a volunteer team needs on day one."""

    model_config = SettingsConfigDict(env_prefix="JALSA_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    # PostgreSQL connections one process may open: a pool kept open, and more opened when it is
    # busy. Every `jalsa serve` worker and the tracker have their own (see the README on running
    # several processes: PostgreSQL allows 100 connections by default). SQLite ignores them.
    db_pool_size: int = Field(default=5, ge=1, le=1_000)
    db_max_overflow: int = Field(default=5, ge=0, le=1_000)
    timezone: str = "Asia/Karachi"

    # Platform API base URLs: point them at `jalsa sim` to rehearse without credentials.
    youtube_base_url: str = "https://www.googleapis.com/youtube/v3"
    facebook_base_url: str = "https://graph.facebook.com/v21.0"
    instagram_base_url: str = "https://graph.facebook.com/v21.0"
    x_base_url: str = "https://api.x.com/2"

    youtube_api_key: SecretStr | None = None
    facebook_access_token: SecretStr | None = None
    instagram_access_token: SecretStr | None = None
    x_bearer_token: SecretStr | None = None
    # Moderating acts for a channel or an account, not for an app: YouTube needs an OAuth
    # access token of the channel's owner or a moderator, X a user-context token of the account
    # whose conversations are moderated (the inbox's hide, ban and reply).
    youtube_oauth_token: SecretStr | None = None
    x_user_token: SecretStr | None = None

    # Poll intervals in seconds, per platform.
    youtube_interval: float = 30.0
    facebook_interval: float = 15.0
    instagram_interval: float = 60.0
    x_space_interval: float = 15.0
    x_counts_interval: float = 60.0

    # Budgets used by the spend forecast.
    youtube_daily_quota: int = 10_000
    # X API pay-per-use prices in US dollars; set them to your plan's prices.
    x_usd_per_request: float = 0.0
    x_usd_per_resource: float = 0.005

    http_timeout: float = 10.0

    # The web app.
    host: str = "127.0.0.1"
    port: int = 8080
    # Key that encrypts platform credentials at rest (Fernet, url-safe base64 of 32 bytes).
    # Unset: a key file is created in the data directory, readable by its owner only.
    secret_key: SecretStr | None = None
    # Send the session cookie only over HTTPS. Unset: decided per request from its scheme.
    cookie_secure: bool | None = None
    session_hours: float = 12.0

    # Disruption watch: seconds between probe rounds, and where incident alerts are posted
    # (each POST is signed with an HMAC of the body when a secret is set).
    watch_round_seconds: float = 60.0
    watch_webhook_urls: list[str] = []
    watch_webhook_secret: SecretStr | None = None
    # Conversation: seconds between checks for hashtag spikes in events in progress, and where
    # trend alerts are posted (signed like the watch's when a secret is set).
    trend_alert_seconds: float = 5.0
    trend_webhook_urls: list[str] = []
    trend_webhook_secret: SecretStr | None = None
    # Let the control helper probe private and loopback addresses (labs and tests only: on a
    # real server it would let a token holder reach the server's own network).
    watch_control_private: bool = False

    # Inbox: platform actions (hide, ban, reply) are only described, not sent, until a
    # coordinator turns this off for a rehearsed policy (the demo does, against the simulator).
    inbox_dry_run: bool = True
    # The moderation model and code-of-conduct policy files (unset: the built-in ones).
    inbox_model_file: Path | None = None
    inbox_policy_file: Path | None = None
    # The numeric user id of the team's X account: its mentions, and the replies in the
    # conversations its posts started, are collected (unset: no X in the inbox).
    inbox_x_user_id: str | None = None

    # SMS: which gateway sends ("smpp", "kannel" or "rest"; unset: none, campaigns can be
    # written and previewed but not sent), where it is (SMPP host:port, Kannel's sendsms URL, the
    # REST API's base URL), the account (SMPP system_id, Kannel sendsms user, REST account SID)
    # and its password or token (kept encrypted at rest when entered in the web app).
    sms_gateway: str | None = None
    sms_gateway_url: str = ""
    sms_username: str = ""
    sms_password: SecretStr | None = None
    # Unanswered submissions at once (SMPP window; concurrent HTTP requests), the gateway's rate
    # in segments a second, and the sender names or SIMs with their limits ("NAME:200/15m").
    sms_window: int = 10
    sms_rate: float = 50.0
    sms_senders: list[str] = ["JALSA"]
    # The web app's public address, for Kannel's delivery reports and the REST API's status
    # callbacks (unset: no receipts over HTTP).
    sms_callback_url: str | None = None
    # How long a submission whose answer was lost waits for a receipt before it is sent again.
    sms_unknown_grace_seconds: float = 600.0
    # What one segment costs, for the campaign preview.
    sms_segment_price: float = 0.0
    sms_currency: str = "PKR"
    # Gateway callbacks (docs/decisions.md §31). The key that signs each message's delivery
    # report URL (unset: derived from the data directory's secret key); the one before it,
    # still accepted while reports for messages sent under it come in.
    sms_callback_secret: SecretStr | None = None
    sms_callback_previous_secret: SecretStr | None = None
    # How long after sending a message its signed report URL is honoured.
    sms_receipt_window_hours: float = Field(default=72.0, gt=0)
    # The token in Kannel's sms-service get-url: a random string of 24 characters or more,
    # several separated by commas while Kannel is switched to a new one (unset: Kannel's
    # inbound messages are refused).
    sms_inbound_token: SecretStr | None = None
    # How old an inbound message (Kannel's %T) may be, and the addresses Kannel may call back
    # from (IPs or networks such as 10.0.0.0/24; empty: any).
    sms_inbound_window_minutes: float = Field(default=1440.0, gt=0)
    sms_callback_allow: list[str] = []
    # Replies to STOP, START and HELP: one per number and keyword in this many minutes, and at
    # most this many in any hour, whoever asks (a forged HELP cannot spend the SMS budget).
    sms_reply_every_minutes: float = Field(default=60.0, ge=0)
    sms_replies_per_hour: int = Field(default=500, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'jalsa.db'}"


_extended: type[Settings] | None = None


def extend_settings(fields: Mapping[str, tuple[Any, Any]]) -> None:
    """Add the settings a platform plugin declares (name -> (type, default)), read like every
    other one from JALSA_<NAME> and jalsa.toml. A name jalsa already has is refused: a plugin
    cannot change what an existing setting means."""
    global _extended
    base = settings_class()
    if clash := sorted(set(fields) & set(base.model_fields)):
        raise ValueError(f"settings already defined: {', '.join(clash)}")
    _extended = create_model("Settings", __base__=base, **fields)  # type: ignore[call-overload]
    get_settings.cache_clear()


def settings_class() -> type[Settings]:
    """Settings with the fields installed plugins added."""
    return _extended or Settings


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning a bad value into one clear message instead of a traceback."""
    try:
        return settings_class()(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UserError(
            f"invalid configuration ({problems}). Check your JALSA_* variables and "
            f"{_config_file()}."
        ) from None
    except Exception as exc:  # a malformed jalsa.toml raises a TOMLDecodeError
        raise UserError(f"cannot read {_config_file()}: {exc}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
