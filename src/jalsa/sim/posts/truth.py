"""What the generator injects, to score trend and coordination detectors against: the
campaign's accounts, templates and waves, and the bursts. Read from the plan alone: no post
is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jalsa.sim.posts.attributes import author_columns
from jalsa.sim.posts.plan import (
    CAMPAIGN,
    HYPER,
    Burst,
    CampaignWave,
    Plan,
    PostSimConfig,
    make_plan,
)
from jalsa.sim.posts.vocab import vocabulary

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class GroundTruth:
    """What was injected, to score trend and coordination detectors against."""

    seed: int
    total_posts: int
    start: datetime
    hours: float
    campaign_members: list[str]  # author ids
    campaign_handles: list[str]
    hyperactive_members: list[str]  # author ids posting > 10 a minute in their sprints
    campaign_templates: list[str]  # "{n}" marks the number that varies
    campaign_waves: list[CampaignWave]
    campaign_posts: int
    bursts: list[Burst]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "total_posts": self.total_posts,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "hours": self.hours,
            "campaign_members": self.campaign_members,
            "campaign_handles": self.campaign_handles,
            "hyperactive_members": self.hyperactive_members,
            "campaign_templates": self.campaign_templates,
            "campaign_waves": [w.__dict__ for w in self.campaign_waves],
            "campaign_posts": self.campaign_posts,
            "bursts": [b.__dict__ for b in self.bursts],
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()


def _posting_members(plan: Plan) -> I64:
    """Campaign members with at least one post, in member order (the hyperactive first),
    from the per-component totals and the same turn-taking `describe` uses."""
    posted = np.zeros(plan.members, bool)
    totals = plan.comp_before[-1]
    ordinary = max(plan.members - plan.hyper, 1)
    for c, kind in enumerate(plan.comp_kind.tolist()):
        n = int(totals[c])
        if kind == HYPER:
            posted[: min(n, plan.hyper)] = True
        elif kind == CAMPAIGN and n:
            turns = np.arange(min(n, ordinary), dtype=np.int64)
            offset = plan.wave_offset[plan.comp_index[c]]
            posted[plan.hyper + (turns + offset) % ordinary] = True
    return np.flatnonzero(posted).astype(np.int64)


def ground_truth(config: PostSimConfig) -> GroundTruth:
    """What `generate_batches(config)` injects, from the plan alone (no posts are made):
    the campaign accounts that post, its templates and windows, and the bursts."""
    plan = make_plan(config)
    vocab = vocabulary()
    members = _posting_members(plan)
    ids, handles, _ = author_columns(plan, np.full(len(members), -1, np.int64), members)
    hyper = members < plan.hyper
    return GroundTruth(
        seed=config.seed,
        total_posts=config.count,
        start=config.start,
        hours=config.hours,
        campaign_members=[str(i) for i in ids.tolist()],
        campaign_handles=handles.to_pylist(),
        hyperactive_members=[str(i) for i in ids[hyper].tolist()],
        campaign_templates=list(vocab.campaign_texts),
        campaign_waves=[w for w in plan.waves if w.posts],
        campaign_posts=sum(w.posts for w in plan.waves),
        bursts=[b for b in plan.bursts if b.posts],
    )
