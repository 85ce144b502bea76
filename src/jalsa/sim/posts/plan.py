"""What to generate (`PostSimConfig`) and the plan drawn once from its seed: how many posts of
each component (organic, trend bursts, campaign waves) fall in each second of the event, the
author pools, and the batches. Everything else about a post follows from its number."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from jalsa.sim.posts.hashing import Hash
from jalsa.sim.posts.vocab import vocabulary

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

DEFAULT_START = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)  # 19:00 in Pakistan
MAX_HOURS = 7 * 24

ORIGINAL, REPOST, REPLY, QUOTE = 0, 1, 2, 3
ORGANIC, BURST, CAMPAIGN, HYPER = 0, 1, 2, 3  # what put a post into the stream
_HYPER_RATE = 15.0  # posts per minute of a hyperactive campaign account in its sprint


@dataclass(frozen=True)
class PostSimConfig:
    """What to generate. The same config always gives the same posts."""

    count: int
    seed: int = 1
    start: datetime = DEFAULT_START
    hours: float = 4.0
    campaign_share: float = 0.01  # campaign accounts as a share of all authors
    repost_share: float = 0.40
    reply_share: float = 0.08
    quote_share: float = 0.04
    bursts: int = 4  # hashtags that jump for 5-15 minutes
    campaign_waves: int = 6  # short windows in which the campaign posts
    batch_rows: int = 250_000  # posts per record batch (about; batches hold whole seconds)
    part_rows: int = 5_000_000  # rows per Parquet part file when writing a directory

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        if not 0 < self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be more than 0 and at most {MAX_HOURS}")
        if not 0 <= self.campaign_share < 0.5:
            raise ValueError("campaign_share must be at least 0 and below 0.5")
        shares = (self.repost_share, self.reply_share, self.quote_share)
        if min(shares) < 0 or sum(shares) > 0.8:
            raise ValueError("repost, reply and quote shares must be >= 0 and add up to <= 0.8")
        if self.bursts < 0 or self.campaign_waves < 0:
            raise ValueError("bursts and campaign_waves must be >= 0")
        if self.batch_rows < 1 or self.part_rows < 1:
            raise ValueError("batch_rows and part_rows must be at least 1")


@dataclass(frozen=True)
class Burst:
    """A hashtag that jumps in [start_minute, end_minute) after the event start."""

    hashtag: str
    start_minute: int
    end_minute: int
    posts: int


@dataclass(frozen=True)
class CampaignWave:
    """A window in which the campaign posts one template; minutes after the event start.
    The hyperactive accounts post during [sprint_start_minute, sprint_end_minute)."""

    template: int
    start_minute: float
    end_minute: float
    sprint_start_minute: float
    sprint_end_minute: float
    posts: int


def rally_curve(minutes: F64, total_minutes: float) -> F64:
    """Posting rate as a share of the peak: a slow ramp in the first 30 minutes (before the
    rally starts), a climb to the speech, a peak, then an exponential decay."""
    d = total_minutes
    ramp_end = min(30.0, 0.125 * d)
    speech_start, peak, speech_end = 0.3125 * d, 0.42 * d, 0.5 * d
    tau = 0.2 * d

    def smooth(x: F64) -> F64:
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    t = np.asarray(minutes, np.float64)
    ramp = 0.06 + 0.24 * np.clip(t / ramp_end, 0, 1) ** 2
    climb = 0.30 + 0.35 * smooth((t - ramp_end) / max(speech_start - ramp_end, 1e-9))
    rise = 0.65 + 0.35 * smooth((t - speech_start) / max(peak - speech_start, 1e-9))
    hold = 1.0 - 0.1 * smooth((t - peak) / max(speech_end - peak, 1e-9))
    decay = 0.15 + 0.75 * np.exp(-(t - speech_end) / tau)
    out: F64 = np.select(
        [t < ramp_end, t < speech_start, t < peak, t < speech_end],
        [ramp, climb, rise, hold],
        decay,
    )
    return out


@dataclass
class Plan:
    config: PostSimConfig
    hash: Hash
    start_ms: int
    bins: int  # one per second
    bin_cum: I64  # posts before each second (bins + 1)
    cell_cum: I64  # posts before each (second, component) cell (bins * comps + 1)
    comp_before: I64  # (bins + 1, comps) posts of a component before a second
    comp_kind: I64
    comp_index: I64  # burst number or wave number
    authors: int  # organic author pool (Zipf ranks)
    author_q: float
    author_bits: int
    members: int
    hyper: int
    p_kind: F64  # cumulative: repost, reply, quote for organic posts
    grid: I64  # index multiples that make a post popular, per level
    lag_min: int
    bursts: list[Burst]
    burst_tags: I64
    waves: list[CampaignWave]
    wave_template: I64  # template id per wave
    wave_offset: I64
    batches: list[tuple[int, int]] = field(default_factory=list)  # second ranges

    @property
    def comps(self) -> int:
        return len(self.comp_kind)


def _expected_distinct(posts: float, n: int, q: float) -> float:
    """Expected number of ranks drawn at least once when `posts` ranks are drawn with
    density 1/((x + q) ln((n + q) / q)) on [0, n)."""
    if posts <= 0 or n <= 0:
        return 0.0
    x = np.unique(np.concatenate([np.arange(min(n, 2000) + 1.0), np.geomspace(1.0, n, 4000)]))
    lam = posts / ((x + q) * math.log((n + q) / q))
    f = 1.0 - np.exp(-lam)
    return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(x)))


@lru_cache(maxsize=8)
def make_plan(config: PostSimConfig) -> Plan:
    vocab = vocabulary()
    rng = np.random.default_rng([config.seed, 0x504F5354])
    count = config.count
    bins = max(1, math.ceil(config.hours * 3600))
    minutes_total = bins / 60.0

    # Organic authors: Zipf-Mandelbrot ranks; most post once or twice, a few a lot.
    authors = max(50, int(count * 0.6))
    author_q = max(15.0, authors * 1e-4)
    author_bits = max(8, math.ceil(math.log2(authors)))
    distinct = _expected_distinct(count * 0.9, authors, author_q)
    share = config.campaign_share
    members = 0 if share == 0 else max(5, round(distinct * share / (1 - share)))
    hyper = 0 if members == 0 else max(1, min(100, members // 30, members // 2))
    hyper = max(hyper, min(3, members - 1)) if members else 0

    # Trend bursts: mid-popular hashtags, in separate stretches of the event.
    campaign_tags = set(vocab.inline_tags[vocab.inline_tags >= 0].tolist())
    campaign_tags |= set(vocab.trail_tags.tolist())
    candidates = [t for t in range(30, 400) if t not in campaign_tags]
    n_bursts = config.bursts if minutes_total >= 10 else 0
    burst_tags = rng.choice(candidates, size=n_bursts, replace=False).astype(np.int64)
    bursts: list[tuple[int, int, int]] = []
    lo, hi = 0.1 * minutes_total, 0.92 * minutes_total
    for k in range(n_bursts):
        seg_lo = lo + (hi - lo) * k / n_bursts
        seg_len = (hi - lo) / n_bursts
        dur = int(min(int(rng.integers(5, 16)), max(1.0, seg_len - 1)))
        start_min = int(seg_lo + rng.integers(0, max(1, int(seg_len - dur))))
        bursts.append((int(burst_tags[k]), start_min, min(start_min + dur, int(minutes_total))))

    # Campaign waves: a few minutes each, one template each; hyperactive accounts sprint.
    n_waves = config.campaign_waves if members else 0
    waves: list[tuple[float, float, float, float]] = []
    lo, hi = 0.15 * minutes_total, 0.9 * minutes_total
    for w in range(n_waves):
        seg_lo = lo + (hi - lo) * w / n_waves
        seg_len = (hi - lo) / n_waves
        length = float(min(rng.uniform(3.0, 8.0), seg_len * 0.8))
        begin = seg_lo + rng.uniform(0.0, max(0.0, seg_len - length))
        sprint = min(2.0, length)
        sprint_start = begin + rng.uniform(0.0, length - sprint)
        waves.append((begin, begin + length, sprint_start, sprint_start + sprint))
    first_template = int(rng.integers(0, len(vocab.campaign)))
    wave_template = np.array(
        [vocab.campaign[(first_template + w) % len(vocab.campaign)] for w in range(n_waves)],
        np.int64,
    )
    wave_offset = rng.integers(0, max(1, members), size=n_waves).astype(np.int64)

    # Components: organic, each burst, then per wave the ordinary and the hyperactive members.
    kinds = [ORGANIC] + [BURST] * n_bursts + [CAMPAIGN, HYPER] * n_waves
    index = [0, *range(n_bursts)] + [w for w in range(n_waves) for _ in (0, 1)]
    profiles: list[F64] = []
    expected: list[float] = []
    sec = np.arange(bins, dtype=np.float64)
    minute = sec / 60.0
    for _, s, e in bursts:
        # a trapezoid: up in the first fifth, down in the last fifth
        x = (minute - s) / max(e - s, 1e-9)
        shape = np.clip(np.minimum(x / 0.2, (1 - x) / 0.2), 0, 1) * ((x >= 0) & (x < 1))
        profiles.append(shape + 1e-12 * ((x >= 0) & (x < 1)))
        expected.append(max(0.0025 * count, 1.0 if count >= 2000 else 0.0))
    ordinary = max(members - hyper, 0)
    for begin, end, sprint_start, sprint_end in waves:
        inside = ((minute >= begin) & (minute < end)).astype(np.float64)
        profiles.append(inside + 1e-12)
        expected.append(1.5 * ordinary)
        in_sprint = ((minute >= sprint_start) & (minute < sprint_end)).astype(np.float64)
        profiles.append(in_sprint + 1e-12)
        expected.append(hyper * _HYPER_RATE * (sprint_end - sprint_start))
    extra = np.array(expected, np.float64)
    campaign = extra[n_bursts:]  # a view: at most 12% of all posts are the campaign's
    if campaign.sum() > 0.12 * count:
        campaign *= 0.12 * count / campaign.sum()
    extra_n = np.floor(extra).astype(np.int64)
    organic_n = count - int(extra_n.sum())

    noise = np.exp(rng.normal(0.0, 0.08, size=int(minutes_total) + 1))
    organic_profile = rally_curve(minute, minutes_total) * noise[minute.astype(np.int64)]
    counts = np.zeros((bins, len(kinds)), np.int64)
    for c, (n, profile) in enumerate(
        zip([organic_n, *extra_n], [organic_profile, *profiles], strict=True)
    ):
        if n > 0:
            counts[:, c] = rng.multinomial(int(n), profile / profile.sum())
    per_bin = counts.sum(axis=1)
    if per_bin.max() >= 1 << 22:
        raise ValueError("too many posts per second for X-like ids; spread them over more hours")

    bin_cum = np.concatenate([[0], np.cumsum(per_bin)]).astype(np.int64)
    cell_cum = np.concatenate([[0], np.cumsum(counts.ravel())]).astype(np.int64)
    comp_before = np.vstack([np.zeros((1, len(kinds)), np.int64), np.cumsum(counts, axis=0)])

    organic_share = organic_n / count
    # Reposts/replies/quotes are organic; a few fall back to originals (no valid target).
    p = np.array([config.repost_share, config.reply_share, config.quote_share]) / max(
        organic_share, 1e-9
    )
    p = p / 0.985
    if p.sum() > 0.9:
        p *= 0.9 / p.sum()
    g = max(2, round((count / 50) ** (1 / 3)))
    grid = np.array([1, g, g * g, g * g * g], np.int64)

    plan = Plan(
        config=config,
        hash=Hash(config.seed),
        start_ms=int(config.start.timestamp() * 1000),
        bins=bins,
        bin_cum=bin_cum,
        cell_cum=cell_cum,
        comp_before=comp_before,
        comp_kind=np.array(kinds, np.int64),
        comp_index=np.array(index, np.int64),
        authors=authors,
        author_q=author_q,
        author_bits=author_bits,
        members=members,
        hyper=hyper,
        p_kind=np.cumsum(p),
        grid=grid,
        lag_min=max(1, round(count / bins * 20)),
        bursts=[
            Burst(str(vocab.tag_lower[t]), s, e, int(n))
            for (t, s, e), n in zip(bursts, extra_n[:n_bursts], strict=True)
        ],
        burst_tags=burst_tags,
        waves=[
            CampaignWave(
                template=int(np.flatnonzero(vocab.campaign == wave_template[w])[0]),
                start_minute=round(s, 3),
                end_minute=round(e, 3),
                sprint_start_minute=round(ss, 3),
                sprint_end_minute=round(se, 3),
                posts=int(extra_n[n_bursts + 2 * w] + extra_n[n_bursts + 2 * w + 1]),
            )
            for w, (s, e, ss, se) in enumerate(waves)
        ],
        wave_template=wave_template,
        wave_offset=wave_offset,
    )
    # Batches hold whole seconds, so times (and ids) never go back across batches.
    firsts = np.searchsorted(bin_cum, np.arange(0, count, config.batch_rows), side="right") - 1
    firsts = np.unique(firsts)
    ends = np.append(firsts[1:], bins)
    plan.batches = [(int(a), int(b)) for a, b in zip(firsts, ends, strict=True)]
    return plan


def plan_summary(config: PostSimConfig) -> dict[str, int]:
    """Sizes decided by the plan, for messages: posts, campaign accounts, bursts."""
    plan = make_plan(config)
    return {
        "posts": config.count,
        "members": plan.members,
        "bursts": len(plan.bursts),
        "batches": len(plan.batches),
    }
