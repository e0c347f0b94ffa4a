"""The static table's linear correction towards MiniLM: what it learns, and that it is only
ever used on the table it was fitted on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crisiswatch.detectors.embeddings import StaticEmbedder, fit_projection, similarity_agreement
from crisiswatch.models import embedders
from crisiswatch.models import files as model_files
from tests.helpers.topic_data import fixture_embedder, fixture_vocab


def test_the_fitted_map_recovers_what_a_linear_distortion_hid() -> None:
    """A teacher whose vectors are a fixed linear distortion of the static ones, plus a
    little noise: the static cosines rank pairs poorly, the mapped ones as the teacher."""
    rng = np.random.default_rng(1)
    static = rng.normal(size=(3000, 32))
    distortion = rng.normal(size=(32, 48)) * np.linspace(3, 0.1, 32)[:, None]
    teacher = static @ distortion + 0.05 * rng.normal(size=(3000, 48))
    matrix = fit_projection(static[:2000], teacher[:2000])
    assert matrix.shape == (32, 32)  # the table keeps its size
    before = similarity_agreement(static[2000:], teacher[2000:])
    after = similarity_agreement(static[2000:] @ matrix, teacher[2000:])
    assert before < 0.8 and after > 0.97


def _table(tmp_path: Path, seed: int) -> Path:
    fixture = fixture_embedder(dims=16, seed=seed)
    vocab = fixture_vocab()
    path = tmp_path / f"table-{seed}.npz"
    embedders.save_table(path, fixture.vectors, vocab, {"teacher": "t", "recipe": 1, "dims": 16})
    return path


def test_a_projection_is_folded_in_only_on_the_table_it_was_fitted_on(tmp_path: Path) -> None:
    table = _table(tmp_path, seed=0)
    vectors, vocab, _ = embedders.read_table(table)
    matrix = np.linalg.qr(np.random.default_rng(2).normal(size=(16, 16)))[0].astype(np.float32)
    probe = embedders.probe_rows(vectors, {t: i for i, t in enumerate(vocab)})
    projection = tmp_path / "projection.npz"
    model_files.save_projection(projection, matrix, {"teacher": "t", "recipe": 1, "dims": 16,
                                                "probe": probe.tolist()})

    on = embedders.load_static(table, projection)
    assert on.meta["projection"] == "on"
    plain = StaticEmbedder(vectors, vocab)
    text = ["pay late signal"]
    np.testing.assert_allclose(on.embed(text), plain.embed(text) @ matrix, atol=1e-5)

    other = embedders.load_static(_table(tmp_path, seed=3), projection)  # other rows
    assert other.meta["projection"].startswith("off: fitted on a table with other rows")
    np.testing.assert_array_equal(other.vectors, embedders.read_table(tmp_path / "table-3.npz")[0])
    assert embedders.load_static(table, tmp_path / "absent.npz").meta["projection"].startswith(
        "off: no projection file")


def test_the_shipped_projection_matches_the_recipe_it_claims() -> None:
    """The file in the package: square in the default dimensions, for this recipe."""
    matrix, meta = embedders.read_projection(embedders.PROJECTION)
    assert matrix.shape == (embedders.DEFAULT_DIMS, embedders.DEFAULT_DIMS)
    assert meta["recipe"] == embedders.RECIPE and meta["teacher"] == embedders.TEACHER
    assert meta["agreement_held_out"]["with"] > meta["agreement_held_out"]["without"]
