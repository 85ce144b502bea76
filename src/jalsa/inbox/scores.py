"""The classifier's output as the moderation policy reads it: what a classifier gives
(`Scores`, `Scorer`), scores made by hand (`ModelScores`), and reading whatever a classifier
returns defensively, so one odd or failing item never stops a batch."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast, get_args

from jalsa.platforms.inbox_record import Language

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = get_args(Language)


class Scores(Protocol):
    """One item's classifier output (the classifier's `Prediction` has these)."""

    @property
    def language(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def categories(self) -> Mapping[str, float]: ...


class Scorer(Protocol):
    """A loaded classifier (the classifier's `Model` has these)."""

    @property
    def version(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> Sequence[Scores]: ...


@dataclass(frozen=True)
class ModelScores:
    """Scores built by hand: in tests, and for an item the classifier failed on."""

    categories: Mapping[str, float] = field(default_factory=dict)
    language: str = "unknown"
    status: str = "ok"
    # The model's operating point for the item's language: {"hide": score or None, "review":
    # score} (empty: the model has none).
    operating_point: Mapping[str, float | None] = field(default_factory=dict)


def attr(obj: object, name: str, default: Any) -> Any:
    return getattr(obj, name, default) if obj is not None else default


def as_scores(scores: object, language: str | None, status: str | None) -> ModelScores | None:
    """Whatever the caller passed, as one `ModelScores` (None: no classifier was asked)."""
    if scores is None and status is None:
        return None
    categories = _numbers(scores) if isinstance(scores, Mapping) else _categories(scores)
    return ModelScores(
        categories=categories,
        language=language_of(language if language is not None else scores),
        status=str(status if status is not None else attr(scores, "status", "ok")),
        operating_point=_operating_point(attr(scores, "operating_point", None)),
    )


def _operating_point(raw: object) -> dict[str, float | None]:
    """A classifier's operating point, only if well formed (review a number in [0, 1], hide a
    number at or above it or None)."""
    if not isinstance(raw, Mapping):
        return {}
    review, hide = raw.get("review"), raw.get("hide")
    if not isinstance(review, int | float) or isinstance(review, bool) or not 0 <= review <= 1:
        return {}
    if hide is not None and (not isinstance(hide, int | float) or not review <= hide <= 1):
        return {}
    return {"hide": None if hide is None else float(hide), "review": float(review)}


def _numbers(raw: Mapping[Any, Any]) -> dict[str, float]:
    return {
        str(name): float(value)
        for name, value in raw.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _categories(scores: object) -> dict[str, float]:
    """Per-category scores, plus a top-level `abusive` probability if the output has one."""
    found: dict[str, float] = {}
    raw = attr(scores, "categories", None) or attr(scores, "scores", None) or {}
    if isinstance(raw, Mapping):
        found.update(_numbers(raw))
    abusive = attr(scores, "abusive", None)
    if isinstance(abusive, int | float) and not isinstance(abusive, bool):
        found.setdefault("abusive", float(abusive))
    return found


def language_of(scores: object) -> Language:
    """The language route, from a classifier output or given as text."""
    value = scores if isinstance(scores, str) else attr(scores, "language", "unknown")
    value = getattr(value, "value", value)  # an Enum member
    return cast(Language, value) if value in LANGUAGES else "unknown"


def scorer_version(scorer: object) -> str | None:
    version = attr(scorer, "version", None)
    return str(version) if version is not None else None


def predict(scorer: Scorer | None, texts: list[str]) -> list[Scores | None]:
    """The classifier's output per text; one failing item never fails the others."""
    if scorer is None:
        return [None] * len(texts)
    try:
        batch = list(scorer.predict(texts))
        if len(batch) == len(texts):
            return list(batch)
        log.warning("classifier returned %d results for %d items", len(batch), len(texts))
    except Exception as exc:
        log.warning("classifier failed on a batch of %d: %r; one by one", len(texts), type(exc))
    results: list[Scores | None] = []
    for text in texts:
        try:
            results.append(next(iter(scorer.predict([text]))))
        except Exception:
            results.append(ModelScores(status="error"))
    return results


def as_text(value: object) -> str:
    """Any item text as a str: bytes are decoded leniently, None is empty."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "replace"))
