"""Supporter mobilization by SMS: supporters and their consent, the opt-out registry, campaigns
(templates, segments, schedules, quiet hours, throttles), the durable outbox that sends each
message exactly once, and the gateways (SMPP, Kannel, a Twilio-style REST API)."""
