"""Text embeddings for topic clustering: one small interface, a static backend in numpy.

The topic detector only needs "texts in, unit vectors out". Two backends implement it:

- ``StaticEmbedder`` (here, numpy and the standard library only): a model2vec-style
  table with one vector per WordPiece token, distilled from all-MiniLM-L6-v2 by
  ``crisiswatch models build``. A text's vector is the mean of its tokens' vectors,
  so embedding is a tokenizer pass and a gather-and-sum: 10-20k texts a second on one
  core, with no torch at run time.
- the MiniLM transformer itself (``crisiswatch.models.embedders.MiniLMEmbedder``): the quality
  reference, ~100 texts/s on 2 cores, and the teacher of the static table. It lives
  in the composition root because loading it is I/O and needs torch.

``CachedEmbedder`` wraps either one: retweets and copy-paste campaigns are a large
share of mentions, so a text is embedded once and then served from a bounded cache.
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

UNK, CLS, SEP = "[UNK]", "[CLS]", "[SEP]"
MAX_WORD_CHARS = 100  # BERT's WordPiece gives up on longer words ([UNK])


class Embedder(Protocol):
    """Texts to L2-normalised float32 rows; a text with nothing to embed gets a zero row."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _is_punctuation(ch: str) -> bool:
    """BERT's rule: ASCII symbols count as punctuation even where Unicode says otherwise."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPieceTokenizer:
    """BERT's uncased tokenizer (basic split + greedy longest-match WordPiece) in pure
    Python, so that the static backend needs neither torch nor transformers.

    It reproduces ``BertTokenizer(do_lower_case=True)`` (the tests compare the two on
    real tweets when MiniLM is installed). Words repeat endlessly in
    mentions, so each distinct whitespace-separated chunk is tokenized once and cached;
    the cache is cleared when full, which keeps memory bounded and results unchanged.
    """

    def __init__(self, vocab: Sequence[str], cache_size: int = 200_000) -> None:
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        self.unk_id = self.ids[UNK]
        self.cache_size = cache_size
        self._cache: dict[str, tuple[int, ...]] = {}

    def tokenize_ids(self, text: str) -> list[int]:
        out: list[int] = []
        cache = self._cache
        for chunk in text.split():
            ids = cache.get(chunk)
            if ids is None:
                if len(cache) >= self.cache_size:
                    cache.clear()
                ids = cache[chunk] = tuple(self._chunk_ids(chunk))
            out.extend(ids)
        return out

    def tokenize(self, text: str) -> list[str]:
        """Token strings, for inspection and for the comparison with BertTokenizer."""
        inverse = {i: t for t, i in self.ids.items()}
        return [inverse[i] for i in self.tokenize_ids(text)]

    def _chunk_ids(self, chunk: str) -> list[int]:
        out: list[int] = []
        for word in _basic_words(chunk):
            out.extend(self._wordpiece(word))
        return out

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk_id]
        ids, vocab = [], self.ids
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids


def _basic_words(chunk: str) -> list[str]:
    """Clean, lower-case, strip accents and split on punctuation and CJK characters,
    as BERT's BasicTokenizer does to one whitespace-free chunk."""
    chunk = unicodedata.normalize("NFD", chunk.lower())
    words: list[str] = []
    current: list[str] = []
    for ch in chunk:
        cat = unicodedata.category(ch)
        if cat == "Mn" or ch in "\x00\ufffd" or (cat.startswith("C") and ch not in "\t\n\r"):
            continue
        if ch.isspace() or cat == "Zs":
            if current:
                words.append("".join(current))
                current = []
        elif _is_punctuation(ch) or _is_cjk(ord(ch)):
            if current:
                words.append("".join(current))
                current = []
            words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


class StaticEmbedder:
    """Mean of the tokens' vectors from a distilled table, L2-normalised.

    The table already carries each token's weight (rare tokens count more than "the"),
    so the mean is a weighted mean without any work at embedding time. Texts are
    embedded in chunks so that the gathered token matrix stays small.

    ``projection`` (see ``fit_projection``) is a linear map applied to the mean; since
    the mean is linear too, it is folded into the table once here and embedding costs
    exactly what it costs without one.
    """

    def __init__(self, vectors: np.ndarray, vocab: Sequence[str], name: str = "static",
                 meta: dict[str, Any] | None = None, chunk: int = 4096,
                 projection: np.ndarray | None = None) -> None:
        if vectors.shape[0] != len(vocab):
            raise ValueError(f"table has {vectors.shape[0]} rows for {len(vocab)} tokens")
        if projection is not None:
            if projection.shape[0] != vectors.shape[1]:
                raise ValueError(f"projection takes {projection.shape[0]} dimensions but the "
                                 f"table has {vectors.shape[1]}")
            vectors = vectors.astype(np.float32) @ projection.astype(np.float32)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.tokenizer = WordPieceTokenizer(vocab)
        self.name = name
        self.meta = meta or {}  # how the table was made (teacher, recipe, dims, ...)
        self.dim = int(vectors.shape[1])
        self.chunk = chunk

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), self.chunk):
            self._embed_into(texts[lo:lo + self.chunk], out[lo:lo + self.chunk])
        return out

    def _embed_into(self, texts: Sequence[str], out: np.ndarray) -> None:
        token_lists = [self.tokenizer.tokenize_ids(t) for t in texts]
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(texts))
        rows = np.flatnonzero(lengths)
        if rows.size == 0:
            return
        flat = np.fromiter((i for t in token_lists for i in t), dtype=np.int64,
                           count=int(lengths.sum()))
        starts = np.concatenate(([0], np.cumsum(lengths[rows])[:-1]))
        sums = np.add.reduceat(self.vectors[flat], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        np.divide(sums, norms, out=sums, where=norms > 0)
        out[rows] = sums


class CachedEmbedder:
    """Embeds each distinct text once: a bounded LRU cache in front of a backend.

    A batch is deduplicated, only the texts the cache misses go to the backend (in one
    call, so the backend can batch), and ``misses``/``hits`` say how much was saved.
    """

    def __init__(self, backend: Embedder, capacity: int = 20_000) -> None:
        self.backend = backend
        self.name = backend.name
        self.dim = backend.dim
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        cache = self._cache
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            fresh = self.backend.embed(missing)
            for text, vec in zip(missing, fresh, strict=True):
                cache[text] = vec
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = cache[text]
            cache.move_to_end(text)
        while len(cache) > self.capacity:
            cache.popitem(last=False)
        return out


def sif_weights(ranks: np.ndarray, sif: float = 1e-4) -> np.ndarray:
    """Smooth inverse frequency weights from frequency ranks under a Zipf law:
    ``sif / (sif + p(rank))``. "the" gets ~0.002, a rank-10,000 token ~0.9: in a mean of
    token vectors the words that carry the complaint outweigh the glue."""
    inverse = 1.0 / (ranks.astype(np.float64) + 2.0)
    p = inverse / (1.0 / (np.arange(len(ranks), dtype=np.float64) + 2.0)).sum()
    return (sif / (sif + p)).astype(np.float32)


def distil_table(token_vectors: np.ndarray, ranks: np.ndarray, dims: int, sif: float = 1e-4,
                 rows: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The model2vec recipe from one teacher vector per token to the static table.

    PCA (fitted on the real tokens ``rows``; the others stay zero) to ``dims``
    dimensions, which centres away the direction every token shares and halves the
    table; each row renormalised and scaled by its SIF weight. Returns the table and
    the share of variance the kept dimensions explain.
    """
    rows = np.arange(len(token_vectors)) if rows is None else rows
    x = token_vectors[rows].astype(np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    dims = min(dims, vt.shape[0])
    # the sign of a principal axis is arbitrary: fix it so that builds are reproducible
    signs = np.sign(vt[:dims].sum(axis=1, keepdims=True))
    axes = vt[:dims] * np.where(signs == 0, 1.0, signs)
    reduced = (x - mean) @ axes.T
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    reduced /= np.where(norms > 0, norms, 1.0)
    table = np.zeros((len(token_vectors), dims), dtype=np.float32)
    table[rows] = reduced * sif_weights(ranks, sif)[rows, None]
    explained = float((s[:dims] ** 2).sum() / (s**2).sum())
    return table, explained


def fit_projection(static: np.ndarray, teacher: np.ndarray, ridge: float = 0.1) -> np.ndarray:
    """The linear map that brings static text vectors closest to the teacher's own.

    A mean of token vectors cannot see how words combine, but much of what it gets wrong
    is linear: directions that the teacher spreads apart and the mean squeezes together.
    A ridge regression from the static vectors of real sentences (rows of ``static``) to
    the teacher's vectors of the same sentences (``teacher``) learns that correction from
    a few thousand texts; its outputs are then rotated onto their principal axes and cut
    to the static dimensions, so the map keeps the table's size and the clustering's
    cost. Returns a (static dims x static dims) matrix.
    """
    if len(static) != len(teacher):
        raise ValueError(f"{len(static)} static rows but {len(teacher)} teacher rows")
    x, y = static.astype(np.float64), teacher.astype(np.float64)
    dims = x.shape[1]
    w = np.linalg.solve(x.T @ x + ridge * np.eye(dims), x.T @ y)
    mapped = x @ w
    _, _, vt = np.linalg.svd(mapped - mapped.mean(axis=0), full_matrices=False)
    axes = vt[:dims]
    signs = np.sign(axes.sum(axis=1, keepdims=True))  # reproducible, as in distil_table
    return (w @ (axes * np.where(signs == 0, 1.0, signs)).T).astype(np.float32)


def similarity_agreement(a: np.ndarray, b: np.ndarray, pairs: int = 20_000, seed: int = 0
                         ) -> float:
    """Spearman correlation between the cosines that two embeddings give the same random
    pairs of texts: how far one ranks "these two are alike" as the other does, whatever
    their dimensions."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(len(a), size=pairs), rng.integers(len(a), size=pairs)

    def cosines(x: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(x, axis=1)
        return (x[i] * x[j]).sum(axis=1) / np.maximum(norms[i] * norms[j], 1e-12)

    ra, rb = (np.argsort(np.argsort(cosines(x))).astype(np.float64) for x in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])
