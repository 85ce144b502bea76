"""The simulated X posts, and recent search over them.

Every post is a deterministic function of (seed, stream, minute, index): a minute holds as many
as the x_counts stream's curve says (so search, the filtered stream and counts agree), spread
evenly over the minute, with ids made X's way (time in the high bits). Authors are drawn with
Zipf-like weights from a population (two fixed accounts open every minute); half the posts
repost, reply to or quote the opening post of a recent minute; hashtags are the query's own and
up to two popular ones.

    GET /x/2/tweets/search/recent?query=...[&since_id=..][&next_token=..]
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from starlette.requests import Request

from jalsa.platforms.x.sim.errors import x_invalid_request
from jalsa.sim.curves import uniform
from jalsa.sim.kit import (
    Reply,
    etag,
    iso_ms_z,
    minute_start,
    parse_iso,
    person_name,
    pick,
    requested,
    spread_ms,
    zipf_rank,
)
from jalsa.sim.scenario import Scenario, Stream, query_terms

X_TWEPOCH_MS = 1288834974657  # X's id epoch: a post id is (milliseconds - epoch) << 22 | ...
X_SEARCH_WINDOW = timedelta(days=7)
X_AUTHOR_POOL = 5000

# Hashtags used beside the query's own, most popular first (chosen with Zipf weights).
EXTRA_HASHTAGS = (
    "PTI",
    "ImranKhan",
    "InternetShutdown",
    "Pakistan",
    "VPN",
    "KhanKaJalsa",
    "PakistanElections2024",
    "FreeInternet",
)
# (id, username, name, created_at) of the accounts that open every minute.
FIXED_AUTHORS = (
    ("1458720925474271232", "PTIofficial", "PTI (simulated)", "2009-04-12T09:41:28.000Z"),
    ("1458720925474271233", "jalsa_news_sim", "Jalsa News (simulated)", "2015-06-01T10:00:00.000Z"),
)
POST_PHRASES = (
    ("Virtual jalsa shuru ho gaya hai, sab live dekhein", "und"),
    ("Internet band hai magar VPN se dekh rahe hain", "und"),
    ("عوام کا جلسہ، عوام کی آواز", "ur"),
    ("جلسہ دیکھنے کے لیے وی پی این استعمال کریں", "ur"),
    ("Join the virtual jalsa now, the whole nation is watching", "en"),
    ("X and Facebook are down in Lahore again", "en"),
    ("Pakistan Zindabad", "und"),
    ("Khan sahab ki taqreer ka intezar hai", "und"),
)


class PostRef(NamedTuple):
    """One simulated post: its id, and where it comes from (stream, minute, index of n)."""

    id: int
    stream_index: int  # of the x_counts stream in the scenario
    stream: Stream
    minute: int  # minutes since the Unix epoch
    k: int
    n: int


def x_snowflake(ms: int, stream_index: int, k: int) -> int:
    """A post id X-style: time in the high bits, so ids sort as the posts were made."""
    return ((ms - X_TWEPOCH_MS) << 22) | ((stream_index & 0x3FF) << 12) | (k & 0xFFF)


def x_ms(post_id: int) -> int:
    return (post_id >> 22) + X_TWEPOCH_MS


_TAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@(\w+)")
_URL = re.compile(r"https://t\.co/\w+")


def x_entities(text: str) -> dict[str, Any]:
    """X's entities of a text: hashtags, mentions and URLs with their character offsets."""
    entities: dict[str, Any] = {}
    tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _TAG.finditer(text)]
    if tags:
        entities["hashtags"] = tags
    mentions = [
        {"start": m.start(), "end": m.end(), "username": m.group(1)}
        for m in _MENTION.finditer(text)
    ]
    if mentions:
        entities["mentions"] = mentions
    urls = [
        {
            "start": m.start(),
            "end": m.end(),
            "url": m.group(0),
            "expanded_url": "https://www.youtube.com/watch?v=jalsaSIM001",
            "display_url": "youtube.com/watch?v=jalsaS…",
        }
        for m in _URL.finditer(text)
    ]
    if urls:
        entities["urls"] = urls
    return entities


def encode_x_token(post_id: int) -> str:
    """A next_token (opaque to clients): the id to continue below, in base 36."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    value, out = post_id, ""
    while value:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
    return "b26v" + (out or "0")


def decode_x_token(token: str) -> str | None:
    if not token.startswith("b26v"):
        return None
    try:
        return str(int(token[4:], 36))
    except ValueError:
        return None


def x_page_reply(
    page: list[PostRef], data: list[dict[str, Any]], includes: dict[str, Any], more: bool
) -> Reply:
    """A search-shaped answer: the posts of `page` rendered (newest first) and the meta."""
    meta: dict[str, Any] = {}
    if page:
        meta["newest_id"], meta["oldest_id"] = str(page[0].id), str(page[-1].id)
    meta["result_count"] = len(page)
    if more:
        meta["next_token"] = encode_x_token(page[-1].id)
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
        body["includes"] = includes
    body["meta"] = meta
    return Reply(200, body)


class Posts:
    """The posts of the scenario's x_counts streams, their authors, and recent search."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def streams_for(self, query: str) -> list[tuple[int, Stream]]:
        """(index in the scenario, stream) of the x_counts streams a query matches."""
        wanted = query_terms(query)
        return [
            (i, s)
            for i, s in enumerate(self.scenario.streams)
            if s.platform == "x_counts" and query_terms(s.x_query) & wanted
        ]

    def minute_count(self, stream: Stream, minute: int) -> int:
        return self.scenario.expected_posts(stream, minute_start(minute))

    def minute_posts(self, index: int, stream: Stream, minute: int) -> list[PostRef]:
        n = self.minute_count(stream, minute)
        return [
            PostRef(x_snowflake(spread_ms(minute, k, n), index, k), index, stream, minute, k, n)
            for k in range(n)
        ]

    def user(self, rank: int) -> dict[str, str]:
        """Account number `rank` of the simulated X population (0 and 1: the fixed accounts)."""
        if rank < len(FIXED_AUTHORS):
            uid, username, name, since = FIXED_AUTHORS[rank]
            return {"id": uid, "name": name, "username": username, "created_at": since}
        seed = self.scenario.seed
        first, last = person_name(seed, "x", rank)
        # About one account in eight was created days before the rally (amplification).
        fresh = uniform(seed, "x-fresh", rank) < 0.12
        days = (
            0.5 + 5 * uniform(seed, "x-age", rank)
            if fresh
            else 60 + 4000 * uniform(seed, "x-age", rank)
        )
        created = self.scenario.clock_start - timedelta(days=days)
        return {
            "id": str(1_600_000_000_000_000_000 + rank * 7_919_000_003),
            "name": f"{first} {last}",
            "username": f"{first.lower()}_{last.lower()[:1]}{rank}",
            "created_at": iso_ms_z(created),
        }

    def author_rank(self, ref: PostRef) -> int:
        if ref.k == 0:  # the first post of every minute is a fixed account's
            return ref.minute % len(FIXED_AUTHORS)
        u = uniform(self.scenario.seed, "x-author", ref.stream.key, ref.minute, ref.k)
        return zipf_rank(u, X_AUTHOR_POOL)

    def target(self, ref: PostRef) -> tuple[str, PostRef] | None:
        """(retweeted | replied_to | quoted, the post) this one refers to, if any: the first
        post of a recent minute, a fixed account's."""
        if ref.k == 0:
            return None
        seed = self.scenario.seed
        u = uniform(seed, "x-kind", ref.stream.key, ref.minute, ref.k)
        if u >= 0.5:
            return None
        back = 1 + int(uniform(seed, "x-back", ref.stream.key, ref.minute, ref.k) * 5)
        minute = ref.minute - back
        n = self.minute_count(ref.stream, minute)
        if n == 0:
            return None
        target = PostRef(
            x_snowflake(spread_ms(minute, 0, n), ref.stream_index, 0),
            ref.stream_index,
            ref.stream,
            minute,
            0,
            n,
        )
        kind = "retweeted" if u < 0.35 else "replied_to" if u < 0.45 else "quoted"
        return kind, target

    def words(self, ref: PostRef) -> tuple[str, str]:
        """(phrase with hashtags, lang) of a post: the query's hashtags (or words) and up to two
        popular ones (Zipf)."""
        seed = self.scenario.seed
        key = (ref.stream.key, ref.minute, ref.k)
        phrase, lang = POST_PHRASES[int(uniform(seed, "x-phrase", *key) * len(POST_PHRASES))]
        own = [t for t in ref.stream.x_query.split() if t.startswith("#")]
        if not own:
            own = [t for t in ref.stream.x_query.split() if t.lower() in query_terms(t)]
        extra = [
            "#" + EXTRA_HASHTAGS[zipf_rank(uniform(seed, "x-tag", i, *key), len(EXTRA_HASHTAGS))]
            for i in range(int(uniform(seed, "x-tags", *key) * 3))
        ]
        return f"{phrase} {' '.join(dict.fromkeys(own + extra))}", lang

    def tweet(self, ref: PostRef, now: datetime) -> dict[str, Any]:
        """The full post (every field jalsa may ask for), as X v2 shapes it."""
        seed = self.scenario.seed
        key = (ref.stream.key, ref.minute, ref.k)
        post_id = str(ref.id)
        author = self.user(self.author_rank(ref))
        created = datetime.fromtimestamp(x_ms(ref.id) / 1000, UTC)
        words, lang = self.words(ref)
        text = words
        target = self.target(ref)
        conversation = post_id
        reply_to: str | None = None
        if target is not None:
            kind, to = target
            to_author = self.user(self.author_rank(to))
            if kind == "retweeted":
                text, lang = self.words(to)
                text = f"RT @{to_author['username']}: {text}"
            elif kind == "replied_to":
                text = f"@{to_author['username']} {words}"
                conversation, reply_to = str(to.id), to_author["id"]
            else:
                text = f"{words} https://t.co/{etag('quote', to.id)[:10]}"
        age = max(0.0, (now - created).total_seconds() / 60.0)
        weight = 40.0 if ref.k == 0 else 0.3
        liking = weight * (0.5 + uniform(seed, "x-likes", *key))
        likes = int(age * liking)
        tweet: dict[str, Any] = {
            "edit_history_tweet_ids": [post_id],
            "author_id": author["id"],
            "conversation_id": conversation,
            "created_at": iso_ms_z(created),
            "entities": x_entities(text),
            "lang": lang,
            "public_metrics": {
                "retweet_count": likes // 3,
                "reply_count": likes // 20,
                "like_count": likes,
                "quote_count": likes // 50,
                "bookmark_count": likes // 40,
                "impression_count": likes * 30 + int(age * 5),
            },
            "id": post_id,
            "text": text,
        }
        if target is not None:
            tweet["referenced_tweets"] = [{"type": target[0], "id": str(target[1].id)}]
        if reply_to is not None:
            tweet["in_reply_to_user_id"] = reply_to
        return tweet

    def render(
        self, refs: list[PostRef], now: datetime, params: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(data, includes) for `refs` with the fields and expansions a request asked for."""
        fields = requested(params.get("tweet.fields"))
        expansions = requested(params.get("expansions"))
        user_fields = requested(params.get("user.fields"))
        always = ("id", "text", "edit_history_tweet_ids")
        data: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        tweets: dict[str, dict[str, Any]] = {}
        for ref in refs:
            full = self.tweet(ref, now)
            data.append(pick(full, fields, always))
            if "author_id" in expansions:
                user = self.user(self.author_rank(ref))
                users.setdefault(user["id"], pick(user, user_fields, ("id", "name", "username")))
            target = self.target(ref)
            if "referenced_tweets.id" in expansions and target is not None:
                to = target[1]
                tweets.setdefault(str(to.id), pick(self.tweet(to, now), fields, always))
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = list(users.values())
        if tweets:
            includes["tweets"] = list(tweets.values())
        return data, includes

    def search(self, request: Request, now: datetime) -> Reply:
        """GET /2/tweets/search/recent: newest first, within the last 7 days, paged by
        next_token, bounded by since_id/until_id and start_time/end_time."""
        params = request.query_params
        query = params.get("query", "").strip()
        if not query:
            return x_invalid_request("query", "The `query` query parameter can not be empty")
        raw_max = params.get("max_results", "10")
        if not raw_max.isdigit() or not 10 <= int(raw_max) <= 100:
            return x_invalid_request(
                "max_results",
                f"The `max_results` query parameter value [{raw_max}] is not between 10 and 100",
            )
        limit = int(raw_max)
        earliest = now - X_SEARCH_WINDOW
        start, end = earliest, now
        for name in ("start_time", "end_time"):
            raw = params.get(name)
            if raw is None:
                continue
            parsed = parse_iso(raw)
            if parsed is None:
                return x_invalid_request(
                    name, f"Invalid '{name}':'{raw}'. '{name}' must be an RFC 3339 timestamp"
                )
            if name == "start_time" and parsed < earliest - timedelta(seconds=1):
                return x_invalid_request(
                    name,
                    f"Invalid 'start_time':'{raw}'. 'start_time' must be on or after "
                    f"{iso_ms_z(earliest)}",
                )
            if name == "start_time":
                start = parsed
            else:
                end = min(parsed, now)
        bounds: dict[str, int] = {}
        for name in ("since_id", "until_id", "next_token", "pagination_token"):
            raw = params.get(name)
            if raw is None:
                continue
            value = decode_x_token(raw) if name.endswith("token") else raw
            if value is None or not str(value).isdigit():
                return x_invalid_request(
                    name, f"The `{name}` query parameter value [{raw}] is not valid"
                )
            bounds[name] = int(value)
        lower = bounds.get("since_id", -1)
        upper = min(
            bounds.get("until_id", 1 << 63),
            bounds.get("next_token", 1 << 63),
            bounds.get("pagination_token", 1 << 63),
        )
        lo_ms = max(int(start.timestamp() * 1000), x_ms(lower) if lower >= 0 else 0)
        hi_ms = min(int(end.timestamp() * 1000), x_ms(upper))  # exclusive
        streams = self.streams_for(query)
        found: list[PostRef] = []
        minute = (hi_ms - 1) // 60_000
        while streams and minute * 60_000 + 60_000 > lo_ms and len(found) <= limit:
            refs = [
                ref
                for index, stream in streams
                for ref in self.minute_posts(index, stream, minute)
                if lo_ms <= x_ms(ref.id) < hi_ms and lower < ref.id < upper
            ]
            found.extend(sorted(refs, key=lambda r: r.id, reverse=True))
            minute -= 1
        page = found[:limit]
        data, includes = self.render(page, now, params)
        return x_page_reply(page, data, includes, more=len(found) > limit)
