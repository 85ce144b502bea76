"""Language routing: Urdu script, Roman Urdu, English, mixed, unknown."""

from __future__ import annotations

import pytest

from jalsa.inbox import language
from jalsa.inbox.language import ROUTES, latin_route, route, routes


@pytest.mark.parametrize(
    "text",
    [
        # RUHSOLD task 1 lines
        "mehangai ka khatma ho raha ha",
        "kia mein wohi samjha ho jo aap kah rahe hain 😋",
        "chutiye ye hunduism ni he islam he , isme koi kisi muslim ko ni maarta gashti ke bache",
        "hitler genius tha usy pata tha many yahoodi ko marna ha na mara to ya dunia tabbah kar",
        "pichwara se akhrot kahe fod rahe ho chicha",
        # code-switched: Roman Urdu words win ties against English ones
        "yaar this is not fair, ye kya ho raha hai",
        # names and slogans: the identifier reads them as Roman Urdu
        "imran khan zindabad",
        "go nawaz go",
    ],
)
def test_roman_urdu(text: str) -> None:
    assert route(text) == "roman_urdu"


@pytest.mark.parametrize(
    "text",
    [
        # Davidson lines
        "!!!!!!! RT @UrKindOfBrand Dawg!!!! RT @80sbaby4life: You ever fuck a bitch and she start "
        "to cry? You be confused as shit",
        '" &amp; you might not get ya bitch back &amp; thats that "',
        '"@SukMySweetness: money only impress the simple broke bitches"',
        "@kyahai_official you are so right",  # a handle is not a word
        # English words that are also Roman Urdu ("the", "do", "main", "say") do not decide
        "the main thing to do is say what you think",
    ],
)
def test_english(text: str) -> None:
    assert route(text) == "english"


@pytest.mark.parametrize(
    "text",
    ["عمران خان زندہ باد", "آج کا جلسہ بہت شاندار تھا", "تم گدھے ہو، بکواس بند کرو 😡 ok"],
)
def test_urdu_script(text: str) -> None:
    assert route(text) == "urdu"


def test_mixed_scripts() -> None:
    assert route("jalsa bohat acha tha، بہت شاندار") == "mixed"


@pytest.mark.parametrize("text", ["", "   ", "😂😂😂", "12345", "!!! ???", "Привет мир", "नमस्ते"])
def test_unknown(text: str) -> None:
    assert route(text) == "unknown"


@pytest.mark.parametrize(
    "text",
    [
        "hola amigos, como estan todos ustedes esta noche",
        "selamat pagi semua, apa kabar kalian hari ini",
        "Das ist eine sehr gute Rede von ihm heute",
        "Bu miting çok güzel oldu, teşekkürler kardeşim",
    ],
)
def test_another_latin_language_is_unknown(text: str) -> None:
    assert route(text) == "unknown"


def test_short_text_is_never_another_language() -> None:
    """Three words are too few to call a comment Spanish: it stays English or Roman Urdu."""
    assert route("hola amigos") in ("english", "roman_urdu")


def test_routing_falls_back_to_word_lists_without_the_identifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(language, "_identifier", lambda: None)
    assert routes(["ye kya ho raha hai", "what is going on here", "عمران خان"]) == [
        "roman_urdu",
        "english",
        "urdu",
    ]


def test_latin_route_is_deterministic_and_total() -> None:
    for text in ("", "a", "hai", "the", "x" * 10_000):
        assert latin_route(text) in ROUTES
        assert route(text) == route(text)
