"""The generated posts as POST_SCHEMA record batches: each batch's columns assembled from the
attributes of its posts' numbers (texts by Arrow kernels: `take` from the vocabulary's pools,
element-wise joins), batches made on worker threads a few ahead of the caller."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from jalsa.platforms.post_record import POST_SCHEMA
from jalsa.sim.posts.attributes import (
    author_columns,
    author_names,
    curated_accounts,
    describe,
    post_ids,
    public_metrics,
    resolve,
)
from jalsa.sim.posts.hashing import Salt
from jalsa.sim.posts.plan import (
    BURST,
    CAMPAIGN,
    QUOTE,
    REPLY,
    REPOST,
    Plan,
    PostSimConfig,
    make_plan,
)
from jalsa.sim.posts.vocab import ALNUM, LANGS, vocabulary

I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

SOURCE = "sim:posts"
_LANG_WEIGHTS = (0.40, 0.38, 0.22)
_WORKERS = min(2, os.cpu_count() or 1)


def _list_array(values: pa.Array, mask: Mask) -> pa.Array:
    """A list<string> column from a (rows, k) mask over the row-major `values`."""
    offsets = np.zeros(len(mask) + 1, np.int32)
    np.cumsum(mask.sum(axis=1), out=offsets[1:])
    picked = values.take(pa.array(np.flatnonzero(mask.ravel())))
    return pa.ListArray.from_arrays(pa.array(offsets), picked)


def _row_major(columns: Sequence[pa.Array]) -> pa.Array:
    """Interleave equal-length arrays: row 0 of each, then row 1 of each, ..."""
    n, k = len(columns[0]), len(columns)
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    return pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(pa.array(order))


def _make_batch(
    plan: Plan, first_sec: int, end_sec: int, *, extras: bool, newest_first: bool
) -> pa.RecordBatch:
    vocab, h = vocabulary(), plan.hash
    j = np.arange(plan.bin_cum[first_sec], plan.bin_cum[end_sec], dtype=np.int64)
    n = len(j)
    info = describe(plan, j)
    ids = post_ids(plan, j, info["time_ms"])
    # Rows in id (= time) order: sort the post numbers once, then build every column sorted.
    order = np.argsort(ids)
    if newest_first:
        order = order[::-1]
    j, ids = j[order], ids[order]
    info = {key: value[order] for key, value in info.items()}
    kind, target = resolve(plan, j, info)
    author_ids, handles, author_created = author_columns(plan, info["rank"], info["member"])

    # Targets: whom they are by, and their ids.
    has_target = np.flatnonzero(target >= 0)
    tj = target[has_target]
    tinfo = describe(plan, tj)
    t_ids = post_ids(plan, tj, tinfo["time_ms"])
    t_author, t_handle, _ = author_columns(plan, tinfo["rank"], tinfo["member"])
    where = np.full(n, -1, np.int64)
    where[has_target] = np.arange(len(has_target))
    target_id = np.zeros(n, np.int64)
    target_id[has_target] = t_ids
    target_author = np.zeros(n, np.int64)
    target_author[has_target] = t_author
    target_handle = pa.concat_arrays([t_handle, pa.array([""], pa.string())]).take(
        pa.array(np.where(where >= 0, where, len(tj)))
    )

    # A repost shows its original's content: compute every content field on `src`.
    is_rt = kind == REPOST
    src = np.where(is_rt, target, j)
    s = {key: info[key].copy() for key in ("ckind", "cidx", "level", "rank", "member")}
    rt_rows = np.flatnonzero(is_rt)
    for key in s:
        s[key][rt_rows] = tinfo[key][where[rt_rows]]

    # Language: each author mostly writes in one; campaign posts follow their template.
    weights = np.cumsum(_LANG_WEIGHTS)
    who = np.where(s["member"] >= 0, s["member"] + (1 << 40), s["rank"])
    primary = np.searchsorted(weights, h.u(who, Salt.AUTHOR_LANG), side="right")
    other = np.searchsorted(weights, h.u(src, Salt.LANG), side="right")
    lang = np.where(h.u(src, Salt.LANG_KEEP) < 0.85, primary, other).clip(0, 2)
    template = np.zeros(n, np.int64)
    ut = h.u(src, Salt.TEMPLATE)
    for code, (tids, cdf) in enumerate(vocab.organic):
        rows = lang == code
        template[rows] = tids[np.searchsorted(cdf, ut[rows], side="right").clip(0, len(tids) - 1)]
    camp = s["ckind"] >= CAMPAIGN
    template[camp] = plan.wave_template[s["cidx"][camp]]
    lang = vocab.template_lang[template]
    tkind = vocab.template_kind[template]

    # Body: the template's literals around words drawn from its pools.
    parts: list[pa.Array] = []
    for c in range(vocab.slots // 2):
        size_a = vocab.slot_size[template, 2 * c]
        size_b = vocab.slot_size[template, 2 * c + 1]
        a = h.below(src, Salt.SLOT + 2 * c, size_a)
        b = h.below(src, Salt.SLOT + 2 * c + 1, size_b)
        parts.append(vocab.pieces.take(pa.array(vocab.piece_offset[template, c] + a * size_b + b)))
    body = pc.binary_join_element_wise(*parts, "")

    # Hashtags: the template's own, then up to three Zipf-popular ones.
    ntags = np.searchsorted([0.3, 0.65, 0.87], h.u(src, Salt.NTAGS), side="right")
    ntags = np.where(tkind == 1, (h.u(src, Salt.NTAGS) < 0.5).astype(np.int64), ntags)
    tagcdf = vocab.tag_cdf
    top8 = tagcdf[7]
    slot_tags = np.empty((n, 3), np.int64)
    for k, salt in enumerate((Salt.TAG0, Salt.TAG1, Salt.TAG2)):
        u = h.u(src, salt)
        u = np.where(tkind == 1, u * top8, u)  # slogans carry only the top few tags
        slot_tags[:, k] = np.searchsorted(tagcdf, u, side="right").clip(0, len(tagcdf) - 1)
    burst = s["ckind"] == BURST
    slot_tags[burst, 0] = plan.burst_tags[s["cidx"][burst]]
    ntags = np.where(burst, np.maximum(ntags, 1), ntags)
    trail = vocab.trail_tags[h.below(src, Salt.TRAIL, len(vocab.trail_tags))]
    slot_tags[camp, 0] = trail[camp]
    ntags = np.where(camp, 1, ntags)
    slot_mask = np.arange(3)[None, :] < ntags[:, None]
    slot_mask[:, 1] &= slot_tags[:, 1] != slot_tags[:, 0]
    slot_mask[:, 2] &= (slot_tags[:, 2] != slot_tags[:, 0]) & (slot_tags[:, 2] != slot_tags[:, 1])
    inline = vocab.inline_tags[template]
    all_tags = np.concatenate([inline, slot_tags], axis=1)
    tag_mask = np.concatenate([inline >= 0, slot_mask], axis=1)
    hashtags = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(tag_mask.sum(axis=1))]).astype(np.int32)),
        vocab.tag_lower.take(pa.array(all_tags[tag_mask])),
    )
    none = len(vocab.tag_piece) - 1
    tag_parts = [
        vocab.tag_piece.take(pa.array(np.where(slot_mask[:, k], slot_tags[:, k], none)))
        for k in range(3)
    ]

    # A mention of a well-known account, sometimes; a link, sometimes.
    plain = tkind == 0
    mentions_body = plain & (h.u(src, Salt.MENTION) < 0.10)
    who_rank = np.floor(h.u(src, Salt.MENTION_WHO) ** 2 * len(vocab.curated)).astype(np.int64)
    curated_ids, curated_handles = curated_accounts(plan)
    m_ids, m_handle = curated_ids[who_rank], curated_handles.take(pa.array(who_rank))
    mention_part = pc.if_else(
        pa.array(mentions_body), pc.binary_join_element_wise(" @", m_handle, ""), ""
    )
    has_url = plain & (h.u(src, Salt.URL) < 0.07)
    url_pick = np.searchsorted(vocab.url_cdf, h.u(src, Salt.URL_WHICH), side="right")
    expanded = vocab.urls.take(pa.array(url_pick.clip(0, len(vocab.urls) - 1)))
    tco_bits = h.bits(src, Salt.TCO)
    chars = np.empty((n, 10), np.uint8)
    for k in range(10):
        tco_bits, digit = np.divmod(tco_bits, np.uint64(62))
        chars[:, k] = ALNUM[digit.astype(np.int64)]
    tco = pc.cast(pa.array(chars.view("S10").ravel(), pa.binary()), pa.string())
    url_part = pc.if_else(
        pa.array(has_url), pc.binary_join_element_wise(" https://t.co/", tco, ""), ""
    )

    # Replies start with the replied-to handle; reposts are "RT @handle: " + the original.
    is_reply = kind == REPLY
    reply_prefix = pc.if_else(
        pa.array(is_reply), pc.binary_join_element_wise("@", target_handle, " ", ""), ""
    )
    rt_prefix = pc.if_else(
        pa.array(is_rt), pc.binary_join_element_wise("RT @", target_handle, ": ", ""), ""
    )
    text = pc.binary_join_element_wise(
        rt_prefix, reply_prefix, body, mention_part, *tag_parts, url_part, ""
    )

    lead = is_rt | is_reply
    mention_values = _row_major([pc.utf8_lower(target_handle), pc.utf8_lower(m_handle)])
    mention_mask = np.stack([lead, mentions_body], axis=1)
    mentions = _list_array(mention_values, mention_mask)
    urls = _list_array(expanded, has_url[:, None])

    metrics = public_metrics(plan, src, s["ckind"], s["level"])
    if len(rt_rows):
        for name in ("like_count", "reply_count", "quote_count", "view_count"):
            metrics[name][rt_rows] = 0

    target_text = pc.cast(pa.array(target_id), pa.string())

    def ref(which: int) -> pa.Array:
        return pc.if_else(pa.array(kind == which), target_text, None)

    time_us = pa.array(info["time_ms"] * 1000, pa.timestamp("us", tz="UTC"))
    created_us = pa.array((author_created // 1000) * 1_000_000, pa.timestamp("us", tz="UTC"))
    columns: dict[str, pa.Array] = {
        "platform": pa.repeat(pa.scalar("x", pa.string()), n),
        "id": pc.cast(pa.array(ids), pa.string()),
        "author_id": pc.cast(pa.array(author_ids), pa.string()),
        "author_handle": handles,
        "author_created_at": created_us,
        "created_at": time_us,
        "text": text,
        "lang": pa.array(LANGS, pa.string()).take(pa.array(lang)),
        "hashtags": hashtags,
        "mentions": mentions,
        "urls": urls,
        "reply_to": ref(REPLY),
        "repost_of": ref(REPOST),
        "quote_of": ref(QUOTE),
        **{name: pa.array(values) for name, values in metrics.items()},
        "source": pa.repeat(pa.scalar(SOURCE, pa.string()), n),
    }
    arrays = [columns[f.name] for f in POST_SCHEMA]
    schema = POST_SCHEMA
    if extras:
        mention_id_values = _row_major(
            [pc.cast(pa.array(target_author), pa.string()), pc.cast(pa.array(m_ids), pa.string())]
        )
        conversation = np.where(is_reply, target_id, ids)
        arrays += [
            _list_array(mention_id_values, mention_mask),
            pc.if_else(pa.array(is_reply), pc.cast(pa.array(target_author), pa.string()), None),
            pc.cast(pa.array(conversation), pa.string()),
            author_names(plan, author_ids),
        ]
        schema = _EXTRA_SCHEMA
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


_EXTRA_SCHEMA = POST_SCHEMA.append(pa.field("_mention_ids", pa.list_(pa.string())))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_in_reply_to_user_id", pa.string()))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_conversation_id", pa.string()))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_author_name", pa.string()))


def make_batches(
    config: PostSimConfig, *, newest_first: bool = False, extras: bool = False
) -> Iterator[pa.RecordBatch]:
    """Batches made on worker threads, a few ahead (numpy and Arrow release the GIL), so
    generation uses both cores of a small machine while the caller writes."""
    plan = make_plan(config)
    vocabulary()
    spans = list(reversed(plan.batches) if newest_first else plan.batches)
    workers = max(1, min(_WORKERS, len(spans)))
    with ThreadPoolExecutor(workers, thread_name_prefix="posts") as pool:
        pending: deque[Future[pa.RecordBatch]] = deque()
        for first, end in spans:
            pending.append(
                pool.submit(_make_batch, plan, first, end, extras=extras, newest_first=newest_first)
            )
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def generate_batches(config: PostSimConfig) -> Iterator[pa.RecordBatch]:
    """The posts as POST_SCHEMA record batches of about `config.batch_rows` rows, in time
    order (ids ascending)."""
    return make_batches(config)
