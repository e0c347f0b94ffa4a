"""FastVader must agree with VADER's reference implementation (the performance issue's
bar: same sign on >= 99% of the airline texts, mean |difference| <= 0.02 in compound);
it is in fact equal, so the test also holds it to that."""

from __future__ import annotations

import numpy as np
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from crisiswatch.detectors.sentiment import VaderScorer
from crisiswatch.detectors.vader_fast import FastVader
from crisiswatch.evaluation.sentiment import airline_tweets
from tests.conftest import AIRLINE_CSV

# The rules' corner cases: boosters, ALL CAPS, negation at 1-3 words, "never so",
# "without doubt", "least", "no", "but" (twice, with equal valences), "kind of", idioms,
# punctuation emphasis, emoticons, emoji, empty and punctuation-only text.
CORNER_CASES = [
    "VADER is smart, handsome, and funny.", "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is not smart, handsome, nor funny.", "At least it isn't a horrible book.",
    "The book was only kind of good.", "Today SUX!", "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!", "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all", "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!", "With VADER, sentiment analysis is the shit!",
    "On the other hand, VADER is quite bad ass", "Without a doubt, excellent idea.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "good good but bad bad but good", "no problem, no worries", "no good at all",
    "the food was kind of great but the service, not so much??", "yeah right, great job",
    "I am not very happy", "never so happy", "it was not the worst", "", "?!?!", "   ",
    "GREAT great GREAT", "the bomb", "this is hella good", "cut the mustard", "😡😡 🙄",
    "#fail #love @great http://t.co/good", "It's NOT bad, it's just not GOOD either.",
]


def test_equal_to_the_reference_on_corner_cases() -> None:
    reference = SentimentIntensityAnalyzer()
    fast = FastVader()
    for text in CORNER_CASES:
        assert fast.compound(text) == reference.polarity_scores(text)["compound"], text


def test_agrees_with_the_reference_on_the_airline_texts() -> None:
    if not AIRLINE_CSV.is_file():
        pytest.skip("airline data not available")
    texts = [t.text for t in airline_tweets(AIRLINE_CSV)]
    reference = SentimentIntensityAnalyzer()
    expected = np.array([reference.polarity_scores(t)["compound"] for t in texts])
    got = np.array(FastVader().compound_batch(texts))
    assert np.mean(np.sign(got) == np.sign(expected)) >= 0.99
    assert np.mean(np.abs(got - expected)) <= 0.02
    assert np.array_equal(got, expected)


def test_vader_scorer_gives_the_reference_compound() -> None:
    scorer = VaderScorer()
    reference = SentimentIntensityAnalyzer()
    for text in CORNER_CASES[:10]:
        assert scorer.score(text) == reference.polarity_scores(text)["compound"]
