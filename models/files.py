"""The static table's and the projection's files: one ``.npz`` each, with no pickled
objects (NumPy arrays and a JSON description), readable with numpy alone.

A table is stored as float16 rows (a rebuild in the cache) or, compact, as int8 rows
with one scale each (the shipped table, ``crisiswatch models build --ship``): half of
float16's bytes for rows whose cosine with the float32 rows is above 0.9999.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from crisiswatch.detectors.embeddings import UNK


class ModelUnavailable(Exception):
    """A backend that cannot be used here; the message says why and what to do."""


def save_npz(path: Path, meta: dict[str, Any], compress: bool = False,
             **arrays: np.ndarray) -> None:
    """One .npz with no pickled objects (``meta`` as JSON bytes); written beside and
    renamed, so that a write cut short never leaves a half file that the next run loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    save = np.savez_compressed if compress else np.savez
    save(tmp, **arrays, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    os.replace(tmp, path)


def npz_meta(z: Any) -> dict[str, Any]:
    return json.loads(z["meta"].tobytes().decode())


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and one scale each (a row's largest magnitude maps to 127): a table's
    rows differ in length by their SIF weight, so one scale for all would waste bits."""
    scales = np.abs(vectors).max(axis=1) / 127.0
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    return np.round(vectors / safe).astype(np.int8), scales.astype(np.float32)


def dequantize(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return rows.astype(np.float32) * scales[:, None]


def row_cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and smallest cosine between the rows of ``a`` and ``b`` (zero rows left out)."""
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    keep = norms > 0
    cos = (a[keep] * b[keep]).sum(axis=1) / norms[keep]
    return float(cos.mean()), float(cos.min())


def save_table(path: Path, vectors: np.ndarray, vocab: list[str], meta: dict[str, Any],
               compact: bool = False) -> None:
    """float16 rows, or (``compact``) int8 rows and their scales, compressed."""
    words = np.frombuffer("\n".join(vocab).encode(), np.uint8)
    if compact:
        rows, scales = quantize(vectors)
        save_npz(path, meta, compress=True, rows=rows, scales=scales, vocab=words)
    else:
        save_npz(path, meta, vectors=vectors.astype(np.float16), vocab=words)


def read_table(path: Path) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    with np.load(path, allow_pickle=False) as z:
        vectors = (dequantize(z["rows"], z["scales"]) if "rows" in z.files
                   else z["vectors"].astype(np.float32))
        vocab = z["vocab"].tobytes().decode().split("\n")
        meta = npz_meta(z)
    if UNK not in vocab:
        raise ModelUnavailable(f"{path} is not a static table (no {UNK} token)")
    return vectors, vocab, meta


def save_projection(path: Path, matrix: np.ndarray, meta: dict[str, Any]) -> None:
    save_npz(path, meta, matrix=matrix.astype(np.float32))


def read_projection(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    with np.load(path, allow_pickle=False) as z:
        return z["matrix"], npz_meta(z)
