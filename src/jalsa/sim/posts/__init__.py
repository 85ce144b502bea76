"""Generated X posts for conversation analytics tests and benchmarks.

A rally-shaped stream of posts in English, Roman Urdu and Urdu script with the features a
conversation pipeline must cope with: a volume curve over the event, authors with Zipf-like
activity, Zipf-popular hashtags, about 40% reposts plus replies and quotes, heavy-tailed public
metrics, trend bursts of a few hashtags at known minutes, and one coordinated campaign of
known accounts (created together days before the event, posting near-identical text in short
windows, some at inhuman rates). Organic users also repeat the same slogans, so a
coordination detector meets realistic false positives. `ground_truth` says what was injected.

How it stays fast and flat in memory for tens of millions of posts:

* A small *plan* (per second of the event: how many posts of each component) is drawn once
  from the seed. Posts are numbered 0..count-1 in time order (second by second).
* Every attribute of post `j` (its time, author, kind, text, hashtags, metrics, ...) is a
  pure function of `(seed, j)` through a counter-based hash, computed with numpy for a whole
  batch at once. So a repost can show the text and author of the post it reposts without
  keeping any earlier post, batches can be made in any order, and `ground_truth` needs only
  the plan.
* Texts are assembled by Arrow kernels (`take` from word pools, element-wise joins), and
  batches are made two at a time on threads (numpy and Arrow release the GIL). Peak memory
  is about 2 KB per row of `batch_rows` per thread, whatever the count.

Choices worth knowing:

* `lang` is what X would say: "en", "ur" for Urdu script, and "und" for Roman Urdu (X has no
  code for it and usually cannot tell).
* Ids are X snowflakes: milliseconds since the X epoch << 22 | 22 bits unique within the
  millisecond, so they grow with time. `created_at` is kept to the millisecond, as X gives it.
* A repost's text is "RT @handle: " + the original text (never truncated here: originals
  are short), its hashtags/urls are the original's, its mentions start with the original
  author, and like/reply/quote/view counts are 0 while repost_count is the original's — as X
  API v2 reports retweets.
* x-jsonl pages come newest first, as the search API pages; tweets carry the default
  `edit_history_tweet_ids` and `public_metrics.bookmark_count` (0) as X returns them, and
  entity offsets count code points (Python string indices).

    words.toml     the vocabulary: hashtags, names, word pools, templates (package data)
    vocab.py       that vocabulary made into the Arrow pools and tables the batches draw from
    hashing.py     counter-based randomness: every draw a hash of (seed, post number, purpose)
    plan.py        the configuration and the plan (posts per second and component), once a seed
    attributes.py  every attribute of post j (time, kind, target, author, metrics) from j
    truth.py       what was injected (the campaign, the bursts), from the plan alone
    batches.py     the posts as POST_SCHEMA record batches, made on threads
    files.py       the posts as zstd Parquet (`write_parquet`)
    x_json.py      the posts as X API v2 recent-search pages (`write_x_jsonl`)
"""
