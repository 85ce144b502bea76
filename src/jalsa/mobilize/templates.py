"""Message templates with personalization, one per language.

A template names supporter and event fields in braces, with an optional fallback after a bar
for when the field is empty: `Assalam o alaikum {first_name|dost}, jalsa {event_time} par hai.`
An unknown field is refused when the campaign is written, not when the ten-thousandth message is
rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from jalsa.errors import UserError

LANGUAGES = ("ur", "en")
FIELDS = (
    "name",
    "first_name",
    "city",
    "constituency",
    "event",
    "event_date",
    "event_time",
)
_FIELD = re.compile(r"\{(?P<name>[a-z_]+)(?:\|(?P<fallback>[^{}]*))?\}")


@dataclass(frozen=True)
class Templates:
    """The campaign's texts by language; a supporter whose language has none gets the first."""

    texts: Mapping[str, str]

    @classmethod
    def checked(cls, texts: Mapping[str, str]) -> Templates:
        texts = {lang: text.strip() for lang, text in texts.items() if text and text.strip()}
        if not texts:
            raise UserError("the campaign has no message text; give --text-ur or --text-en")
        for lang, text in texts.items():
            if lang not in LANGUAGES:
                raise UserError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
            unknown = sorted({m["name"] for m in _FIELD.finditer(text)} - set(FIELDS))
            if unknown:
                raise UserError(
                    f"the {lang} text names unknown field(s) {', '.join(unknown)}; "
                    f"known: {', '.join(FIELDS)}"
                )
            if re.search(r"[{}]", _FIELD.sub("", text)):
                raise UserError(f"the {lang} text has an unmatched brace: write {{field}}")
        return cls(texts)

    def language_for(self, language: str) -> str:
        return language if language in self.texts else next(iter(self.texts))

    def render(self, language: str, values: Mapping[str, str]) -> tuple[str, str]:
        """The text for a supporter of `language`, and the language it is in."""
        used = self.language_for(language)

        def fill(match: re.Match[str]) -> str:
            return (values.get(match["name"]) or "").strip() or (match["fallback"] or "")

        text = _FIELD.sub(fill, self.texts[used])
        return re.sub(r"[ \t]{2,}", " ", text), used
