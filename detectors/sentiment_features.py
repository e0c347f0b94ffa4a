"""Features of the sentiment model, computed for a whole batch of texts at once.

The only per-text Python work is tokenising and one dictionary lookup per token (done
in C through ``map``): each distinct token gets a vocabulary id once, with its
attributes (hash bucket, VADER valence, negation, booster, complaint cue) stored in
numpy arrays by id. Everything after that — bigram buckets, the lexicon score,
complaint cues — is array arithmetic over all tokens of the batch, which is what
keeps the model at a few microseconds a text.

The lexicon score is VADER's rules re-done on arrays (``lexicon_compound``): the
valence of lexicon words, boosters and negations among the three words before each
one, the "but" re-weighting, "!"/"?" emphasis and VADER's normalisation. It drops what
needs each word's case (ALL-CAPS emphasis) and the rare idioms, so it is close to
VADER's compound but not equal (``tests/test_sentiment.py`` measures how close); the
exact compound is ``detectors.vader_fast.FastVader``.

Word vectors make what the model learns travel: hashed n-grams know only the words they
were trained on, so a brand whose complaints use other words ("gate agent", "app",
"signal") reads as neutral. With a table of word vectors (``WordVectors``: the model
ships one, distilled from all-MiniLM-L6-v2, see ``crisiswatch.models.sentiment_weights``), each
text also gets the unit mean of its words' vectors, and a word never seen in training
still lands near the words it means. Each vocabulary entry looks its vector up once; a
batch's means are one sparse product (texts x words, counts) with the words' vectors.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import sparse
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    NEGATE,
    SentimentIntensityAnalyzer,
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_TOKEN = re.compile(r"[a-z#@<][a-z0-9'_#>]*|[:;=][-o^']?[()\[\]dpo/\\|*3]|[!?]+|[^\x00-\x7f]")

# Situations that make a mention a complaint whatever words surround them, as tokens and
# token pairs. Written for this project (no data set behind them): waiting, delay and
# failure words that sentiment lexicons do not list, because outside customer service
# they are not sentiment.
COMPLAINT_CUES = frozenset(
    ["on hold", "hold for", "hold time", "<num> hours", "<num> hrs", "<num> hr", "<num> minutes",
     "<num> mins", "<num> days", "<num> weeks", "an hour", "hours", "still waiting",
     "still no", "still not", "still haven't", "still hasn't", "still nothing", "still stuck",
     "no one", "no response", "no answer", "no reply", "no help", "no info", "no update",
     "no updates", "no refund", "no call", "no email", "nobody", "never got",
     "never received", "never arrived", "never came", "never showed", "never called",
     "delay", "delays", "delayed", "cancelled", "canceled", "cancellation", "stuck",
     "stranded", "missed", "lost", "broken", "rude", "refund", "worst", "runaround",
     "hung up", "waiting", "overbooked", "outage", "charged twice", "not working",
     "doesn't work", "didn't work", "won't let", "can't get", "couldn't get",
     "unacceptable", "ridiculous", "disappointed", "joke", "for nothing", "yet again",
     "again ?"])
_CUE_PAIRS = tuple(tuple(c.split(" ")) for c in COMPLAINT_CUES if " " in c)
N_DENSE = 4  # lexicon compound (no complaint), |compound|, complaint cues, (complaint)
_PRAISE_IN_COMPLAINT = 7  # salt: moves a praise word's bucket when it sits in a complaint
_PAIR_MULTIPLIER = 1_000_003  # a prime: (a, b) and (b, a) fall in different buckets
_DISTANCE_DAMPING = (1.0, 0.95, 0.9)  # VADER's weight of a booster 1, 2, 3 words back
_NEGATE = frozenset(NEGATE)
_MAX_VOCABULARY = 1_000_000  # a long-running stream starts a new vocabulary past this


def normalise(text: str) -> list[str]:
    """Tokens of a mention: lower case, handles -> '@user', URLs -> 'http', numbers ->
    '<num>', runs of ! or ? kept as one token."""
    t = text.lower()
    if "http" in t or "www." in t:
        t = _URL.sub(" http ", t)
    if "@" in t:
        t = _HANDLE.sub(" @user ", t)
    t = _NUMBER.sub(" <num> ", t)
    return _TOKEN.findall(t)


def word_bucket(token: str, n_buckets: int) -> int:
    """Bucket of a token in 1..n_buckets-1 (0 is the bias): CRC32, stable across runs."""
    return zlib.crc32(token.encode()) % (n_buckets - 1) + 1


def pair_buckets(first: np.ndarray, second: np.ndarray, n_buckets: int) -> np.ndarray:
    """Buckets of token pairs from their tokens' buckets, so bigrams cost no strings."""
    return (first * _PAIR_MULTIPLIER + second) % (n_buckets - 1) + 1


@dataclass(frozen=True)
class WordVectors:
    """Words and their vectors (one row each, float16 to keep the shipped file small)."""

    words: tuple[str, ...]
    vectors: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass(frozen=True)
class Features:
    """A batch in coordinate form: ``buckets[j]`` occurs in text ``rows[j]`` (bias,
    unigrams and bigrams, repeats kept), and ``dense`` has one row per text (the
    ``N_DENSE`` lexicon and cue features, then the mean word vector)."""

    rows: np.ndarray
    buckets: np.ndarray
    dense: np.ndarray


class _Tokens(NamedTuple):
    """A batch's tokens as vocabulary ids, flat, with the text each belongs to."""

    vid: np.ndarray
    rows: np.ndarray
    starts: np.ndarray  # where each text's tokens begin in ``vid``
    exclaims: np.ndarray  # "!" per text (VADER's emphasis counts characters)
    questions: np.ndarray


class Featurizer:
    """Texts to ``Features``; keeps the vocabulary of the tokens it has seen."""

    def __init__(self, n_buckets: int, lexicon: Mapping[str, float] | None = None,
                 emojis: Mapping[str, str] | None = None,
                 word_vectors: WordVectors | None = None) -> None:
        self.n_buckets = n_buckets
        self.word_vectors = word_vectors
        dim = word_vectors.dim if word_vectors else 0
        self.n_dense = N_DENSE + dim
        # row 0 is the zero vector of words without one; float64 (the float16 rows
        # exactly), in which the texts' sums are taken
        self._vectors = np.zeros((1 + (len(word_vectors.words) if word_vectors else 0), dim),
                                 np.float64)
        self._word_row: dict[str, int] = {}
        if word_vectors:
            self._vectors[1:] = word_vectors.vectors
            self._word_row = {w: i for i, w in enumerate(word_vectors.words, 1)}
        if lexicon is None or emojis is None:
            vader = SentimentIntensityAnalyzer()
            lexicon, emojis = vader.lexicon, vader.emojis
        self.lexicon = dict(lexicon)
        # VADER reads an emoji as its description ("face with tears of joy"): its words'
        # valences are the emoji's.
        self.emoji_valence = {e: sum(self.lexicon.get(w, 0.0) for w in d.lower().split())
                              for e, d in emojis.items()}
        self._cue_pairs = pair_buckets(
            np.array([word_bucket(a, n_buckets) for a, _ in _CUE_PAIRS], dtype=np.int64),
            np.array([word_bucket(b, n_buckets) for _, b in _CUE_PAIRS], dtype=np.int64),
            n_buckets)
        self._reset_vocabulary()

    def _reset_vocabulary(self) -> None:
        self._ids: dict[str, int] = {}
        size = 1 << 14
        self._bucket = np.zeros(size, dtype=np.int64)
        self._valence = np.zeros(size, dtype=np.float64)
        self._negation = np.zeros(size, dtype=bool)  # also VADER's "no" before a word
        self._booster = np.zeros(size, dtype=np.float64)
        self._cue = np.zeros(size, dtype=bool)
        self._but = np.zeros(size, dtype=bool)
        self._vrow = np.zeros(size, dtype=np.int64)  # row in _vectors, 0: none

    def _add(self, tokens: list[str]) -> None:
        """Give ids to the new tokens and record their attributes."""
        for tok in tokens:
            if tok in self._ids:
                continue
            i = self._ids[tok] = len(self._ids)
            if i == len(self._bucket):
                for name in ("_bucket", "_valence", "_negation", "_booster", "_cue", "_but",
                             "_vrow"):
                    old = getattr(self, name)
                    setattr(self, name, np.concatenate([old, np.zeros_like(old)]))
            word = tok.lstrip("#") if len(tok) > 3 else tok  # VADER strips '#' off words
            in_lexicon = word in self.lexicon
            self._bucket[i] = word_bucket(tok, self.n_buckets)
            self._valence[i] = (0.0 if tok in BOOSTER_DICT else self.lexicon.get(word, 0.0)
                                or self.emoji_valence.get(tok, 0.0))
            self._negation[i] = (not in_lexicon and (tok in _NEGATE or "n't" in tok)) or tok == "no"
            self._booster[i] = 0.0 if in_lexicon else BOOSTER_DICT.get(tok, 0.0)
            self._cue[i] = tok in COMPLAINT_CUES
            self._but[i] = tok == "but"
            self._vrow[i] = self._word_row.get(word, 0)

    def _tokenise(self, texts: Sequence[str]) -> _Tokens:
        if len(self._ids) > _MAX_VOCABULARY:  # between batches: ids stay valid within one
            self._reset_vocabulary()
        n = len(texts)
        ids = self._ids
        flat: list[int] = []
        counts: list[int] = []  # per text (plain lists: numpy item writes cost more)
        exclaims: list[int] = []
        questions: list[int] = []
        for text in texts:
            tokens = normalise(text)
            try:
                vids = list(map(ids.__getitem__, tokens))
            except KeyError:
                self._add(tokens)
                vids = list(map(ids.__getitem__, tokens))
            flat.extend(vids)
            counts.append(len(vids))
            exclaims.append(text.count("!"))
            questions.append(text.count("?"))
        lengths = np.array(counts, dtype=np.int64).reshape(n)
        return _Tokens(vid=np.asarray(flat, dtype=np.int64),
                       rows=np.repeat(np.arange(n), lengths),
                       starts=np.cumsum(lengths) - lengths,
                       exclaims=np.array(exclaims, dtype=np.float64).reshape(n),
                       questions=np.array(questions, dtype=np.float64).reshape(n))

    def batch(self, texts: Sequence[str]) -> Features:
        n = len(texts)
        tokens = self._tokenise(texts)
        vid, rows = tokens.vid, tokens.rows
        uni = self._bucket[vid]
        within = rows[1:] == rows[:-1]
        bi = pair_buckets(uni[:-1][within], uni[1:][within], self.n_buckets)
        bi_rows = rows[1:][within]
        cues = (np.bincount(rows[self._cue[vid]], minlength=n)
                + np.bincount(bi_rows[np.isin(bi, self._cue_pairs)], minlength=n))
        compound = self._compound(tokens)
        complaint = cues > 0
        # Praise inside a complaint is usually sarcasm: there, praise words are other
        # features than the same words elsewhere, and so is the lexicon score.
        praise = complaint[rows] & (self._valence[vid] > 0)
        uni = np.where(praise, pair_buckets(uni, _PRAISE_IN_COMPLAINT, self.n_buckets), uni)
        dense = np.empty((n, self.n_dense), dtype=np.float32)
        dense[:, 0] = np.where(complaint, 0.0, compound)
        dense[:, 1] = np.abs(compound)
        dense[:, 2] = np.minimum(cues, 3)
        dense[:, 3] = np.where(complaint, compound, 0.0)
        if self.n_dense > N_DENSE:
            dense[:, N_DENSE:] = self._mean_vectors(tokens)
        return Features(rows=np.concatenate([np.arange(n), rows, bi_rows]),
                        buckets=np.concatenate([np.zeros(n, dtype=np.int64), uni, bi]),
                        dense=dense)

    def _mean_vectors(self, tokens: _Tokens) -> np.ndarray:
        """Each text's unit mean word vector (zero without a known word): its words'
        vectors added in order in float64, as one sparse product (texts x vocabulary
        rows, a 1 per known token, built directly: the tokens are in text order) @ the
        vectors.

        A text's sum no longer depends on the texts batched before it (the running sum
        over the whole batch that this replaced could move its last float32 bit), and
        it costs 6 ms for 8,000 texts where that sum took 450 ms: numpy's cumulative
        sum down the rows of a (tokens x 128) array was most of the enrichment's time."""
        vrow = self._vrow[tokens.vid]
        known = vrow > 0
        n = len(tokens.starts)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(tokens.rows[known], minlength=n), out=indptr[1:])
        counts = sparse.csr_matrix((np.ones(int(indptr[-1])), vrow[known], indptr),
                                   shape=(n, len(self._vectors)))
        sums = np.asarray(counts @ self._vectors, np.float32)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        np.divide(sums, norms, out=sums, where=norms > 0)
        return sums

    def lexicon_compound(self, texts: Sequence[str]) -> np.ndarray:
        """The lexicon score alone (VADER's compound without case or idiom rules)."""
        return self._compound(self._tokenise(texts))

    def _compound(self, tokens: _Tokens) -> np.ndarray:
        vid, rows, starts = tokens.vid, tokens.rows, tokens.starts
        n = len(starts)
        valence = self._valence[vid]
        sign = np.sign(valence)
        boost = np.zeros_like(valence)
        negations = np.zeros(len(vid), dtype=np.int64)
        for d, damping in enumerate(_DISTANCE_DAMPING, 1):
            same = np.zeros(len(vid), dtype=bool)
            same[d:] = rows[d:] == rows[:-d]
            before = np.zeros(len(vid), dtype=np.int64)
            before[d:] = vid[:-d]
            boost += same * self._booster[before] * damping
            negations += same & self._negation[before]
        valence = (valence + sign * boost) * N_SCALAR ** negations
        # "but": what comes before the first one counts half, what follows 1.5 times.
        buts = self._but[vid]
        if buts.any():
            seen = np.concatenate([[0], np.cumsum(buts)])  # buts before each position
            seen_in_row = seen[1:] - seen[starts][rows]
            has_but = np.bincount(rows[buts], minlength=n)[rows] > 0
            weight = np.where(seen_in_row == 0, 0.5, np.where(buts, 1.0, 1.5))
            valence = np.where(has_but, valence * weight, valence)
        total = np.bincount(rows, weights=valence, minlength=n)
        exclaims, questions = tokens.exclaims, tokens.questions
        emphasis = np.minimum(exclaims, 4) * 0.292 + np.where(
            questions > 1, np.where(questions <= 3, questions * 0.18, 0.96), 0.0)
        total = total + np.sign(total) * emphasis
        return np.clip(total / np.sqrt(total * total + 15), -1.0, 1.0)
