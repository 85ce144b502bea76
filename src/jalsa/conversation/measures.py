"""Every conversation figure, defined once: its meaning in words and the SQL that computes it
over the relation `posts` (the dataset's schema). The SQL is written in DuckDB's dialect and
runs as it is on DuckDB; for Spark it is transpiled by sqlglot (see engines.py). Minutes are
whole minutes since 1970-01-01 UTC (`epoch minute`), so both engines return the same numbers.

Parameters are numbers or lists of words put into the SQL as literals by `render`, never by
string pasting of user text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

MINUTE = "CAST(epoch(date_trunc('minute', created_at)) AS BIGINT) // 60"
IS_ORIGINAL = "repost_of IS NULL AND reply_to IS NULL AND quote_of IS NULL"
# Text with links, mentions, hashtags, digits and everything but letters and spaces taken
# out, in lower case: two posts with the same key are "near-identical" (they differ only in
# those; a campaign varies them to look organic).
NEAR_TEXT = (
    r"trim(regexp_replace(regexp_replace(lower(text), "
    r"'https?://[^ ]+|[@#][\pL\pN_]+|[^\pL ]+', ' ', 'g'), ' +', ' ', 'g'))"
)
STOP_WORDS = [
    "the",
    "and",
    "for",
    "you",
    "are",
    "with",
    "this",
    "that",
    "have",
    "from",
    "was",
    "not",
    "but",
    "all",
    "they",
    "will",
    "what",
    "our",
    "hai",
    "hain",
    "aur",
    "bhi",
    "nahi",
    "kya",
    "koi",
    "tha",
    "thi",
    "yeh",
    "woh",
    "main",
    "mein",
    "hum",
    "tum",
    "ham",
    "apne",
    "apni",
    "liye",
    "kay",
    "key",
    "nay",
    "sab",
    "jab",
    "tak",
    "kar",
    "rahe",
    "raha",
    "rahi",
    "gaya",
    "gayi",
    "hoga",
    "hogi",
    "wala",
    "wali",
    "ہے",
    "ہیں",
    "اور",
    "کے",
    "کی",
    "کا",
    "میں",
    "سے",
    "کو",
    "نے",
    "پر",
    "یہ",
    "وہ",
    "بھی",
    "تو",
    "ہم",
    "رہے",
    "رہی",
    "رہا",
    "تھا",
    "تھے",
]


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    definition: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)  # defaults


@dataclass(frozen=True)
class Rows:
    """A parameter that is a small table (spikes, voices): rendered as a VALUES body of
    quoted literals; no rows gives one row of NULLs, which matches nothing."""

    width: int
    rows: tuple[tuple[str | int | float, ...], ...]

    def sql(self) -> str:
        if not self.rows:
            return "(" + ", ".join(["NULL"] * self.width) + ")"
        return ", ".join(
            "(" + ", ".join(_literal(v).sql("duckdb") for v in row) + ")" for row in self.rows
        )


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"a parameter must be a number or text, not {value!r}")
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def render(measure: Measure, **overrides: Any) -> str:
    """The measure's SQL with its parameters as literals."""
    values = {**measure.params, **overrides}
    text = measure.sql.format(
        **{k: v.sql() if isinstance(v, Rows) else f"${k}" for k, v in values.items()}
    )
    tree = sqlglot.parse_one(text, read="duckdb")

    def literal(node: exp.Expression) -> exp.Expression:
        return _literal(values[node.name]) if isinstance(node, exp.Placeholder) else node

    return tree.transform(literal).sql(dialect="duckdb")


def words(values: list[str]) -> str:
    return Rows(1, tuple((v,) for v in values)).sql()


OVERVIEW = Measure(
    "overview",
    "Volume and authors",
    "posts: every post in the dataset (originals, reposts, replies and quotes). authors: "
    "accounts that posted at least once, counted exactly; authors_approx: the same counted "
    "with the engine's HyperLogLog sketch (its error is stated beside it).",
    f"""
SELECT count(*) AS posts,
    count(DISTINCT author_id) AS authors,
    approx_count_distinct(author_id) AS authors_approx,
    count(*) FILTER (WHERE {IS_ORIGINAL}) AS originals,
    count(*) FILTER (WHERE repost_of IS NOT NULL) AS reposts,
    count(*) FILTER (WHERE reply_to IS NOT NULL) AS replies,
    count(*) FILTER (WHERE quote_of IS NOT NULL) AS quotes,
    min({MINUTE}) AS first_minute,
    max({MINUTE}) AS last_minute
FROM posts""",
)

PER_MINUTE = Measure(
    "per_minute",
    "Posts per minute",
    "posts published in each whole minute (UTC), the distinct accounts that posted in it, "
    "and how many of the posts were reposts.",
    f"""
SELECT {MINUTE} AS minute, count(*) AS posts, count(DISTINCT author_id) AS authors,
    count(*) FILTER (WHERE repost_of IS NOT NULL) AS reposts
FROM posts GROUP BY 1 ORDER BY 1""",
)

TOP_HASHTAGS = Measure(
    "top_hashtags",
    "Top hashtags",
    "posts that carry the hashtag (a post counts once per distinct hashtag), with the "
    "accounts that used it.",
    """
SELECT tag AS item, count(*) AS posts, count(DISTINCT author_id) AS authors
FROM (SELECT DISTINCT id, platform, author_id, tag FROM posts, unnest(hashtags) AS t(tag))
GROUP BY 1 ORDER BY posts DESC, item LIMIT {limit}""",
    {"limit": 25},
)

TAG_MINUTES = Measure(
    "tag_minutes",
    "Hashtag volume per minute",
    "posts per minute that carry each of the {top} most used hashtags (once per post).",
    f"""
WITH tagged AS (
    SELECT DISTINCT platform, id, tag, {MINUTE} AS minute
    FROM posts, unnest(hashtags) AS t(tag)
),
top AS (SELECT tag FROM tagged GROUP BY tag ORDER BY count(*) DESC, tag LIMIT {{top}})
SELECT t.tag, t.minute, count(*) AS posts
FROM tagged t JOIN top USING (tag) GROUP BY 1, 2 ORDER BY 1, 2""",
    {"top": 5},
)

TOP_MENTIONS = Measure(
    "top_mentions",
    "Most mentioned accounts",
    "posts that mention the account (@username), once per post.",
    """
SELECT mention AS item, count(*) AS posts, count(DISTINCT author_id) AS authors
FROM (SELECT DISTINCT id, platform, author_id, mention FROM posts, unnest(mentions) AS t(mention))
GROUP BY 1 ORDER BY posts DESC, item LIMIT {limit}""",
    {"limit": 25},
)

TOP_URLS = Measure(
    "top_urls",
    "Most shared links",
    "posts that link the URL (as expanded by the platform), once per post.",
    """
SELECT url AS item, count(*) AS posts, count(DISTINCT author_id) AS authors
FROM (SELECT DISTINCT id, platform, author_id, url FROM posts, unnest(urls) AS t(url))
GROUP BY 1 ORDER BY posts DESC, item LIMIT {limit}""",
    {"limit": 25},
)

TOP_AUTHORS = Measure(
    "top_authors",
    "Most active accounts",
    "posts by the account (all kinds), and how many of them were reposts.",
    """
SELECT author_id AS item, max(author_handle) AS handle, count(*) AS posts,
    count(*) FILTER (WHERE repost_of IS NOT NULL) AS reposts
FROM posts GROUP BY 1 ORDER BY posts DESC, item LIMIT {limit}""",
    {"limit": 25},
)

TOP_TERMS = Measure(
    "top_terms",
    "Top words",
    "original posts (not reposts) that use the word, once per post; words are runs of "
    "letters of three or more, in lower case, without hashtags, mentions, links and common "
    "English, Urdu and Roman Urdu function words.",
    f"""
WITH stop(word) AS (VALUES {words(STOP_WORDS)})
SELECT word AS item, count(*) AS posts, count(DISTINCT author_id) AS authors
FROM (
    SELECT DISTINCT id, platform, author_id, word
    FROM posts, unnest(string_split_regex({NEAR_TEXT}, ' ')) AS t(word)
    WHERE repost_of IS NULL
)
WHERE length(word) >= 3 AND word NOT IN (SELECT word FROM stop)
GROUP BY 1 ORDER BY posts DESC, item LIMIT {{limit}}""",
    {"limit": 25},
)

TAG_SPIKES = Measure(
    "tag_spikes",
    "Hashtag spikes",
    "a hashtag spikes in a minute when it is used far more than its share of the previous "
    "{window} minutes predicts. expected = uses of all hashtags in the minute x the tag's "
    "share of all hashtag uses in the previous {window} minutes; score = (count - expected) "
    "/ sqrt(expected + 1) (a Poisson z-score); a spike minute has score >= {threshold} and "
    "count >= {min_count}. A tag with no uses in the window has expected 0; minutes with no "
    "hashtag use at all in the window before (the start of the data) are not scored.",
    f"""
WITH uses AS (
    SELECT tag, {MINUTE} AS m, count(*) AS n FROM posts, unnest(hashtags) AS t(tag) GROUP BY 1, 2
),
totals AS (
    SELECT m, total,
        sum(total) OVER (ORDER BY m RANGE BETWEEN {{window}} PRECEDING AND 1 PRECEDING)
            AS all_before
    FROM (SELECT m, sum(n) AS total FROM uses GROUP BY 1)
),
expected AS (
    SELECT u.tag, u.m, u.n, t.all_before,
        CASE WHEN t.all_before > 0 THEN t.total * coalesce(sum(u.n) OVER (
            PARTITION BY u.tag ORDER BY u.m RANGE BETWEEN {{window}} PRECEDING AND 1 PRECEDING
        ), 0) / t.all_before ELSE 0 END AS expected
    FROM uses u JOIN totals t ON t.m = u.m
)
SELECT tag, m AS minute, n AS posts, expected, (n - expected) / sqrt(expected + 1) AS score
FROM expected
WHERE all_before > 0 AND n >= {{min_count}}
    AND (n - expected) / sqrt(expected + 1) >= {{threshold}}
ORDER BY tag, minute""",
    {"window": 15, "threshold": 6, "min_count": 30},
)

SPIKE_EVIDENCE = Measure(
    "spike_evidence",
    "What is behind each spike",
    "for each spike (tag, first and last minute): the three original posts with the most "
    "likes + reposts that carry the tag in those minutes, and the three accounts that posted "
    "it most.",
    f"""
WITH spikes(tag, first_minute, last_minute) AS (VALUES {{spikes}}),
hits AS (
    SELECT s.tag, s.first_minute, p.id, p.author_id, p.author_handle, p.text, p.repost_of,
        coalesce(p.like_count, 0) + coalesce(p.repost_count, 0) AS engagement
    FROM spikes s
    JOIN (SELECT *, {MINUTE} AS m FROM posts) p
        ON p.m >= s.first_minute AND p.m <= s.last_minute AND list_contains(p.hashtags, s.tag)
),
top_posts AS (
    SELECT 'post' AS kind, tag, first_minute, id AS item, text AS detail, engagement AS value,
        row_number() OVER (PARTITION BY tag, first_minute ORDER BY engagement DESC, id) AS rank
    FROM hits WHERE repost_of IS NULL
),
top_accounts AS (
    SELECT 'account' AS kind, tag, first_minute, author_id AS item, max(author_handle) AS detail,
        count(*) AS value,
        row_number() OVER (PARTITION BY tag, first_minute ORDER BY count(*) DESC, author_id)
            AS rank
    FROM hits GROUP BY tag, first_minute, author_id
)
SELECT * FROM top_posts WHERE rank <= 3
UNION ALL
SELECT * FROM top_accounts WHERE rank <= 3
ORDER BY tag, first_minute, kind, rank""",
)

SHARE_OF_VOICE = Measure(
    "share_of_voice",
    "Share of voice",
    "posts that mention a voice (one of its hashtags, or one of its phrases anywhere in the "
    "text, case-insensitive), once per post and voice; share = the voice's posts / the sum "
    "over all voices. A post that mentions two voices counts for both.",
    """
WITH voice_tags(voice, tag) AS (VALUES {tags}),
voice_phrases(voice, phrase) AS (VALUES {phrases}),
matched AS (
    SELECT DISTINCT v.voice, p.platform, p.id, p.author_id
    FROM (SELECT platform, id, author_id, tag FROM posts, unnest(hashtags) AS t(tag)) p
    JOIN voice_tags v ON v.tag = p.tag
    UNION
    SELECT DISTINCT v.voice, p.platform, p.id, p.author_id
    FROM posts p JOIN voice_phrases v ON contains(lower(p.text), v.phrase)
)
SELECT voice, count(*) AS posts, count(DISTINCT author_id) AS authors,
    count(*) / sum(count(*)) OVER () AS share
FROM matched WHERE voice IS NOT NULL GROUP BY voice ORDER BY posts DESC, voice""",
)

# Runs of near-identical text (see COPIED_TEXT) and the runs by enough accounts.
_COPIED_RUNS = f"""
keyed AS (
    SELECT platform, id, author_id, text, {NEAR_TEXT} AS k,
        CAST(floor(epoch(created_at)) AS BIGINT) AS t
    FROM posts WHERE repost_of IS NULL
),
long_keys AS (SELECT * FROM keyed WHERE length(k) >= {{min_letters}}),
shared AS (
    SELECT k FROM long_keys GROUP BY k HAVING count(DISTINCT author_id) >= {{min_accounts}}
),
ordered AS (
    SELECT l.*, CASE WHEN l.t - lag(l.t) OVER (PARTITION BY l.k ORDER BY l.t, l.id)
        <= {{window_seconds}} THEN 0 ELSE 1 END AS starts_run
    FROM long_keys l JOIN shared s ON s.k = l.k
),
runs AS (
    SELECT *, CAST(sum(starts_run) OVER (PARTITION BY k ORDER BY t, id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS run
    FROM ordered
),
candidate_runs AS (
    SELECT k AS text_key, run, min(text) AS example, count(*) AS posts,
        count(DISTINCT author_id) AS accounts, min(t) AS first_second, max(t) AS last_second
    FROM runs GROUP BY k, run HAVING count(DISTINCT author_id) >= {{min_accounts}}
),
minute_totals AS (SELECT {MINUTE} AS m, count(*) AS n FROM posts GROUP BY 1),
copied_runs AS (
    SELECT c.text_key, c.run, c.example, c.posts, c.accounts, c.first_second, c.last_second,
        c.posts / sum(mt.n) AS share
    FROM candidate_runs c JOIN minute_totals mt
        ON mt.m >= c.first_second // 60 AND mt.m <= c.last_second // 60
    GROUP BY c.text_key, c.run, c.example, c.posts, c.accounts, c.first_second, c.last_second
    HAVING c.posts >= {{min_share}} * sum(mt.n)
)"""
_COPIED_PARAMS = {"min_letters": 40, "min_accounts": 5, "window_seconds": 300, "min_share": 0.005}

_FAST = f"""
per_minute AS (SELECT author_id, {MINUTE} AS m, count(*) AS n FROM posts GROUP BY 1, 2),
fast AS (
    SELECT author_id, max(n) AS max_per_minute, sum(n) AS posts, count(*) AS active_minutes
    FROM per_minute GROUP BY 1 HAVING max(n) >= {{per_minute}}
)"""

_BURSTS = """
accounts AS (
    SELECT author_id, min(author_created_at) AS created, count(*) AS posts
    FROM posts WHERE author_created_at IS NOT NULL GROUP BY 1
),
days AS (
    SELECT CAST(floor(epoch(created)) AS BIGINT) // 86400 AS day, count(*) AS accounts,
        CAST(sum(posts) AS BIGINT) AS posts
    FROM accounts GROUP BY 1
),
scored_days AS (
    SELECT day, accounts, posts,
        CAST(coalesce(sum(accounts) OVER (ORDER BY day RANGE BETWEEN 7 PRECEDING
            AND 1 PRECEDING), 0) AS DOUBLE) / 7 AS usual
    FROM days
),
burst_days AS (
    SELECT day, accounts, posts, usual FROM scored_days
    WHERE accounts >= {burst_accounts} AND (accounts - usual) / sqrt(usual + 1) >= {burst_score}
        AND day >= (SELECT CAST(floor(epoch(min(created_at))) AS BIGINT) // 86400 FROM posts)
            - {recent_days}
)"""
_BURST_PARAMS = {"recent_days": 90, "burst_accounts": 20, "burst_score": 6}

COPIED_TEXT = Measure(
    "copied_text",
    "Near-identical text from many accounts",
    "original posts whose text, with links, mentions, hashtags, digits, punctuation and "
    "emoji taken out and in lower case, is the same and at least {min_letters} characters "
    "long, posted by at least {min_accounts} accounts, each post within {window_seconds} s of "
    "the previous one with that text (a run), and taking at least {min_share} of all posts "
    "published in the minutes of the run (share). Short slogans that many people type on "
    "their own fall under the length limit; a quote of the speech that people share on "
    "their own is a far smaller share of the traffic than a campaign's wave.",
    f"WITH {_COPIED_RUNS}\nSELECT * FROM copied_runs ORDER BY posts DESC, text_key, run",
    _COPIED_PARAMS,
)

FAST_POSTERS = Measure(
    "fast_posters",
    "Accounts posting at inhuman rates",
    "accounts with at least {per_minute} posts (of any kind) within one minute at least once.",
    f"WITH {_FAST}\nSELECT * FROM fast ORDER BY max_per_minute DESC, author_id",
    {"per_minute": 10},
)

NEW_ACCOUNT_BURSTS = Measure(
    "new_account_bursts",
    "Bursts of new accounts",
    "days in the {recent_days} days before the first post on which at least "
    "{burst_accounts} of the posting accounts were created, far more than on an average day "
    "of the week before (usual): (accounts - usual) / sqrt(usual + 1) >= {burst_score}, "
    "the same Poisson z-score as hashtag spikes.",
    f"WITH {_BURSTS}\nSELECT * FROM burst_days ORDER BY day",
    _BURST_PARAMS,
)

COORDINATED_ACCOUNTS = Measure(
    "coordinated_accounts",
    "Accounts with signs of coordination",
    "accounts with at least one sign: they posted in a run of near-identical text (see "
    "copied_text), they posted at an inhuman rate (see fast_posters), or they were created "
    "on a burst day (see new_account_bursts); with their posts. `coordinated` marks the "
    "accounts whose signs agree: a run of near-identical text, or both other signs. A sign "
    "is not proof: people share slogans, and new supporters open accounts before a rally.",
    f"""
WITH {_COPIED_RUNS}, {_FAST}, {_BURSTS},
copied_accounts AS (
    SELECT DISTINCT r.author_id FROM runs r
    JOIN copied_runs c ON c.text_key = r.k AND c.run = r.run
),
burst_accounts AS (
    SELECT a.author_id FROM accounts a
    JOIN burst_days b ON b.day = CAST(floor(epoch(a.created)) AS BIGINT) // 86400
),
flagged AS (
    SELECT author_id FROM copied_accounts UNION SELECT author_id FROM fast
    UNION SELECT author_id FROM burst_accounts
),
signs AS (
    SELECT f.author_id,
        f.author_id IN (SELECT author_id FROM copied_accounts) AS copied_text,
        f.author_id IN (SELECT author_id FROM fast) AS fast_posting,
        f.author_id IN (SELECT author_id FROM burst_accounts) AS new_account_burst
    FROM flagged f
),
volume AS (
    SELECT author_id, count(*) AS posts FROM posts
    WHERE author_id IN (SELECT author_id FROM flagged) GROUP BY 1
)
SELECT s.author_id, v.posts, s.copied_text, s.fast_posting, s.new_account_burst,
    s.copied_text OR (s.fast_posting AND s.new_account_burst) AS coordinated
FROM signs s JOIN volume v ON v.author_id = s.author_id
ORDER BY v.posts DESC, s.author_id""",
    {**_COPIED_PARAMS, "per_minute": 10, **_BURST_PARAMS},
)

ALL = (
    OVERVIEW,
    PER_MINUTE,
    TOP_HASHTAGS,
    TAG_MINUTES,
    TOP_MENTIONS,
    TOP_URLS,
    TOP_AUTHORS,
    TOP_TERMS,
    TAG_SPIKES,
    SPIKE_EVIDENCE,
    SHARE_OF_VOICE,
    COPIED_TEXT,
    FAST_POSTERS,
    NEW_ACCOUNT_BURSTS,
    COORDINATED_ACCOUNTS,
)
BY_NAME = {m.name: m for m in ALL}
