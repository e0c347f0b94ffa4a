"""Languages: every mention gets one, and English-only models leave the others alone.

Real parts throughout: lingua's shipped models, the shipped sentiment prior through the
flow's enrichment step, and the topic window that feeds clustering.
"""

from __future__ import annotations

import pytest

from crisiswatch.detectors.language import LanguageIdentifier, normalise_lang, reads_english
from crisiswatch.detectors.topics import WindowTexts
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.watchlist import Watchlist
from crisiswatch.detectors.window import WindowStats
from crisiswatch.flows.enrich import Enricher
from crisiswatch.flows.sentiment import FlowSentiment
from crisiswatch.models import sentiment_weights
from crisiswatch.models.sentiment_weights import load

FIVE = {
    "en": "@acme my flight was cancelled again and nobody answers the phone, terrible",
    "es": "@acme mi vuelo fue cancelado otra vez y nadie contesta el teléfono, qué desastre",
    "fr": "@acme mon vol a encore été annulé et personne ne répond au téléphone",
    "de": "@acme mein Flug wurde schon wieder gestrichen und niemand geht ans Telefon",
    "hi": "@acme मेरी उड़ान फिर से रद्द हो गई और कोई फ़ोन नहीं उठाता, आपातकालीन कॉल",
}


def _mention(i: int, text: str, lang: str | None = None) -> Mention:
    return Mention(id=str(i), ts=float(i), brands=("Acme",), text=text, hashtags=(),
                   lang=lang)


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher(FlowSentiment("complaint", load=load), Watchlist())


def test_five_languages_identified_and_only_english_scored(enricher: Enricher) -> None:
    mentions = [_mention(i, text) for i, text in enumerate(FIVE.values())]
    enricher.enrich(mentions)
    assert [m.lang for m in mentions] == list(FIVE)
    english, *others = mentions
    assert english.tone == -1 and english.sentiment < -0.3
    for m in others:  # no English score, not a guess: tone unknown, not neutral
        assert (m.sentiment, m.tone) == (0.0, None), m.lang

    window = WindowTexts()
    for m in mentions:
        window.add(m)
    assert window.total == 5
    assert [item.text for item in window.items()] == [english.norm_text]  # no topic terms

    stats = WindowStats()  # the window's tone is read off the English mention alone
    for m in mentions:
        stats.add(m)
    assert (stats.count, stats.unknown, stats.readable) == (5, 4, 1)
    assert stats.unknown_share == 0.8 and stats.negative_share == 1.0
    assert stats.mean_sentiment == pytest.approx(english.sentiment)


def test_the_collectors_lang_wins_and_is_normalised(enricher: Enricher) -> None:
    said_spanish = _mention(1, FIVE["en"], lang="es-MX")
    said_english = _mention(2, FIVE["fr"], lang="EN")
    enricher.enrich([said_spanish, said_english])
    assert (said_spanish.lang, said_spanish.sentiment, said_spanish.tone) == ("es", 0.0, None)
    assert said_english.lang == "en" and said_english.sentiment != 0.0
    # the same texts again, now without a lang: identified from the (cached) text
    again = [_mention(3, FIVE["en"]), _mention(4, FIVE["fr"])]
    enricher.enrich(again)
    assert [m.lang for m in again] == ["en", "fr"]
    assert again[0].tone == -1 and (again[1].sentiment, again[1].tone) == (0.0, None)


def test_short_english_is_english_and_wordless_text_has_no_language() -> None:
    identify = LanguageIdentifier().identify
    texts = ["@united thanks", "ok thx", "lolol", "rude rude", "where's my bag",
             "@united @delta", "http://t.co/abc", "#fail #united", "RT @jet:"]
    assert identify(texts) == ["en"] * 5 + ["und"] * 4


def test_lang_codes() -> None:
    assert [normalise_lang(x) for x in ("en-US", "EN", "pt_BR", "und", " de ")] == [
        "en", "en", "pt", "und", "de"]
    assert reads_english(None) and reads_english("en") and not reads_english("hi")


def test_handle_lists_links_and_retweet_stubs_are_neutral() -> None:
    prior = sentiment_weights.load()
    wordless = ["@united @AmericanAir @SouthwestAir", "https://t.co/xyz123",
                "RT @VirginAmerica:", "@JetBlue http://t.co/abc #travel", "#united #fail"]
    assert prior.classify_batch(wordless) == ["neutral"] * len(wordless)
    assert list(prior.score_batch(wordless)) == [0.0] * len(wordless)
    assert prior.classify("@united lost my bag again, worst airline") == "negative"
