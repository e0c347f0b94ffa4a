"""A fast sentiment model for brand mentions that learns from the labels people give.

Why not VADER alone: a lexicon reads words, not situations. "Been on hold 2 hours,
great service" holds one lexicon word, "great", and VADER calls it positive; people
who write to a brand mostly complain, and complaints are told by their situation
(waiting, delays, cancellations, no answer) more than by sentiment words.

The model is a three-class linear softmax (negative, neutral, positive) over the
features of ``detectors.sentiment_features``:
- hashed unigrams and bigrams of the normalised text (handles, URLs and numbers folded
  to one token each, so "2 hours" and "45 minutes" share evidence and a brand's own
  handle carries none), with praise words inside a complaint kept apart from the same
  words elsewhere;
- VADER's lexicon score (its rules re-done on arrays) and its magnitude, so the
  lexicon's knowledge is a feature the model weighs instead of the verdict;
- complaint cues: a short, hand-written list of situations that mean a complaint
  whatever the words around them.

It learns online with AdaGrad (per-feature step sizes: rare words move fast, common
ones settle), one labelled example at a time, which is how labels arrive from people.
Scoring is batched: the features of all texts are (text, bucket) pairs and the logits
one gather and three weighted bincounts, so the Python work left per text is
tokenising (about 10-20 µs a text here, against VADER's 40-80 µs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crisiswatch.detectors.sentiment_features import Featurizer, WordVectors
from crisiswatch.detectors.text import has_own_words

LABELS = ("negative", "neutral", "positive")
LABEL_INDEX = {label: i for i, label in enumerate(LABELS)}
NEUTRAL_CERTAIN = np.array([0.0, 1.0, 0.0], np.float32)
# Bump when tokenising or features change: weights of another version are refused.
FEATURES_VERSION = 2


class SentimentModel:
    """Three-class sentiment with ``score_batch`` in [-1, 1] and online ``learn``."""

    def __init__(self, n_buckets: int = 1 << 18, learning_rate: float = 0.2,
                 featurizer: Featurizer | None = None,
                 word_vectors: WordVectors | None = None) -> None:
        self.n_buckets = n_buckets
        self.learning_rate = learning_rate
        self.featurizer = featurizer or Featurizer(n_buckets, word_vectors=word_vectors)
        n_dense = self.featurizer.n_dense
        self.w = np.zeros((n_buckets, 3), dtype=np.float32)  # row 0: the bias
        self.g = np.full((n_buckets, 3), 1e-2, dtype=np.float32)  # AdaGrad sums of g^2
        self.wd = np.zeros((n_dense, 3), dtype=np.float32)
        self.gd = np.full((n_dense, 3), 1e-2, dtype=np.float32)
        self.n_learned = 0

    # -- prediction ------------------------------------------------------------------
    def predict_proba_batch(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities in the order of ``LABELS``.

        A text with no words of its own (a retweet stub, handles, hashtags, a bare link:
        ``detectors.text.has_own_words``) is neutral for certain: asked anyway, the
        weights answer with their bias (a handle list scored about +0.66)."""
        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        f = self.featurizer.batch(texts)
        weights = self.w[f.buckets]
        # einsum's own loop, not BLAS: a row's logits must not depend on the batch's shape
        logits = np.einsum("ij,jk->ik", f.dense, self.wd)
        for c in range(3):
            logits[:, c] += np.bincount(f.rows, weights=weights[:, c], minlength=len(texts))
        proba = _softmax(logits)
        wordless = [i for i, text in enumerate(texts) if not has_own_words(text)]
        if wordless:
            proba[wordless] = NEUTRAL_CERTAIN
        return proba

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Polarity in [-1, 1]: P(positive) - P(negative), on the scale of VADER's
        compound, so the flow's thresholds read it the same way."""
        p = self.predict_proba_batch(texts)
        return p[:, 2] - p[:, 0]

    def score(self, text: str) -> float:
        return float(self.score_batch([text])[0])

    def classify_batch(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba_batch(texts).argmax(axis=1)]

    def classify(self, text: str) -> str:
        return self.classify_batch([text])[0]

    # -- learning --------------------------------------------------------------------
    def learn(self, text: str, label: str, steps: int = 1) -> None:
        """Move the model towards ``label`` for ``text``: ``steps`` AdaGrad steps of the
        log loss on this one example."""
        self.learn_batch([text], [label], steps)

    def learn_batch(self, texts: Sequence[str], labels: Sequence[str], steps: int = 1) -> None:
        """``learn`` each example in order (features computed in one batch)."""
        unknown = set(labels) - LABEL_INDEX.keys()
        if unknown:
            raise ValueError(f"unknown sentiment label(s) {sorted(unknown)}; expected one of "
                             f"{', '.join(LABELS)}")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if not texts:
            return
        f = self.featurizer.batch(texts)
        buckets, dense = f.buckets[np.argsort(f.rows, kind="stable")], f.dense
        ends = np.cumsum(np.bincount(f.rows, minlength=len(texts)))
        lr = self.learning_rate
        w, g, wd, gd = self.w, self.g, self.wd, self.gd
        for k, label in enumerate(labels):
            idx, counts = np.unique(buckets[ends[k - 1] if k else 0:ends[k]],
                                    return_counts=True)
            x_sparse = counts.astype(np.float32)[:, None]
            x = dense[k]
            target = LABEL_INDEX[label]
            for _ in range(steps):
                logits = (w[idx] * x_sparse).sum(axis=0) + x @ wd
                p = np.exp(logits - logits.max())
                grad = p / p.sum()
                grad[target] -= 1.0
                grad_s = x_sparse * grad
                g2 = g[idx] + grad_s * grad_s
                g[idx] = g2
                w[idx] -= lr * grad_s / np.sqrt(g2)
                grad_d = np.outer(x, grad)
                gd += grad_d * grad_d
                wd -= lr * grad_d / np.sqrt(gd)
        self.n_learned += len(labels)

    # -- persistence -----------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned state as named arrays (sparse: only buckets that were touched), for
        the composition root to save; ``from_arrays`` restores it."""
        rows = np.flatnonzero(np.any(self.w != 0, axis=1)).astype(np.int32)
        vectors = self.featurizer.word_vectors
        # words as one UTF-8 text, a line each: a numpy string array spends 4 bytes a
        # character on its longest word
        words = {"words": np.frombuffer("\n".join(vectors.words).encode(), np.uint8),
                 "word_vectors": vectors.vectors} if vectors else {}
        return {**words,
            "version": np.array([FEATURES_VERSION, self.n_buckets, self.n_learned], np.int64),
            "learning_rate": np.array([self.learning_rate], np.float64),
            "rows": rows, "w_rows": self.w[rows], "g_rows": self.g[rows],
            "wd": self.wd, "gd": self.gd,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    featurizer: Featurizer | None = None) -> SentimentModel:
        version, n_buckets, n_learned = (int(v) for v in arrays["version"])
        if featurizer is not None and featurizer.n_buckets != n_buckets:
            raise ValueError(f"a featurizer of {featurizer.n_buckets} buckets cannot serve "
                             f"weights of {n_buckets}")
        if version != FEATURES_VERSION:
            raise ValueError(f"sentiment weights of feature version {version}; this code "
                             f"reads version {FEATURES_VERSION}: retrain them "
                             "(crisiswatch train-sentiment)")
        vectors = (WordVectors(tuple(arrays["words"].tobytes().decode().split("\n")),
                               arrays["word_vectors"].astype(np.float16))
                   if "words" in arrays and featurizer is None else None)
        model = cls(n_buckets, float(arrays["learning_rate"][0]), featurizer, vectors)
        rows = arrays["rows"]
        model.w[rows] = arrays["w_rows"]
        model.g[rows] = arrays["g_rows"]
        model.wd[:] = arrays["wd"]
        model.gd[:] = arrays["gd"]
        model.n_learned = n_learned
        return model

    def copy(self) -> SentimentModel:
        """An independent model with the same weights (sharing the featurizer)."""
        return SentimentModel.from_arrays(self.to_arrays(), self.featurizer)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
