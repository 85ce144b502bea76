"""Every conversation figure, defined once: its meaning in words and the SQL that computes it
over the relation `posts` (the dataset's schema). The SQL is written in DuckDB's dialect and
runs as it is on DuckDB; for Spark it is transpiled by sqlglot (see engines.py). Minutes are
whole minutes since 1970-01-01 UTC (`epoch minute`), so both engines return the same numbers.
Relations several measures start from (per minute, per account, text keys, ...) are stages,
each defined once too, in stages.py; `analyze` keeps them as tables for the run (decision 12).

Parameters are numbers or lists of words put into the SQL as literals by `render`
(measure_sql.py), never by string pasting of user text."""

from __future__ import annotations

from jalsa.conversation.measure_sql import Measure, sql_list
from jalsa.conversation.stages import (
    ACCOUNTS,
    BURST_DAYS,
    COPIED_RUNS,
    FAST,
    KEYED,
    MINUTE,
    MINUTES,
    TAG_MINUTE,
    VOICE_POSTS,
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


OVERVIEW = Measure(
    "overview",
    "Volume and authors",
    "posts: every post in the dataset (originals, reposts, replies and quotes). authors: "
    "accounts that posted at least once, counted exactly; authors_approx: the same counted "
    "with the engine's HyperLogLog sketch (its error is stated beside it).",
    """
SELECT CAST(coalesce(sum(posts), 0) AS BIGINT) AS posts,
    (SELECT count(*) FROM accounts) AS authors,
    (SELECT approx_count_distinct(author_id) FROM accounts) AS authors_approx,
    CAST(coalesce(sum(originals), 0) AS BIGINT) AS originals,
    CAST(coalesce(sum(reposts), 0) AS BIGINT) AS reposts,
    CAST(coalesce(sum(replies), 0) AS BIGINT) AS replies,
    CAST(coalesce(sum(quotes), 0) AS BIGINT) AS quotes,
    min(m) AS first_minute, max(m) AS last_minute
FROM minutes""",
    needs=(MINUTES, ACCOUNTS),
)

PER_MINUTE = Measure(
    "per_minute",
    "Posts per minute",
    "posts published in each whole minute (UTC), the distinct accounts that posted in it, "
    "and how many of the posts were reposts.",
    "SELECT m AS minute, posts, authors, reposts FROM minutes ORDER BY 1",
    needs=(MINUTES,),
)

PLATFORM_MINUTES = Measure(
    "platform_minutes",
    "Posts per minute per platform",
    "posts published in each whole minute (UTC) on each platform.",
    f"SELECT platform, {MINUTE} AS minute, count(*) AS posts FROM posts GROUP BY 1, 2 "
    "ORDER BY 1, 2",
)


def _top(items: str, where: str = "TRUE") -> str:
    """The items most posts carry, with the authors who posted them. `items` yields one row
    (author_id, item) per post and item. Authors are counted for the top items only: the
    pairs of every item and author would not fit in memory on tens of millions of posts."""
    return f"""
WITH top AS (
    SELECT item, count(*) AS posts FROM ({items}) WHERE {where}
    GROUP BY 1 ORDER BY posts DESC, item LIMIT {{limit}}
)
SELECT t.item, t.posts, count(DISTINCT p.author_id) AS authors
FROM ({items}) p JOIN top t ON t.item = p.item
GROUP BY 1, 2 ORDER BY posts DESC, item"""


def _list_items(column: str) -> str:
    """Each distinct item of a list column, once per post."""
    return f"""
SELECT author_id, unnest(list_distinct({column})) AS item
FROM posts WHERE array_length({column}) > 0"""


# Each distinct hashtag of a post, once per post (also what the live figures count per part).
HASHTAG_ITEMS = _list_items("hashtags")

TOP_HASHTAGS = Measure(
    "top_hashtags",
    "Top hashtags",
    "posts that carry the hashtag (a post counts once per distinct hashtag), with the "
    "accounts that used it.",
    _top(HASHTAG_ITEMS),
    {"limit": 25},
)

TAG_MINUTES = Measure(
    "tag_minutes",
    "Hashtag volume per minute",
    "posts per minute that carry each of the {top} most used hashtags (once per post).",
    """
WITH top AS (SELECT tag FROM tag_minute GROUP BY tag ORDER BY sum(posts) DESC, tag LIMIT {top})
SELECT tag, m AS minute, posts FROM tag_minute WHERE tag IN (SELECT tag FROM top)
ORDER BY 1, 2""",
    {"top": 5},
    (TAG_MINUTE,),
)

TOP_MENTIONS = Measure(
    "top_mentions",
    "Most mentioned accounts",
    "posts that mention the account (@username), once per post.",
    _top(_list_items("mentions")),
    {"limit": 25},
)

TOP_URLS = Measure(
    "top_urls",
    "Most shared links",
    "posts that link the URL (as expanded by the platform), once per post.",
    _top(_list_items("urls")),
    {"limit": 25},
)

TOP_AUTHORS = Measure(
    "top_authors",
    "Most active accounts",
    "posts by the account (all kinds), and how many of them were reposts.",
    """
SELECT author_id AS item, handle, posts, reposts
FROM accounts ORDER BY posts DESC, item LIMIT {limit}""",
    {"limit": 25},
    (ACCOUNTS,),
)

# The words of a text key (stage `keyed`), each once per post, and which of them count as
# words (also what the live figures count per part and minute).
WORDS = "unnest(list_distinct(string_split(k, ' ')))"
WORD_FILTER = f"length(item) >= 3 AND item NOT IN ({sql_list(STOP_WORDS)})"

TOP_TERMS = Measure(
    "top_terms",
    "Top words",
    "original posts (not reposts) that use the word, once per post; words are runs of "
    "letters of three or more, in lower case, without hashtags, mentions, links and common "
    "English, Urdu and Roman Urdu function words.",
    _top(f"SELECT author_id, {WORDS} AS item FROM keyed", WORD_FILTER),
    {"limit": 25},
    (KEYED,),
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
    """
WITH totals AS (
    SELECT m, total,
        sum(total) OVER (ORDER BY m RANGE BETWEEN {window} PRECEDING AND 1 PRECEDING)
            AS all_before
    FROM (SELECT m, sum(uses) AS total FROM tag_minute GROUP BY 1)
),
expected AS (
    SELECT u.tag, u.m, u.uses AS n, t.all_before,
        CASE WHEN t.all_before > 0 THEN t.total * coalesce(sum(u.uses) OVER (
            PARTITION BY u.tag ORDER BY u.m RANGE BETWEEN {window} PRECEDING AND 1 PRECEDING
        ), 0) / t.all_before ELSE 0 END AS expected
    FROM tag_minute u JOIN totals t ON t.m = u.m
)
SELECT tag, m AS minute, n AS posts, expected, (n - expected) / sqrt(expected + 1) AS score
FROM expected
WHERE all_before > 0 AND n >= {min_count}
    AND (n - expected) / sqrt(expected + 1) >= {threshold}
ORDER BY tag, minute""",
    {"window": 15, "threshold": 6, "min_count": 30},
    (TAG_MINUTE,),
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
        p.engagement
    FROM (
        SELECT id, author_id, author_handle, text, repost_of, {MINUTE} AS m,
            coalesce(like_count, 0) + coalesce(repost_count, 0) AS engagement,
            unnest(list_distinct(hashtags)) AS tag
        FROM posts
        WHERE created_at >= to_timestamp({{since}}) AND created_at < to_timestamp({{until}})
            AND array_length(hashtags) > 0
    ) p
    JOIN spikes s ON s.tag = p.tag AND p.m >= s.first_minute AND p.m <= s.last_minute
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
SELECT voice, count(*) AS posts, count(DISTINCT author_id) AS authors,
    count(*) / sum(count(*)) OVER () AS share
FROM voice_posts GROUP BY voice ORDER BY posts DESC, voice""",
    needs=(VOICE_POSTS,),
)

VOICE_MINUTES = Measure(
    "voice_minutes",
    "Voices per minute",
    "posts per minute that mention each voice (its hashtags or phrases, as in share of "
    "voice), once per post and voice.",
    "SELECT voice, m AS minute, count(*) AS posts FROM voice_posts GROUP BY 1, 2 ORDER BY 1, 2",
    needs=(VOICE_POSTS,),
)

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
    """
WITH examples AS (
    SELECT r.k, r.run, min(p.text) AS example
    FROM (SELECT r.* FROM run_posts r JOIN copied_runs c ON c.k = r.k AND c.run = r.run) r
    JOIN posts p ON p.platform = r.platform AND p.id = r.id
    GROUP BY r.k, r.run
)
SELECT c.k AS text_key, c.run, e.example, c.posts, c.accounts, c.first_second, c.last_second,
    c.share
FROM copied_runs c JOIN examples e ON e.k = c.k AND e.run = c.run
ORDER BY posts DESC, text_key, run""",
    needs=(COPIED_RUNS,),
)

FAST_POSTERS = Measure(
    "fast_posters",
    "Accounts posting at inhuman rates",
    "accounts with at least {per_minute} posts (of any kind) within one minute at least once.",
    "SELECT * FROM fast ORDER BY max_per_minute DESC, author_id",
    needs=(FAST,),
)

NEW_ACCOUNT_BURSTS = Measure(
    "new_account_bursts",
    "Bursts of new accounts",
    "days in the {recent_days} days before the first post on which at least "
    "{burst_accounts} of the posting accounts were created, far more than on an average day "
    "of the week before (usual): (accounts - usual) / sqrt(usual + 1) >= {burst_score}, "
    "the same Poisson z-score as hashtag spikes.",
    "SELECT * FROM burst_days ORDER BY day",
    needs=(BURST_DAYS,),
)

COORDINATED_ACCOUNTS = Measure(
    "coordinated_accounts",
    "Accounts with signs of coordination",
    "accounts with at least one sign: they posted in a run of near-identical text (see "
    "copied_text), they posted at an inhuman rate (see fast_posters), or they were created "
    "on a burst day (see new_account_bursts); with their posts. `coordinated` marks the "
    "accounts whose signs agree: a run of near-identical text, or both other signs. A sign "
    "is not proof: people share slogans, and new supporters open accounts before a rally.",
    """
WITH copied_accounts AS (
    SELECT DISTINCT r.author_id FROM run_posts r
    JOIN copied_runs c ON c.k = r.k AND c.run = r.run
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
)
SELECT s.author_id, a.posts, s.copied_text, s.fast_posting, s.new_account_burst,
    s.copied_text OR (s.fast_posting AND s.new_account_burst) AS coordinated
FROM signs s JOIN accounts a ON a.author_id = s.author_id
ORDER BY a.posts DESC, s.author_id""",
    needs=(COPIED_RUNS, FAST, BURST_DAYS, ACCOUNTS),
)

ALL = (
    OVERVIEW,
    PER_MINUTE,
    PLATFORM_MINUTES,
    TOP_HASHTAGS,
    TAG_MINUTES,
    TOP_MENTIONS,
    TOP_URLS,
    TOP_AUTHORS,
    TOP_TERMS,
    TAG_SPIKES,
    SPIKE_EVIDENCE,
    SHARE_OF_VOICE,
    VOICE_MINUTES,
    COPIED_TEXT,
    FAST_POSTERS,
    NEW_ACCOUNT_BURSTS,
    COORDINATED_ACCOUNTS,
)
BY_NAME = {m.name: m for m in ALL}
