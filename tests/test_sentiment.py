"""The sentiment model: beats VADER brand-held-out, reads complaints, learns, persists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from crisiswatch.detectors.sentiment_features import Featurizer
from crisiswatch.detectors.sentiment_model import LABELS, SentimentModel
from crisiswatch.evaluation import sentiment as sentiment_eval
from crisiswatch.models import sentiment_weights
from tests.conftest import AIRLINE_CSV, SHARED_DATA
from tests.helpers.cli import cli

VADER_FILE = SHARED_DATA / "vader" / "tweets_GroundTruth.txt"

# Complaints dressed in praise: VADER scores all but the third positive. None of them is
# in the seed examples the prior learned from.
SARCASTIC_COMPLAINTS = [
    "been on hold 2 hours, great service",
    "Love waiting 3 hours for a bag that never arrived. Great job @airline",
    "Thanks for cancelling my flight and not telling anyone. Awesome.",
    "Great, my order is delayed again.",
    "So glad I paid extra to be stuck on the tarmac for 90 minutes",
    "@united thanks for nothing, lost my bag again",
    "Fantastic, still no refund after 3 weeks",
]


@pytest.fixture(scope="module")
def prior() -> SentimentModel:
    return sentiment_weights.load()


@pytest.fixture(scope="module")
def evaluation() -> tuple[dict[str, Any], str]:
    """``crisiswatch eval --sentiment`` as the CLI runs it, once for the module."""
    if not AIRLINE_CSV.is_file():
        pytest.skip(f"airline data not found at {AIRLINE_CSV}")
    console = Console(record=True, width=140)
    result = sentiment_eval.run(AIRLINE_CSV, VADER_FILE, console)
    return result, console.export_text()


@pytest.mark.slow
def test_beats_vader_on_every_held_out_airline(evaluation: tuple[dict[str, Any], str]) -> None:
    result, printed = evaluation
    per_brand, mean = result["per_brand"], result["mean"]
    assert set(per_brand) == {"American", "Delta (JetBlue)", "Southwest", "US Airways",
                              "United", "Virgin America"}
    assert result["n"] == 14_485  # 14,640 rows less the repeated tweet ids
    # The bars: the prior alone on brands it never saw, and after learning the
    # other brands' labels online.
    assert mean["prior_macro_f1"] >= 0.62
    assert mean["online_macro_f1"] >= 0.76
    assert mean["online_macro_f1"] > mean["vader_macro_f1"] + 0.15
    assert mean["online_accuracy"] > mean["vader_accuracy"] + 0.15
    for brand, row in per_brand.items():
        assert row["online_macro_f1"] > row["vader_macro_f1"] + 0.05, brand
        assert row["online_accuracy"] > row["vader_accuracy"] + 0.05, brand
    # The shipped prior alone (no airline label) already reads these mentions better.
    assert mean["prior_macro_f1"] > mean["vader_macro_f1"]
    # Pooled over all tweets, VADER gives the figures (accuracy 0.490, F1 0.457).
    assert result["pooled"]["vader_accuracy"] == pytest.approx(0.490, abs=0.001)
    assert result["pooled"]["vader_macro_f1"] == pytest.approx(0.457, abs=0.001)
    # The table a person reads, with the means row.
    assert "held-out airline" in printed and "Delta (JetBlue)" in printed
    means = re.search(r"mean\s+│\s+14,485\s+│\s+([\d.]+) / ([\d.]+)", printed)
    assert means and float(means.group(2)) == pytest.approx(mean["vader_macro_f1"], abs=5e-4)


def test_shipped_prior_is_rebuilt_from_licensed_data_only(
        evaluation: tuple[dict[str, Any], str]) -> None:
    result, printed = evaluation
    try:
        sentiment_weights.prior_files(VADER_FILE)
    except sentiment_weights.LabelledFileError as e:
        pytest.skip(str(e))
    assert result["prior_reproduced"] is True
    assert "identical" in printed
    # each training set held out in turn, in the same run
    assert set(result["by_source"]) == set(sentiment_weights.PRIOR_SOURCES)


def test_sarcastic_complaints_are_negative(prior: SentimentModel) -> None:
    vader = SentimentIntensityAnalyzer()
    assert sum(vader.polarity_scores(t)["compound"] > 0.05 for t in SARCASTIC_COMPLAINTS) == 6
    assert prior.classify_batch(SARCASTIC_COMPLAINTS) == ["negative"] * len(SARCASTIC_COMPLAINTS)
    assert (prior.score_batch(SARCASTIC_COMPLAINTS) < -0.2).all()


def test_praise_and_questions_keep_their_class(prior: SentimentModel) -> None:
    texts = ["Thanks for the quick help, great service!", "Loved the flight, the crew was amazing",
             "What time does the store open?", "Do you ship to Norway?"]
    assert prior.classify_batch(texts) == ["positive", "positive", "neutral", "neutral"]


def test_score_batch_is_a_polarity(prior: SentimentModel) -> None:
    texts = ["awful, the worst", "", "ok", "great!!!", "🙂", "@brand http://t.co/x 123"]
    scores = prior.score_batch(texts)
    assert scores.shape == (len(texts),) and np.all(np.abs(scores) <= 1)
    assert scores[0] < -0.5 < 0.5 < scores[3]
    p = prior.predict_proba_batch(texts)
    assert np.allclose(p.sum(axis=1), 1) and np.allclose(scores, p[:, 2] - p[:, 0])
    assert prior.score_batch([]).shape == (0,)
    assert prior.score(texts[0]) == pytest.approx(float(scores[0]), abs=1e-6)


def test_learn_moves_the_prediction(prior: SentimentModel) -> None:
    text = "what a wonderful queue today"  # sarcasm: the prior reads praise
    model = prior.copy()
    before = model.predict_proba_batch([text])[0]
    assert model.classify(text) == "positive"
    model.learn(text, "negative", steps=3)  # a label given three times, say
    after = model.predict_proba_batch([text])[0]
    assert after[0] > before[0] + 0.3
    assert model.classify(text) == "negative"
    assert model.n_learned == prior.n_learned + 1
    # The copy learned; the prior it came from did not.
    assert prior.classify(text) == "positive"
    with pytest.raises(ValueError, match="unknown sentiment label"):
        model.learn(text, "furious")


def test_weights_round_trip(prior: SentimentModel, tmp_path: Path) -> None:
    model = prior.copy()
    model.learn("the lounge was lovely", "positive")
    texts = ["the lounge was lovely", "lost my bag", "where is gate 12?"]
    path = tmp_path / "w.npz"
    sentiment_weights.save(model, path)
    loaded = sentiment_weights.load(path)
    assert np.allclose(loaded.predict_proba_batch(texts), model.predict_proba_batch(texts))
    assert loaded.n_learned == model.n_learned
    # Learning goes on from the saved AdaGrad state, as it would have without the round trip.
    model.learn("lost my bag", "negative")
    loaded.learn("lost my bag", "negative")
    assert np.allclose(loaded.predict_proba_batch(texts), model.predict_proba_batch(texts))
    arrays = model.to_arrays()
    arrays["version"] = arrays["version"].copy()
    arrays["version"][0] += 1
    with pytest.raises(ValueError, match="retrain"):
        SentimentModel.from_arrays(arrays)


def test_shipped_prior_is_small() -> None:
    """Most of it is the word vectors (22,501 words x 128 float16: 5.8 MB), which are what
    make it read brands it never saw."""
    assert sentiment_weights.PRIOR_PATH.stat().st_size < 10_000_000


def test_lexicon_score_tracks_vader() -> None:
    """The model's lexicon feature is VADER's rules on arrays minus case and idioms: close
    to VADER's compound, not equal. Handles are removed first, as the model does."""
    if not AIRLINE_CSV.is_file():
        pytest.skip("airline data not available")
    texts = [re.sub(r"@\w+", "", t.text) for t in sentiment_eval.airline_tweets(AIRLINE_CSV)]
    vader = SentimentIntensityAnalyzer()
    reference = np.array([vader.polarity_scores(t)["compound"] for t in texts])
    ours = Featurizer(1 << 18).lexicon_compound(texts)
    assert np.mean(np.sign(reference) == np.sign(ours)) >= 0.96
    assert np.mean(np.abs(reference - ours)) <= 0.04


def test_labelled_files(tmp_path: Path) -> None:
    tsv = tmp_path / "rated.txt"
    tsv.write_text("1\t2.5\tlovely\r\n2\t-0.4\tmeh\r\n3\t-0.5\tbad\r\n", encoding="utf-8")
    assert sentiment_weights.read_labelled(tsv) == [
        ("lovely", "positive"), ("meh", "neutral"), ("bad", "negative")]
    jsonl = tmp_path / "l.jsonl"
    jsonl.write_text('{"text": "ok", "label": "neutral"}\n{"text": "x", "label": "meh"}\n')
    with pytest.raises(sentiment_weights.LabelledFileError, match=r"l.jsonl:2: .*label"):
        sentiment_weights.read_labelled(jsonl)
    with pytest.raises(sentiment_weights.LabelledFileError, match="3 tab-separated"):
        sentiment_weights.read_labelled(jsonl, "vader")
    assert set(LABELS) == {"negative", "neutral", "positive"}


@pytest.mark.slow
def test_train_sentiment_cli_writes_loadable_weights(tmp_path: Path) -> None:
    labelled = tmp_path / "labels.jsonl"
    labelled.write_text(
        '{"text": "wonderful customer service, nobody answers the phone", '
        '"label": "negative"}\n{"text": "crew were lovely, thank you", "label": "positive"}\n',
        encoding="utf-8")
    r = cli("train-sentiment", str(labelled), "--epochs", "3", "-o", "w.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 labelled examples" in r.stderr and "weights written to w.npz" in r.stderr
    model = sentiment_weights.load(tmp_path / "w.npz")
    assert model.n_learned == sentiment_weights.load().n_learned + 6
    assert model.classify("wonderful customer service, nobody answers the phone") == "negative"

    bad = cli("train-sentiment", "missing.txt", cwd=tmp_path)
    assert bad.returncode == 2 and "no such file: missing.txt" in bad.stderr


@pytest.mark.slow
def test_eval_without_the_airline_file_says_where_it_looked(tmp_path: Path) -> None:
    r = cli("eval", "--sentiment", "--airline", "nowhere/Tweets.csv", cwd=tmp_path)
    assert r.returncode == 2
    assert "airline labels not found at nowhere/Tweets.csv" in r.stderr


def test_a_text_scores_the_same_whatever_shares_its_batch() -> None:
    """A restart resumes at another batch boundary: the figures it publishes must be the
    ones an uninterrupted run publishes, to the last bit."""
    import random

    from crisiswatch.flows.sentiment import FlowSentiment
    from crisiswatch.models.sentiment_weights import load

    scorer = FlowSentiment("complaint", load=load)
    texts = [f"{w} flight {i}, the crew was {a} and the wifi {b}" for i, (w, a, b) in enumerate(
        (w, a, b) for w in ("my", "our", "the") for a in ("great", "rude", "late")
        for b in ("worked", "died", "never came"))] * 4
    whole = scorer.score(texts)[0]
    rng, parts, i = random.Random(3), [], 0
    while i < len(texts):
        k = rng.randint(1, 9)
        parts += scorer.score(texts[i:i + k])[0]
        i += k
    assert parts == whole
