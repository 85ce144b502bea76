"""Put the report together from the store and the posts dataset. Nothing in it depends on the
time it is made (no "generated at" among the figures; "now" only ends an incident still open),
so running it again on the same data gives the same figures; `digest` fingerprints the inputs."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from jalsa import __version__
from jalsa.config import Settings
from jalsa.conversation.analysis import Voices
from jalsa.conversation.dataset import PostDataset
from jalsa.platforms.registry import CONNECTORS
from jalsa.report.audience import AudienceSection, audience_section
from jalsa.report.claims import ClaimCheck, check_claim
from jalsa.report.conversation import ConversationSection, conversation_section
from jalsa.report.disruption import DisruptionSection, disruption_section
from jalsa.report.figures import Figure
from jalsa.report.press import press_release
from jalsa.store import Store
from jalsa.store.models import Event, Sample
from jalsa.store.repo import get_event
from jalsa.timeutil import utc_now


class EventInfo(BaseModel):
    slug: str
    name: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    hashtags: list[str]


class Report(BaseModel):
    event: EventInfo
    jalsa_version: str
    digest: str = Field(
        description="SHA-256 of the inputs' fingerprint: the event, the number and newest time "
        "of its samples, its incidents, the posts files' names and sizes, the claims and voices."
    )
    data_until: datetime | None = Field(description="The newest sample or incident time used.")
    audience: AudienceSection
    conversation: ConversationSection
    disruption: DisruptionSection
    claims: list[ClaimCheck]
    press: dict[str, str] = Field(description="A press-release draft per language (en, ur).")

    def figures(self) -> list[tuple[str, Figure]]:
        """Every figure with its section, in the report's order."""
        out: list[tuple[str, Figure]] = []
        for stream in self.audience.streams:
            out += [("audience", f) for f in stream.figures]
        out += [("audience", f) for f in self.audience.combined + self.audience.reach]
        out += [("conversation", f) for f in self.conversation.figures]
        out += [("conversation", h.posts) for h in self.conversation.hashtags]
        out += [("conversation", f) for f in self.conversation.voices]
        out += [("conversation", f) for f in self.conversation.coordination]
        for incident in self.disruption.incidents:
            out += [("disruption", f) for f in incident.losses]
        seen = {f.key for _, f in out}
        for check in self.claims:  # a claim is mostly checked against a figure listed above
            if check.measured is not None and check.measured.key not in seen:
                out.append(("claims", check.measured))
                seen.add(check.measured.key)
        return out


def labels_of(event: Event) -> dict[int, str]:
    """A name per stream: its label, else the platform's title (numbered when repeated)."""
    names: dict[int, str] = {}
    for stream in sorted(event.streams, key=lambda s: s.id):
        base = stream.label or CONNECTORS[stream.kind].title
        name, n = base, 2
        while name in names.values():
            name, n = f"{base} ({n})", n + 1
        names[stream.id] = name
    return names


def _dataset_digest(parts: list[Path]) -> list[str]:
    return [f"{p.name}:{p.stat().st_size}" for p in parts]


def build_report(
    store: Store,
    settings: Settings,
    event_ref: str,
    *,
    claims: list[str] | None = None,
    voices: Voices | None = None,
    now: datetime | None = None,
) -> Report:
    """The report of one event. `claims`: figures others claimed, to check."""
    with store.session() as session:
        event = get_event(session, event_ref)
        labels = labels_of(event)
        ids = [s.id for s in event.streams]
        newest_sample, samples = session.execute(
            select(func.max(Sample.observed_at), func.count()).where(Sample.stream_id.in_(ids))
        ).one()
        audience = audience_section(session, event, settings, labels)
        disruption = disruption_section(session, event, labels, now or utc_now())
        info = EventInfo(
            slug=event.slug,
            name=event.name,
            timezone=event.timezone,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            hashtags=list(event.hashtags),
        )
    # the parts of one instant: a compaction meanwhile removes none of them
    with PostDataset.of_event(settings, info.slug).snapshot() as parts:
        conversation = conversation_section(parts, voices)
        posts_digest = _dataset_digest(parts)
    checks = [check_claim(text, audience) for text in claims or []]
    inputs = {
        "event": info.model_dump(mode="json"),
        "samples": samples,
        "newest_sample": newest_sample.isoformat() if newest_sample else None,
        "incidents": [i.incident.model_dump(mode="json") for i in disruption.incidents],
        "posts": posts_digest,
        "claims": claims or [],
        "voices": sorted((voices.terms if voices else {}).items()),
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    incident_times = [
        t
        for d in disruption.incidents
        for t in (d.incident.started_at, d.incident.ended_at)
        if t is not None
    ]
    until = max([*incident_times, *([newest_sample] if newest_sample else [])], default=None)
    report = Report(
        event=info,
        jalsa_version=__version__,
        digest=digest,
        data_until=until,
        audience=audience,
        conversation=conversation,
        disruption=disruption,
        claims=checks,
        press={},
    )
    report.press = press_release(report)
    return report
