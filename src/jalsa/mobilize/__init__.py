"""Supporter mobilization by SMS: supporters and their consent, the opt-out registry, campaigns
(templates, segments, schedules, quiet hours, throttles), the durable outbox that sends each
message exactly once, and the gateways (SMPP, Kannel, a Twilio-style REST API)."""

from jalsa.mobilize.campaigns import create_campaign, preview
from jalsa.mobilize.gateways import gateway_from_settings
from jalsa.mobilize.sender import Sender
from jalsa.mobilize.service import SmsService
from jalsa.mobilize.supporters_import import import_csv

__all__ = [
    "Sender",
    "SmsService",
    "create_campaign",
    "gateway_from_settings",
    "import_csv",
    "preview",
]
