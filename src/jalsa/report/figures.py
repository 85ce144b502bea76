"""What every number of the report is: a `Figure` with its value (or why there is none), its unit,
its definition in words and its `Source` (what it was computed from). The report is made of
figures only, so the provenance file and the CSV list every number there is."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Source(BaseModel):
    """Where a figure comes from."""

    data: str = Field(description="What was read: samples of a metric, posts, incidents, a claim.")
    endpoint: str | None = Field(None, description="The platform API endpoint and field.")
    rule: str = Field(description="How the figure is computed from that data.")
    since: datetime | None = Field(None, description="The first reading used (UTC).")
    until: datetime | None = Field(None, description="The last reading used (UTC).")
    count: int | None = Field(None, description="How many readings (samples, posts) were used.")
    count_of: str = Field("samples", description="What `count` counts.")


class Figure(BaseModel):
    """One number of the report. `value` None means not measured, never zero: `not_measured`
    says why."""

    key: str = Field(description="Stable name of the figure (the same in every run).")
    label: str
    value: float | None
    unit: str
    at: datetime | None = Field(None, description="When the value was observed, if it is a moment.")
    low: float | None = Field(None, description="The low end of the uncertainty range, if any.")
    high: float | None = Field(None, description="The high end of the uncertainty range, if any.")
    definition: str
    source: Source
    not_measured: str | None = None

    @property
    def measured(self) -> bool:
        return self.value is not None


def measured(
    key: str,
    label: str,
    value: float,
    unit: str,
    definition: str,
    source: Source,
    at: datetime | None = None,
) -> Figure:
    return Figure(
        key=key, label=label, value=value, unit=unit, at=at, definition=definition, source=source
    )


def not_measured(
    key: str, label: str, unit: str, definition: str, source: Source, why: str
) -> Figure:
    return Figure(
        key=key,
        label=label,
        value=None,
        unit=unit,
        definition=definition,
        source=source,
        not_measured=why,
    )
