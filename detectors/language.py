"""Which language a mention is written in, so that English-only models keep to English.

The sentiment model and the topic terms read English: asked about a Hindi post they do
not say "I cannot read this", they guess (a Hindi post became an "emergency, calls"
topic with sentiment +0.73). Every mention therefore gets a language, from its ``lang``
field when the collector sent one (platforms know it), identified from its text when not.

Identification is lingua (``lingua-language-detector``, Apache-2.0; its n-gram models
ship inside the wheel, so nothing is downloaded), restricted to the languages common on
social media: among all 75 it knows, short English tweets come out as Latin, Yoruba or
Tagalog several times in a hundred, and every language more is a chance to be wrong.
Its low-accuracy mode (the high one ran at 340 texts/s here) runs at a few thousand
short texts a second, so a fast path goes first: a text of Latin letters whose words are
mostly English function words ("the", "my", "is", ...) is English without asking lingua
(74 % of the airline tweets). For a plain ASCII text lingua answers only when one
language stands clear of the next (relative distance 0.5), else it is English: on the
3,823 airline tweets the fast path leaves, lingua named a language other than English
for 500 at no threshold, for 60 at 0.5 ("lolol", "ok thx", "rude rude" are English
now), while "gracias" or "merci beaucoup" keep their language. Other scripts get
lingua's best guess without that rule (Hindi and Marathi share Devanagari and stand
close), and ``UNDETERMINED`` (BCP 47's ``und``) when it has none, like a text with no
words of its own (handles, links, hashtags).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lingua import Language, LanguageDetectorBuilder

from crisiswatch.detectors.text import has_own_words, own_words

ENGLISH = "en"
UNDETERMINED = "und"

# Languages of most social-media posts (lingua's names), English first.
LANGUAGES = (
    Language.ENGLISH, Language.SPANISH, Language.PORTUGUESE, Language.FRENCH,
    Language.GERMAN, Language.ITALIAN, Language.DUTCH, Language.TURKISH, Language.RUSSIAN,
    Language.UKRAINIAN, Language.POLISH, Language.ARABIC, Language.PERSIAN, Language.URDU,
    Language.HINDI, Language.BENGALI, Language.TAMIL, Language.MARATHI, Language.JAPANESE,
    Language.KOREAN, Language.CHINESE, Language.THAI, Language.VIETNAMESE,
    Language.INDONESIAN, Language.MALAY, Language.TAGALOG, Language.SWEDISH,
    Language.DANISH, Language.BOKMAL, Language.FINNISH, Language.GREEK, Language.HEBREW,
    Language.ROMANIAN, Language.CZECH, Language.HUNGARIAN, Language.CATALAN,
)

# Function words that are English and not words of the other Latin-script languages
# above ("a", "me", "no", "on", "in", Dutch "is" and "of", Danish "at" and "her" are),
# for the fast path.
_ENGLISH_WORDS = frozenset((
    "the", "and", "are", "was", "were", "you", "your", "my", "our", "their", "this", "that",
    "these", "those", "have", "has", "had", "with", "for", "to", "it", "it's", "i'm",
    "i've", "i'd", "i'll", "we'll", "we're", "you're", "you'd", "they're", "what's",
    "how's", "that's", "there's", "let's", "don't", "can't", "won't", "didn't", "doesn't",
    "isn't", "not", "but", "just", "what", "why", "when", "where", "who", "how", "been",
    "being", "will", "would", "should", "could", "can", "from", "they", "them", "we", "she",
    "his", "its", "by", "or", "if", "any", "get", "got", "out", "about", "after", "again",
    "still", "now", "only", "there", "here", "very", "really", "thanks", "thank", "please",
))
_WORD = re.compile(r"[a-z']+")  # lower-cased ASCII text's words
_FAST_SHARE = 0.3  # of a text's words, English-only ones, for the fast path
_CLEAR_LEAD = 0.5  # lingua's minimum relative distance between the first two languages


class LanguageIdentifier:
    """``identify(texts)``: an ISO 639-1 code (or ``und``) for each text."""

    def __init__(self) -> None:
        def builder() -> LanguageDetectorBuilder:  # its methods change it in place
            return LanguageDetectorBuilder.from_languages(*LANGUAGES).with_low_accuracy_mode()

        self.detector = builder().build()
        self.ascii_detector = builder().with_minimum_relative_distance(_CLEAR_LEAD).build()

    def identify(self, texts: Sequence[str]) -> list[str]:
        """Languages of mention texts, read off their own words (``own_words``: no
        handles, links or hashtags). Lingua sees only the texts the fast path leaves,
        in one parallel call per detector."""
        out: list[str] = [UNDETERMINED] * len(texts)
        ascii_slow: list[int] = []
        other_slow: list[int] = []
        words = [own_words(t).lower() for t in texts]
        for i, text in enumerate(words):
            if not has_own_words(text):
                continue
            if not text.isascii():
                other_slow.append(i)
            elif _looks_english(text):
                out[i] = ENGLISH
            else:
                ascii_slow.append(i)
        for slow, detector, unsure in ((ascii_slow, self.ascii_detector, ENGLISH),
                                       (other_slow, self.detector, UNDETERMINED)):
            if slow:
                found = detector.detect_languages_in_parallel_of([words[i] for i in slow])
                for i, language in zip(slow, found, strict=True):
                    out[i] = language.iso_code_639_1.name.lower() if language else unsure
        return out


def _looks_english(text: str) -> bool:
    """Whether an ASCII text is plainly English: at least two words and ``_FAST_SHARE``
    of its words English function words."""
    words = _WORD.findall(text)
    hits = sum(w in _ENGLISH_WORDS for w in words)
    return hits >= 2 and hits >= _FAST_SHARE * len(words)


def reads_english(lang: str | None) -> bool:
    """Whether a mention's language is English for a model that reads English only: a
    mention that was never identified (``None``, built outside the flow) counts as
    English, as everything did before languages were known."""
    return lang is None or lang == ENGLISH or lang.startswith("en-")


def normalise_lang(lang: str) -> str:
    """A collector's ``lang`` as the identifier writes it: lower case, primary subtag
    ("en-US" -> "en", "EN" -> "en"); ISO 639-1 codes pass through, others stay as sent."""
    return lang.strip().lower().replace("_", "-").split("-", 1)[0] or UNDETERMINED

