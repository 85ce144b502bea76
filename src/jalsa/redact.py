"""Keep secrets out of logs. YouTube and the Graph API take credentials in the query string,
and httpx logs every request URL at INFO level, so its log records are redacted at the source."""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?i)\b(key|access_token|token|client_secret|password|api_key)=([^&\s\"']+)"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=%-]+")


def redact(text: str) -> str:
    """The text with credential values in query strings and bearer headers replaced."""
    return _BEARER.sub(r"\1***", _SECRET_PARAMS.sub(r"\1=***", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install() -> None:
    """Redact the loggers of the HTTP stack (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
