"""The vocabulary of the generated posts, read from `words.toml` (package data) and made into
what the batches draw from: hashtags, handles, names, links, and every template's text as
pools of pre-joined pieces (the same for every seed)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

WORDS = "words.toml"
LANGS = ("en", "und", "ur")  # English, Roman Urdu, Urdu script
ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


@dataclass(frozen=True)
class Vocab:
    pieces: pa.Array  # every filled pair of slots of every template
    slots: int  # slots per template (even; unused ones have a pool of one "")
    piece_offset: I64  # (templates, slots / 2) first piece of each pair
    slot_size: I64  # (templates, slots) size of the slot's word pool
    template_lang: I64
    template_kind: I64  # 0 post, 1 slogan, 2 campaign
    inline_tags: I64  # (templates, 2) hashtag ids written in the template, -1 if none
    organic: tuple[tuple[I64, F64], ...]  # per language: template ids and cumulative weights
    campaign: I64  # template ids of the campaign
    campaign_texts: tuple[str, ...]
    trail_tags: I64
    tag_display: pa.Array
    tag_lower: pa.Array
    tag_piece: pa.Array  # " #Display"; the last entry is "" (no tag)
    tag_cdf: F64
    handle_words: pa.Array
    curated: pa.Array
    member_words: pa.Array
    first: pa.Array
    last: pa.Array
    name_suffix: pa.Array
    urls: pa.Array
    url_cdf: F64


def zipf_cdf(n: int, s: float) -> F64:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def words() -> dict[str, Any]:
    """The vocabulary file as data."""
    text = resources.files("jalsa.sim.posts").joinpath(WORDS).read_text(encoding="utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def vocabulary() -> Vocab:
    data = words()
    top_tags = data["hashtags"]["top"]
    pools: dict[str, list[str]] = data["pools"]
    templates = [(t["text"], t["lang"], t["kind"], t["weight"]) for t in data["templates"]]
    accounts = data["accounts"]
    first_names, last_names = accounts["first_names"], accounts["last_names"]

    # Hashtags: realistic ones first (most popular), then city/theme combinations.
    tags = list(top_tags)
    seen = {t.lower() for t in tags}
    extra = [
        h + t
        for h in data["hashtags"]["heads"]
        for t in data["hashtags"]["tails"]
        if (h + t).lower() not in seen
    ]
    order = np.random.default_rng(2023).permutation(len(extra))
    tags += [extra[i] for i in order[: 2000 - len(tags)]]
    tag_id = {t.lower(): i for i, t in enumerate(tags)}

    # A template is literals around slots filled from word pools. Slots go in pairs, and each
    # pair's pool holds every "literal word literal word" it can produce, so a body is three
    # lookups and one join whatever the template.
    parsed = [re.split(r"\{(\w+)\}", text) for text, *_ in templates]
    slots = max(len(p) // 2 for p in parsed)
    slots += slots % 2
    pieces: list[str] = []
    piece_offset = np.zeros((len(parsed), slots // 2), np.int64)
    slot_size = np.ones((len(parsed), slots), np.int64)
    inline = np.full((len(parsed), 2), -1, np.int64)
    for t, parts in enumerate(parsed):
        lits = parts[0::2] + [""] * (slots + 1 - len(parts[0::2]))
        slot_pools = [pools[name] for name in parts[1::2]]
        slot_pools += [[""]] * (slots - len(slot_pools))
        for k, pool in enumerate(slot_pools):
            slot_size[t, k] = len(pool)
        for c in range(slots // 2):
            tail = lits[slots] if c == slots // 2 - 1 else ""
            piece_offset[t, c] = len(pieces)
            pieces += [
                lits[2 * c] + a + lits[2 * c + 1] + b + tail
                for a in slot_pools[2 * c]
                for b in slot_pools[2 * c + 1]
            ]
        found = re.findall(r"#(\w+)", "".join(lits))
        for k, tag in enumerate(found):
            inline[t, k] = tag_id[tag.lower()]
    kinds = {"post": 0, "slogan": 1, "campaign": 2}
    template_lang = np.array([LANGS.index(lang) for _, lang, _, _ in templates], np.int64)
    template_kind = np.array([kinds[kind] for _, _, kind, _ in templates], np.int64)
    organic = []
    for lang in range(len(LANGS)):
        ids = np.flatnonzero((template_lang == lang) & (template_kind < 2))
        weights = np.array([templates[i][3] for i in ids], np.float64)
        organic.append((ids.astype(np.int64), np.cumsum(weights) / weights.sum()))
    campaign = np.flatnonzero(template_kind == 2).astype(np.int64)
    campaign_texts = tuple(
        re.sub(r"\{c(punct|emoji|sep)\}", "", templates[i][0]).replace("{cnum}", "{n}")
        for i in campaign
    )

    # X usernames are unique ignoring case: keep one spelling per lower-case form.
    combos = [
        style.format(F=f, L=ln, f=f.lower(), l=ln.lower())
        for f in first_names
        for ln in last_names
        for style in accounts["handle_styles"]
    ] + [style.format(F=f) for f in first_names for style in accounts["handle_extras"]]
    handle_words = sorted({w.lower(): w for w in combos if len(w) <= 11}.values(), key=str.lower)
    assert not {h.lower() for h in accounts["curated"]} & {w.lower() for w in handle_words}
    member_words = [f.lower() for f in first_names if len(f) <= 7]

    rng = np.random.default_rng(17)
    urls: list[str] = []
    slug_words = data["links"]["slug_words"]
    for kind in data["links"]["url_kinds"]:
        for _ in range(kind["count"]):
            slug = "-".join(rng.choice(slug_words, size=int(rng.integers(3, 7))).tolist())
            urls.append(
                kind["pattern"].format(
                    yt="".join(chr(c) for c in rng.choice(ALNUM, 11)),
                    sp="".join(chr(c) for c in rng.choice(ALNUM[10:], 12)),
                    num=int(rng.integers(10**14, 10**15)),
                    n6=int(rng.integers(10**5, 10**6)),
                    n5=int(rng.integers(10**4, 10**5)),
                    slug=slug,
                )
            )
    urls = [urls[i] for i in rng.permutation(len(urls))]

    trail = data["hashtags"]["campaign_trail"]
    return Vocab(
        pieces=pa.array(pieces, pa.string()),
        slots=slots,
        piece_offset=piece_offset,
        slot_size=slot_size,
        template_lang=template_lang,
        template_kind=template_kind,
        inline_tags=inline,
        organic=tuple(organic),
        campaign=campaign,
        campaign_texts=campaign_texts,
        trail_tags=np.array([tag_id[t.lower()] for t in trail], np.int64),
        tag_display=pa.array(tags, pa.string()),
        tag_lower=pa.array([t.lower() for t in tags], pa.string()),
        tag_piece=pa.array([f" #{t}" for t in tags] + [""], pa.string()),
        tag_cdf=zipf_cdf(len(tags), 1.05),
        handle_words=pa.array(handle_words, pa.string()),
        curated=pa.array(accounts["curated"], pa.string()),
        member_words=pa.array(member_words, pa.string()),
        first=pa.array(first_names, pa.string()),
        last=pa.array(last_names, pa.string()),
        name_suffix=pa.array(accounts["name_suffixes"], pa.string()),
        urls=pa.array(urls, pa.string()),
        url_cdf=zipf_cdf(len(urls), 1.1),
    )
