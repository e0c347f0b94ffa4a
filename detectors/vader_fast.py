"""VADER's compound score, computed the way vaderSentiment 3.3.2 does, several times faster.

VADER is the flow's slowest stage (~6,600 texts/s) and the sentiment model keeps its
compound as a feature, so both need it cheaply. Almost all of VADER's time goes into
work that cannot change the compound: scanning every character for emoji on ASCII
text, and running the modifier rules (boosters, negation, idioms, "least") for every
word although only lexicon words carry valence. This port keeps VADER's rules and its
quirks (the "but" re-weighting that looks sentiments up by value, the word-stripping
rule that keeps short tokens such as ":)" whole) and runs them only for lexicon words.

The lexicon and emoji table are VADER's own (MIT), taken from the installed package so
the two cannot drift apart; ``tests/test_vader_fast.py`` checks the agreement with the
reference on the airline texts.
"""

from __future__ import annotations

import math
import string

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

_PUNCT = string.punctuation
_NEGATE = frozenset(NEGATE)
# Every word of a special-case idiom or a multi-word booster ("kind of", "bad ass", ...).
_IDIOM_WORDS = frozenset(
    word for phrase in [*SPECIAL_CASES, *BOOSTER_DICT] if " " in phrase
    for word in phrase.split())


def _negated(word_lower: str) -> bool:
    return word_lower in _NEGATE or "n't" in word_lower


def _strip_punc_if_word(token: str) -> str:
    stripped = token.strip(_PUNCT)
    return token if len(stripped) <= 2 else stripped


def _normalize(score: float, alpha: float = 15) -> float:
    norm = score / math.sqrt(score * score + alpha)
    return -1.0 if norm < -1.0 else 1.0 if norm > 1.0 else norm


class FastVader:
    """``compound(text)`` equal to ``SentimentIntensityAnalyzer().polarity_scores(text)
    ["compound"]``, and ``compound_batch(texts)`` for lists."""

    def __init__(self) -> None:
        reference = SentimentIntensityAnalyzer()
        self.lexicon: dict[str, float] = reference.lexicon
        self.emojis: dict[str, str] = reference.emojis

    def compound_batch(self, texts: list[str]) -> list[float]:
        compound = self.compound
        return [compound(t) for t in texts]

    def compound(self, text: str) -> float:
        if not text.isascii():
            text = self._describe_emojis(text)
        lower = [s if len(s := w.strip(_PUNCT)) > 2 else w for w in text.lower().split()]
        lexicon = self.lexicon
        hits = [i for i, w in enumerate(lower) if w in lexicon]
        if not hits:
            return 0.0
        # Stripping and splitting do not depend on case: the cased words align with these.
        words = [s if len(s := w.strip(_PUNCT)) > 2 else w for w in text.split()]
        n_upper = sum(1 for w in words if w.isupper())
        is_cap_diff = 0 < len(words) - n_upper < len(words)
        sentiments: list[float] = [0] * len(words)
        for i in hits:
            w = lower[i]
            if w in BOOSTER_DICT or (w == "kind" and i < len(words) - 1 and lower[i + 1] == "of"):
                continue
            sentiments[i] = self._valence(words, lower, i, is_cap_diff)
        if "but" in lower:
            sentiments = _but_check(lower.index("but"), sentiments)
        total = float(sum(sentiments))
        if total > 0:
            total += _punctuation_emphasis(text)
        elif total < 0:
            total -= _punctuation_emphasis(text)
        return round(_normalize(total), 4)

    def _describe_emojis(self, text: str) -> str:
        """VADER's emoji pass: each emoji becomes its description, space-separated."""
        out: list[str] = []
        prev_space = True
        emojis = self.emojis
        for ch in text:
            description = emojis.get(ch)
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out).strip()

    def _valence(self, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
        """VADER's ``sentiment_valence`` for the lexicon word at ``i``."""
        lexicon = self.lexicon
        item_lower = lower[i]
        valence = lexicon[item_lower]
        n = len(words)
        if item_lower == "no" and i != n - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if ((i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no")
                or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))):
            valence = lexicon[item_lower] * N_SCALAR
        if is_cap_diff and words[i].isupper():
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        # The idiom rule can only fire when a word of some idiom is near: skip it otherwise.
        idioms_near = not _IDIOM_WORDS.isdisjoint(lower[max(i - 3, 0):i + 3])
        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and lower[j] not in lexicon:
                s = _scalar_inc_dec(words[j], lower[j], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s *= 0.95
                elif start_i == 2 and s != 0:
                    s *= 0.9
                valence += s
                valence = _negation_check(valence, lower, start_i, i)
                if start_i == 2 and idioms_near:
                    valence = _special_idioms_check(valence, lower, i)
        if i > 0 and lower[i - 1] == "least":
            valence = _least_check(valence, lower, i, lexicon)
        return valence


def _scalar_inc_dec(word: str, word_lower: str, valence: float, is_cap_diff: bool) -> float:
    scalar = BOOSTER_DICT.get(word_lower)
    if scalar is None:
        return 0.0
    if valence < 0:
        scalar *= -1
    if word.isupper() and is_cap_diff:
        scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
    return scalar


def _negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(lower[i - 1]):
            valence *= N_SCALAR
    elif start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            valence *= 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence *= N_SCALAR
    else:
        if ((lower[i - 3] == "never" and lower[i - 2] in ("so", "this"))
                or lower[i - 1] in ("so", "this")):
            valence *= 1.25
        elif lower[i - 3] == "without" and "doubt" in (lower[i - 2], lower[i - 1]):
            pass
        elif _negated(lower[i - 3]):
            valence *= N_SCALAR
    return valence


def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    onezero = f"{lower[i - 1]} {lower[i]}"
    twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    twoone = f"{lower[i - 2]} {lower[i - 1]}"
    threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    threetwo = f"{lower[i - 3]} {lower[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    n = len(lower)
    if n - 1 > i:
        zeroone = f"{lower[i]} {lower[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence += BOOSTER_DICT[n_gram]
    return valence


def _least_check(valence: float, lower: list[str], i: int, lexicon: dict[str, float]) -> float:
    """VADER's "least" rule, for a word after "least": negated unless "at/very least"."""
    if "least" not in lexicon and (i == 1 or lower[i - 2] not in ("at", "very")):
        valence *= N_SCALAR
    return valence


def _but_check(but_index: int, sentiments: list[float]) -> list[float]:
    """VADER's contrastive "but": halve what comes before, amplify what follows.

    Kept literally, lookup by value included (``list.index``): when two words share a
    valence VADER may re-weight the first one twice, and the reference does the same.
    """
    for sentiment in sentiments:
        si = sentiments.index(sentiment)
        if si < but_index:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 0.5)
        elif si > but_index:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _punctuation_emphasis(text: str) -> float:
    ep = min(text.count("!"), 4) * 0.292
    qm_count = text.count("?")
    qm = 0.0
    if qm_count > 1:
        qm = qm_count * 0.18 if qm_count <= 3 else 0.96
    return ep + qm

