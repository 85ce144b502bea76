"""Language identification for routing comments: english, roman_urdu, urdu (script) or other.

Scripts decide the cheap cases, letter by letter: text whose letters are mostly Arabic-script is
`urdu` (unless it is Arabic by letters Urdu does not use, below), text mostly in another
non-Latin script (Devanagari, Cyrillic, Han...) or with no letters at all is `other`. Latin text
goes to a character n-gram model: n-grams of 1 to 4 characters inside each word padded with
spaces (scikit-learn's "char_wb"), counted, L1-normalised, and scored by a multinomial logistic
regression over english / roman_urdu / other. Its vocabulary is pruned to the n-grams that carry
weight, so the whole model is a few hundred kilobytes.

Arabic and Persian: Arabic-script text with letters only Arabic uses (ي Arabic yeh, ك Arabic kaf,
ة teh marbuta, ى alef maksura) and none of the letters Urdu has and Arabic lacks (ٹ ڈ ڑ ں ے ہ ھ
پ چ ژ گ ی ک) is `other`. Persian is not told apart: it shares every letter with Urdu except the
few Urdu-only ones, which a short Urdu comment may lack, and the Urdu route is the nearest one
for the rare Persian comment. Urdu typed with an Arabic keyboard (ي, ك) but with at least one
Urdu letter stays `urdu`.

Scoring is linear in word-level features (char_wb n-grams never cross a word boundary), so each
distinct word of a batch is looked up once. Inference needs only numpy (no scikit-learn import);
training is in `langid_training.py`. The model is written as `langid.npz` (weights) and
`langid.json` (metadata, vocabulary and the sha256 of both), not as a pickle: loading runs no
code from the files, and files that do not match their sha256 are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jalsa.errors import UserError
from jalsa.inbox.npz import write_npz

LABELS = ("english", "roman_urdu", "urdu", "other")
LATIN_LABELS = ("english", "roman_urdu", "other")
FORMAT = 1
ARRAYS = "langid.npz"
MANIFEST = "langid.json"
COMMITTED_DIR = Path(__file__).with_name("langid_model")
BUILD_COMMAND = "python -m jalsa.inbox.langid_training --data DIR --out DIR"
NGRAMS = (1, 4)
# Language is told by the first MAX_CHARS characters: enough for any language, and 100 KB of
# text costs no more than a comment.
MAX_CHARS = 1_000
CACHE_WORDS = 200_000

# Letters Urdu writes and Arabic does not; letters Arabic writes and Urdu does not.
URDU_LETTERS = frozenset("ٹڈڑںےۓہۂھۃپچژگیکې")
ARABIC_ONLY_LETTERS = frozenset("يكةى")

# Handles, links, HTML entities and the retweet marker are not words of any language (and are
# dataset artefacts: Davidson's tweets keep "@user" and "RT", RUHSOLD's lost them). Anything that
# is not a letter separates words (digits, punctuation, emoji, underscores).
_TOKENS = re.compile(r"@\w+|https?://\S+|www\.\S+|&#?\w+;?|[^\W\d_]+")


def text_key(text: str) -> str:
    """The key an annotation stores for a text instead of the text: 16 hex digits of sha256."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _clean(text: str) -> str:
    """A str that encodes as UTF-8 (lone surrogates become U+FFFD), at most MAX_CHARS long."""
    text = text[:MAX_CHARS]
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = unicodedata.normalize("NFKC", text)  # fancy-font letters become plain ones
    return text


def normalize(text: str) -> list[str]:
    """The words of a text as the n-gram model sees them: lower-case letters only."""
    return [w for w in _TOKENS.findall(_clean(text).lower()) if w.isalpha() and w != "rt"]


def word_ngrams(word: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """Character n-grams of one word padded with spaces, as scikit-learn's char_wb makes them."""
    padded = f" {word} "
    size = len(padded)
    out: list[str] = []
    for n in range(ngrams[0], ngrams[1] + 1):
        out.extend(padded[i : i + n] for i in range(size - n + 1))
    if ngrams[0] == 1:
        out = [g for g in out if g != " "]
    return out


def text_ngrams(text: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """All n-grams of a text (the analyzer training uses)."""
    return [g for word in normalize(text) for g in word_ngrams(word, ngrams)]


_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


def script_counts(text: str) -> tuple[int, int, int, int, int]:
    """(Arabic-script letters, Latin letters, letters of other scripts, Urdu-only letters,
    Arabic-only letters) of a text."""
    if text.isascii():
        return 0, len(_LATIN.findall(text)), 0, 0, 0
    latin = len(_LATIN.findall(text))
    arabic_chars = [ch for ch in _ARABIC.findall(text) if ch.isalpha()]
    arabic = len(arabic_chars)
    other = max(0, len(_LETTER.findall(text)) - latin - arabic)
    urdu_only = sum(ch in URDU_LETTERS for ch in arabic_chars)
    arabic_only = sum(ch in ARABIC_ONLY_LETTERS for ch in arabic_chars)
    return arabic, latin, other, urdu_only, arabic_only


def script_label(text: str) -> str | None:
    """urdu or other when the script decides, None for Latin text (the n-gram model's case)."""
    if text.isascii():  # most comments: Latin if there is a letter at all
        return None if _LATIN.search(text) else "other"
    arabic, latin, other, urdu_only, arabic_only = script_counts(text)
    if arabic + latin + other == 0:
        return "other"
    if arabic >= latin and arabic >= other:
        return "other" if arabic_only and not urdu_only else "urdu"
    if other > latin:
        return "other"
    return None


class LanguageIdentifier:
    """english / roman_urdu / urdu / other for each text; never raises on a str."""

    def __init__(
        self,
        vocabulary: Sequence[str],
        weights: np.ndarray,
        intercept: np.ndarray,
        *,
        ngrams: tuple[int, int] = NGRAMS,
        info: dict[str, Any] | None = None,
    ) -> None:
        weights = np.asarray(weights, dtype=np.float32)
        intercept = np.asarray(intercept, dtype=np.float32)
        if weights.shape != (len(vocabulary), len(LATIN_LABELS)) or intercept.shape != (
            len(LATIN_LABELS),
        ):
            raise ValueError(
                f"weights {weights.shape} and intercept {intercept.shape} do not fit "
                f"{len(vocabulary)} n-grams and {len(LATIN_LABELS)} labels"
            )
        self.vocabulary = list(vocabulary)
        self.index = {g: i for i, g in enumerate(self.vocabulary)}
        # A zero row for n-grams outside the vocabulary: they weigh nothing and count nothing.
        self.weights = np.vstack([weights, np.zeros((1, weights.shape[1]), np.float32)])
        self.counted = np.ones(len(self.vocabulary) + 1, np.float32)
        self.counted[-1] = 0.0
        self.intercept = intercept
        self.ngrams = (int(ngrams[0]), int(ngrams[1]))
        self.info = dict(info or {})
        # Scores are linear in words: each distinct word's n-gram sums are computed once and
        # kept (up to CACHE_WORDS words, then the cache starts again).
        self._lock = threading.Lock()
        self._word_row: dict[str, int] = {}
        self._table = np.zeros((1024, len(LATIN_LABELS) + 1))

    # -- scoring ------------------------------------------------------------------------------

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        """Summed n-gram weights and in-vocabulary n-gram count of each word, (len(words), 4)."""
        missing = len(self.vocabulary)
        get = self.index.get
        low, high = self.ngrams
        sizes = range(max(low, 2), high + 1)
        ids: list[int] = []
        lengths: list[int] = []
        for word in words:  # the n-grams of word_ngrams, in another order
            padded = f" {word} "
            last = len(padded) + 1
            grams = [get(padded[i : i + n], missing) for n in sizes for i in range(last - n)]
            if low == 1:
                grams += [get(ch, missing) for ch in word]
            ids += grams
            lengths.append(len(grams))
        owner = np.repeat(np.arange(len(words), dtype=np.intp), lengths)
        ids_a = np.asarray(ids, dtype=np.intp)
        owner_a = owner
        rows = self.weights[ids_a]
        columns = [rows[:, k] for k in range(rows.shape[1])] + [self.counted[ids_a]]
        return np.stack(
            [np.bincount(owner_a, weights=c, minlength=len(words)) for c in columns], axis=1
        )

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """The Latin model's scores (n, 3) over LATIN_LABELS, for any texts."""
        with self._lock:
            if len(self._word_row) > CACHE_WORDS:
                self._word_row = {}
            cache = self._word_row
            get = cache.get
            start = len(cache)
            new: list[str] = []
            text_of: list[int] = []
            rows: list[int] = []
            for i, text in enumerate(texts):
                for word in normalize(text if isinstance(text, str) else ""):
                    row = get(word)
                    if row is None:
                        row = cache[word] = start + len(new)
                        new.append(word)
                    rows.append(row)
                    text_of.append(i)
            if new:
                if start + len(new) > len(self._table):
                    grown = np.zeros((2 * (start + len(new)), self._table.shape[1]))
                    grown[:start] = self._table[:start]
                    self._table = grown
                self._table[start : start + len(new)] = self._word_vectors(new)
            table = self._table
        n = len(texts)
        k = len(LATIN_LABELS)
        if not rows:  # no words at all: the prior
            return np.tile(self.intercept.astype(np.float64), (n, 1))
        t = np.asarray(text_of, dtype=np.intp)
        picked = table[np.asarray(rows, dtype=np.intp)]
        totals: np.ndarray = np.stack(
            [np.bincount(t, weights=picked[:, c], minlength=n) for c in range(k + 1)], axis=1
        ).astype(np.float64)
        totals[:, :k] /= np.maximum(totals[:, k], 1.0)[:, None]
        return np.asarray(totals[:, :k] + self.intercept.astype(np.float64))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(english), P(roman_urdu), P(other) from the Latin n-gram model, shape (n, 3).

        Meant for Latin text; for text the script decides (`predict` says urdu or other without
        the model) it is still the model's reading of whatever Latin letters there are."""
        scores = self.decision_function(texts)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """One label of LABELS per text. A non-str item is `other`."""
        labels: list[str | None] = []
        latin: list[int] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                labels.append("other")
                continue
            label = script_label(_clean(text))
            labels.append(label)
            if label is None:
                latin.append(i)
        if latin:
            scores = self.decision_function([texts[i] for i in latin])
            for i, best in zip(latin, scores.argmax(axis=1), strict=True):
                labels[i] = LATIN_LABELS[int(best)]
        return [label or "other" for label in labels]

    def predict_one(self, text: str) -> str:
        return self.predict([text])[0]

    # -- portable files -----------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted numbers: weights (n-grams x LATIN_LABELS) and intercept."""
        return {"weights": self.weights[:-1], "intercept": self.intercept}

    @classmethod
    def from_arrays(
        cls, vocabulary: Sequence[str], arrays: dict[str, np.ndarray], **kwargs: Any
    ) -> LanguageIdentifier:
        """The identifier `to_arrays` and its vocabulary describe."""
        return cls(vocabulary, arrays["weights"], arrays["intercept"], **kwargs)

    def export(self, directory: Path, info: dict[str, Any] | None = None) -> Path:
        """Write langid.npz and langid.json to `directory`; returns the manifest's path."""
        directory.mkdir(parents=True, exist_ok=True)
        write_npz(directory / ARRAYS, self.to_arrays())
        meta = {**self.info, **(info or {})}
        manifest = {
            "format": FORMAT,
            "name": "jalsa language identifier",
            "labels": list(LABELS),
            "latin_labels": list(LATIN_LABELS),
            "ngrams": list(self.ngrams),
            "built_by": BUILD_COMMAND,
            **{k: v for k, v in meta.items() if k not in _RESERVED},
            "files": {ARRAYS: _sha256((directory / ARRAYS).read_bytes())},
            "vocabulary_sha256": _vocabulary_hash(self.vocabulary),
            "vocabulary": self.vocabulary,
        }
        path = directory / MANIFEST
        text = json.dumps(manifest, ensure_ascii=False, indent=0, separators=(",", ":"))
        path.write_text(text + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path = COMMITTED_DIR) -> LanguageIdentifier:
        """Load what `export` wrote; missing, altered or unreadable files are a UserError."""
        fix = f"Reinstall jalsa or rebuild the identifier with `{BUILD_COMMAND}`."
        path = directory / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"no readable language identifier at {path} ({exc}). {fix}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise UserError(f"{path} is not a language identifier of format {FORMAT}. {fix}")
        expected = manifest.get("files", {}).get(ARRAYS) if isinstance(manifest, dict) else None
        array_path = directory / ARRAYS
        try:
            blob = array_path.read_bytes()
        except OSError:
            blob = b""
        if not expected or _sha256(blob) != expected:
            raise UserError(f"{array_path} is missing or does not match its sha256. {fix}")
        vocabulary = manifest.get("vocabulary")
        if not isinstance(vocabulary, list) or manifest.get(
            "vocabulary_sha256"
        ) != _vocabulary_hash(vocabulary):
            raise UserError(f"the vocabulary in {path} does not match its sha256. {fix}")
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                weights, intercept = npz["weights"], npz["intercept"]
            ngrams = tuple(manifest.get("ngrams", NGRAMS))
            info = {k: v for k, v in manifest.items() if k != "vocabulary"}
            return cls(vocabulary, weights, intercept, ngrams=(ngrams[0], ngrams[1]), info=info)
        except Exception as exc:
            raise UserError(
                f"the language identifier in {directory} is unreadable ({exc}). {fix}"
            ) from None


_RESERVED = frozenset(
    {"format", "labels", "latin_labels", "ngrams", "files", "vocabulary", "vocabulary_sha256"}
)


def _sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _vocabulary_hash(vocabulary: list[Any]) -> str:
    blob = json.dumps(vocabulary, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _sha256(blob)


_COMMITTED: LanguageIdentifier | None = None


def committed_identifier() -> LanguageIdentifier:
    """The identifier committed with jalsa (loaded once)."""
    global _COMMITTED
    if _COMMITTED is None:
        _COMMITTED = LanguageIdentifier.load(COMMITTED_DIR)
    return _COMMITTED
