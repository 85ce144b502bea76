"""Every attribute of post `j` as a pure function of the plan and `j` (see hashing.py): where
it sits (second, component), its kind and the post it reposts, replies to or quotes, its id,
its author (id, handle, creation time, name) and its public metrics. Computed with numpy for
a whole batch of numbers at once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from jalsa.sim.posts.hashing import Salt, scramble
from jalsa.sim.posts.plan import (
    BURST,
    CAMPAIGN,
    HYPER,
    ORGANIC,
    ORIGINAL,
    QUOTE,
    REPLY,
    REPOST,
    Plan,
)
from jalsa.sim.posts.vocab import vocabulary

I64 = NDArray[np.int64]

X_EPOCH_MS = 1288834974657  # the snowflake epoch of X ids
DAY_MS = 86_400_000
_LEVELS = 4
_LEVEL_WEIGHTS = np.array([0.45, 0.27, 0.18, 0.10])  # how reposts pick a popularity tier
_CANDIDATES = 6


def describe(plan: Plan, j: I64) -> dict[str, Any]:
    """Where post j sits (second, component) and what that alone decides."""
    h = plan.hash
    cell = np.searchsorted(plan.cell_cum, j, side="right") - 1
    sec, comp = np.divmod(cell, plan.comps)
    rank_in_comp = plan.comp_before[sec, comp] + (j - plan.cell_cum[cell])
    ckind = plan.comp_kind[comp]
    cidx = plan.comp_index[comp]
    time_ms = plan.start_ms + sec * 1000 + h.below(j, Salt.TIME, 1000)

    grid = plan.grid
    level = np.zeros(len(j), np.int64)
    for lv in range(1, _LEVELS):
        level[j % grid[lv] == 0] = lv
    organic = ckind <= BURST

    # Organic authors: a Zipf-Mandelbrot rank; very popular posts come from big accounts.
    u = h.u(j, Salt.AUTHOR)
    n, q = plan.authors, plan.author_q
    rank = np.minimum(np.floor(q * ((n + q) / q) ** u - q), n - 1).astype(np.int64)
    big = h.below(j, Salt.LEVEL_AUTHOR, np.where(level == 3, len(vocabulary().curated), 2000))
    rank = np.where(level >= 2, np.minimum(big, n - 1), rank)
    rank = np.where(organic, rank, -1)
    # Campaign members: ordinary ones in turn, hyperactive ones in turn.
    member = np.full(len(j), -1, np.int64)
    camp = ckind == CAMPAIGN
    if camp.any():
        ordinary = max(plan.members - plan.hyper, 1)
        member[camp] = plan.hyper + (rank_in_comp[camp] + plan.wave_offset[cidx[camp]]) % ordinary
    hyp = ckind == HYPER
    if hyp.any():
        member[hyp] = rank_in_comp[hyp] % max(plan.hyper, 1)

    uk = h.u(j, Salt.KIND)
    base = np.select(
        [uk < plan.p_kind[0], uk < plan.p_kind[1], uk < plan.p_kind[2]],
        [REPOST, REPLY, QUOTE],
        ORIGINAL,
    )
    base = np.where((ckind == ORGANIC) & (level < 2), base, ORIGINAL)
    return {
        "sec": sec,
        "time_ms": time_ms,
        "ckind": ckind,
        "cidx": cidx,
        "level": level,
        "rank": rank,
        "member": member,
        "base": base,
    }


def resolve(plan: Plan, j: I64, info: dict[str, Any]) -> tuple[I64, I64]:
    """Final kind and target of each post. Targets are earlier originals or quotes (in an
    earlier second), recent ones more likely, popular ones (index on a coarse grid) much more
    likely. A post with no valid target becomes an original."""
    h = plan.hash
    kind = info["base"].copy()
    target = np.full(len(j), -1, np.int64)
    todo = np.flatnonzero(kind != ORIGINAL)
    first = plan.bin_cum[info["sec"][todo]]  # posts in earlier seconds
    for attempt in range(_CANDIDATES):
        if len(todo) == 0:
            break
        jj = j[todo]
        salt = Salt.CANDIDATE + 3 * attempt
        span = np.maximum(first, 1).astype(np.float64)
        lo = np.minimum(float(plan.lag_min), span)
        lag = np.floor(lo * (span / lo) ** h.u(jj, salt)).astype(np.int64)
        cand = first - np.clip(lag, 1, None)
        lv = np.searchsorted(np.cumsum(_LEVEL_WEIGHTS), h.u(jj, salt + 1), side="right")
        step = plan.grid[np.minimum(lv, _LEVELS - 1)]
        cand = cand - cand % step
        ok = (first > 0) & (cand >= 0)
        if ok.any():
            cinfo = describe(plan, np.where(ok, cand, 0))
            ok &= (cinfo["base"] == ORIGINAL) | (cinfo["base"] == QUOTE)
        target[todo[ok]] = cand[ok]
        todo, first = todo[~ok], first[~ok]
    kind[todo] = ORIGINAL
    return kind, target


def post_ids(plan: Plan, j: I64, time_ms: I64) -> I64:
    low = (j & 0x3FFFFF).astype(np.uint64)
    low = (low * np.uint64(0x9E3779B1)) & np.uint64(0x3FFFFF)
    low ^= low >> np.uint64(11)
    return ((time_ms - X_EPOCH_MS) << 22) | low.astype(np.int64)


def author_columns(plan: Plan, rank: I64, member: I64) -> tuple[I64, pa.Array, I64]:
    """Author id, handle and creation time (ms) of organic ranks / campaign members."""
    vocab = vocabulary()
    h = plan.hash
    is_member = member >= 0
    n = len(rank)
    bits = plan.author_bits
    key = scramble(np.maximum(rank, 0), bits)
    # Organic accounts: created mostly years before the event, a few in the last month.
    event_ms = plan.start_ms
    knots_p = [0.0, 0.25, 0.65, 0.95, 1.0]
    knots_t = [
        1293840000000,
        1483228800000,
        1640995200000,
        event_ms - 30 * DAY_MS,
        event_ms - DAY_MS,
    ]
    created = np.floor(np.interp((key + 0.5) / 2.0**bits, knots_p, knots_t)).astype(np.int64)
    low = key & 0x1FFFFF
    # Campaign accounts: created one after another within four days, ten days before.
    if is_member.any():
        m = np.maximum(member, 0)
        spacing = max(1, 4 * DAY_MS // max(plan.members, 1))
        made = event_ms - 13 * DAY_MS + m * spacing + h.below(m, Salt.MEMBER_TIME, spacing)
        created = np.where(is_member, made, created)
        low = np.where(is_member, (1 << 21) | scramble(m & 0x1FFFFF, 21), low)
    ids = ((created - X_EPOCH_MS) << 22) | low

    words = vocab.handle_words
    word = words.take(pa.array(key % len(words)))
    number = key // len(words)
    digits = pc.if_else(pa.array(number > 0), pc.cast(pa.array(number), pa.string()), "")
    handle = pc.binary_join_element_wise(word, digits, "")
    curated = (rank >= 0) & (rank < len(vocab.curated))
    if curated.any():
        handle = pc.if_else(
            pa.array(curated), vocab.curated.take(pa.array(np.where(curated, rank, 0))), handle
        )
    if is_member.any():
        m = np.maximum(member, 0)
        mword = vocab.member_words.take(
            pa.array(h.below(m, Salt.MEMBER_WORD, len(vocab.member_words)))
        )
        mnum = pc.cast(pa.array(10_000_000 + scramble(m, 26)), pa.string())
        handle = pc.if_else(
            pa.array(is_member), pc.binary_join_element_wise(mword, mnum, ""), handle
        )
    assert len(handle) == n
    return ids, handle, created


def curated_accounts(plan: Plan) -> tuple[I64, pa.Array]:
    """Ids and handles of the well-known accounts (the top organic ranks)."""
    ranks = np.arange(len(vocabulary().curated), dtype=np.int64)
    ids, handles, _ = author_columns(plan, ranks, np.full(len(ranks), -1, np.int64))
    return ids, handles


def author_names(plan: Plan, ids: I64) -> pa.Array:
    vocab, h = vocabulary(), plan.hash
    return pc.binary_join_element_wise(
        vocab.first.take(pa.array(h.below(ids, Salt.NAME_FIRST, len(vocab.first)))),
        " ",
        vocab.last.take(pa.array(h.below(ids, Salt.NAME_LAST, len(vocab.last)))),
        vocab.name_suffix.take(pa.array(h.below(ids, Salt.NAME_SUFFIX, len(vocab.name_suffix)))),
        "",
    )


def public_metrics(plan: Plan, j: I64, ckind: I64, level: I64) -> dict[str, I64]:
    h = plan.hash
    scale = np.array([2.5, 20.0, 150.0, 1200.0])[level]
    scale = np.where(ckind >= CAMPAIGN, 0.4, scale)
    tail = np.minimum(h.u(j, Salt.LIKES).clip(1e-12) ** (-1 / 1.3) - 1.0, 1e5)
    likes = np.floor(tail * scale).astype(np.int64)
    reposts = np.floor(likes * (0.05 + 0.3 * h.u(j, Salt.REPOSTS))).astype(np.int64)
    replies = np.floor(likes * (0.02 + 0.1 * h.u(j, Salt.REPLIES))).astype(np.int64)
    quotes = np.floor(likes * 0.03 * h.u(j, Salt.QUOTES)).astype(np.int64)
    views = np.floor((likes + 1) * (15 + 120 * h.u(j, Salt.VIEWS)) + 8 * tail).astype(np.int64)
    return {
        "like_count": likes,
        "repost_count": reposts,
        "reply_count": replies,
        "quote_count": quotes,
        "view_count": views,
    }
