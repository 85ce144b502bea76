"""The relations several conversation measures start from (totals per minute, per account,
per hashtag and minute, text keys, runs of near-identical text, fast posters, days of new
accounts, the posts of each voice), each defined once over `posts` in DuckDB's SQL. `analyze`
keeps each stage it needs as a table for the run (decision 12); a measure rendered on its own
gets them as CTEs."""

from __future__ import annotations

from jalsa.conversation.measure_sql import Stage

MINUTE = "CAST(floor(epoch(created_at) / 60) AS BIGINT)"
IS_ORIGINAL = "repost_of IS NULL AND reply_to IS NULL AND quote_of IS NULL"
# Text with links, mentions, hashtags, digits and everything but letters and spaces taken
# out, in lower case: two posts with the same key are "near-identical" (they differ only in
# those; a campaign varies them to look organic).
NEAR_TEXT = (
    r"trim(regexp_replace(regexp_replace(lower(text), "
    r"'https?://[^ ]+|[@#][\pL\pN_]+|[^\pL ]+', ' ', 'g'), ' +', ' ', 'g'))"
)


MINUTES = Stage(
    "minutes",
    f"""
SELECT {MINUTE} AS m, count(*) AS posts, count(DISTINCT author_id) AS authors,
    count(repost_of) AS reposts, count(reply_to) AS replies, count(quote_of) AS quotes,
    count(*) FILTER (WHERE {IS_ORIGINAL}) AS originals, min(created_at) AS first_at
FROM posts GROUP BY 1""",
)

ACCOUNTS = Stage(
    "accounts",
    """
SELECT author_id, count(*) AS posts, count(repost_of) AS reposts,
    max(author_handle) AS handle, min(author_created_at) AS created,
    count(author_created_at) AS dated_posts
FROM posts WHERE author_id IS NOT NULL GROUP BY 1""",
)

# Posts (once per post) and uses (every time the tag appears) of each hashtag per minute.
TAG_MINUTE = Stage(
    "tag_minute",
    f"""
SELECT tag, m, count(*) AS posts, CAST(sum(n) AS BIGINT) AS uses
FROM (
    SELECT m, tag, array_length(list_filter(hashtags, lambda x: x = tag)) AS n
    FROM (
        SELECT {MINUTE} AS m, hashtags, unnest(list_distinct(hashtags)) AS tag
        FROM posts WHERE array_length(hashtags) > 0
    )
)
GROUP BY 1, 2""",
)

# Every original post's text key: links, mentions, hashtags, digits and everything but
# letters and spaces taken out, in lower case (see NEAR_TEXT).
KEYED = Stage(
    "keyed",
    f"""
SELECT platform, id, author_id, CAST(floor(epoch(created_at)) AS BIGINT) AS t,
    {NEAR_TEXT} AS k
FROM posts WHERE repost_of IS NULL""",
)

# The posts in runs of near-identical text by enough accounts (see COPIED_TEXT).
RUN_POSTS = Stage(
    "run_posts",
    """
WITH long_keys AS (SELECT * FROM keyed WHERE length(k) >= {min_letters}),
shared AS (
    SELECT k FROM long_keys GROUP BY k HAVING count(DISTINCT author_id) >= {min_accounts}
),
ordered AS (
    SELECT l.*, CASE WHEN l.t - lag(l.t) OVER (PARTITION BY l.k ORDER BY l.t, l.id)
        <= {window_seconds} THEN 0 ELSE 1 END AS starts_run
    FROM long_keys l JOIN shared s ON s.k = l.k
)
SELECT platform, id, author_id, k, t, CAST(sum(starts_run) OVER (PARTITION BY k ORDER BY t, id
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS run
FROM ordered""",
    {"min_letters": 40, "min_accounts": 5, "window_seconds": 300},
    (KEYED,),
)

COPIED_RUNS = Stage(
    "copied_runs",
    """
WITH candidates AS (
    SELECT k, run, count(*) AS posts, count(DISTINCT author_id) AS accounts,
        min(t) AS first_second, max(t) AS last_second
    FROM run_posts GROUP BY k, run HAVING count(DISTINCT author_id) >= {min_accounts}
)
SELECT c.k, c.run, c.posts, c.accounts, c.first_second, c.last_second,
    c.posts / sum(mi.posts) AS share
FROM candidates c JOIN minutes mi
    ON mi.m >= c.first_second // 60 AND mi.m <= c.last_second // 60
GROUP BY c.k, c.run, c.posts, c.accounts, c.first_second, c.last_second
HAVING c.posts >= {min_share} * sum(mi.posts)""",
    {"min_share": 0.005},
    (RUN_POSTS, MINUTES),
)

FAST = Stage(
    "fast",
    f"""
SELECT author_id, max(n) AS max_per_minute, CAST(sum(n) AS BIGINT) AS posts,
    count(*) AS active_minutes
FROM (
    SELECT author_id, {MINUTE} AS m, count(*) AS n FROM posts
    WHERE author_id IN (SELECT author_id FROM accounts WHERE posts >= {{per_minute}})
    GROUP BY 1, 2
)
GROUP BY 1 HAVING max(n) >= {{per_minute}}""",
    {"per_minute": 10},
    (ACCOUNTS,),
)

BURST_DAYS = Stage(
    "burst_days",
    """
WITH days AS (
    SELECT CAST(floor(epoch(created)) AS BIGINT) // 86400 AS day, count(*) AS accounts,
        CAST(sum(dated_posts) AS BIGINT) AS posts
    FROM accounts WHERE created IS NOT NULL GROUP BY 1
),
scored AS (
    SELECT day, accounts, posts,
        CAST(coalesce(sum(accounts) OVER (ORDER BY day RANGE BETWEEN 7 PRECEDING
            AND 1 PRECEDING), 0) AS DOUBLE) / 7 AS usual
    FROM days
)
SELECT day, accounts, posts, usual FROM scored
WHERE accounts >= {burst_accounts} AND (accounts - usual) / sqrt(usual + 1) >= {burst_score}
    AND day >= (SELECT CAST(floor(epoch(min(first_at))) AS BIGINT) // 86400 FROM minutes)
        - {recent_days}""",
    {"recent_days": 90, "burst_accounts": 20, "burst_score": 6},
    (ACCOUNTS, MINUTES),
)

# The posts that mention each tracked voice (party, campaign, story): one of its hashtags,
# or one of its phrases in the text. `tags` and `phrases` are given by the run (Voices). Each
# post is tested once against each voice, so a post counts once per voice it mentions.
VOICE_POSTS = Stage(
    "voice_posts",
    f"""
WITH voice_tags(voice, tag) AS (VALUES {{tags}}),
voice_phrases(voice, phrase) AS (VALUES {{phrases}}),
names AS (SELECT voice FROM voice_tags UNION SELECT voice FROM voice_phrases),
voices AS (
    SELECT n.voice, t.tags, ph.phrases
    FROM names n
    LEFT JOIN (SELECT voice, list(tag) AS tags FROM voice_tags GROUP BY voice) t
        ON t.voice = n.voice
    LEFT JOIN (SELECT voice, list(phrase) AS phrases FROM voice_phrases GROUP BY voice) ph
        ON ph.voice = n.voice
    WHERE n.voice IS NOT NULL
)
SELECT v.voice, p.author_id, p.m
FROM (SELECT author_id, {MINUTE} AS m, hashtags, lower(text) AS low FROM posts) p
CROSS JOIN voices v
WHERE coalesce(array_length(array_intersect(p.hashtags, v.tags)), 0) > 0
    OR coalesce(array_length(list_filter(v.phrases, lambda ph: contains(p.low, ph))), 0) > 0""",
)
