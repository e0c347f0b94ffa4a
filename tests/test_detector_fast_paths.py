"""The detectors' fast paths answer exactly as the plain code they stand for.

Per closed window, the detectors' cost is mostly what they learn between windows: the
gap of quiet windows the volume baseline learns as zeros, the decay of the term
background. Those paths are written for speed (``bench.detectors`` measures them);
these tests hold them to the straightforward definition, bit for bit where the fast
path does the same arithmetic, to rounding where it reorders it.
"""

from __future__ import annotations

import copy
import math
import random

import pytest

from crisiswatch.detectors import volume
from crisiswatch.detectors.background import REBASE, Background, BackgroundConfig
from crisiswatch.detectors.volume_baseline import VolumeConfig, VolumeState, learn, learn_zeros


def _state_after(series: list[tuple[int, int]], cfg: VolumeConfig) -> VolumeState:
    state = VolumeState()
    for window, count in series:
        volume.update(state, window, count, cfg)
    return state


def _fields(state: VolumeState) -> dict[str, object]:
    return {name: copy.deepcopy(getattr(state, name)) for name in VolumeState.__slots__}


@pytest.mark.parametrize(("seed", "windows"), [(1, 40), (2, 300), (3, 2500)])
def test_learning_a_gap_at_once_equals_learning_each_zero(seed: int, windows: int) -> None:
    """Young (< warm-up) and mature baselines, gaps across hours, days and week slots."""
    rng = random.Random(seed)
    cfg = VolumeConfig()
    series, w = [], 10_000
    while len(series) < windows:
        w += 1 + (rng.randrange(1, 40) if rng.random() < 0.3 else 0)
        series.append((w, rng.randrange(0, 60)))
    state = _state_after(series, cfg)
    for gap in (1, 7, 13, 71):
        one, each = copy.deepcopy(state), copy.deepcopy(state)
        first = state.last_window + 1
        learn_zeros(one, first, first + gap, cfg)
        for missing in range(first, first + gap):
            learn(each, missing, 0, each.expected(missing, cfg), cfg)
        assert _fields(one) == _fields(each), gap


def _eager(windows: list[tuple[int, dict[str, int]]], cfg: BackgroundConfig
           ) -> dict[str, float]:
    """The background decayed eagerly, every term at every window: the definition."""
    weights: dict[str, float] = {}
    last = None
    for window, counts in windows:
        if last is not None:
            weights = {t: v * cfg.keep ** (window - last) for t, v in weights.items()}
        last = window
        for term, n in counts.items():
            weights[term] = weights.get(term, 0.0) + n
        if len(weights) > cfg.capacity * 5 // 4:
            weights = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
                           [:cfg.capacity])
    return weights


@pytest.mark.parametrize("half_life", [576.0, 0.5])  # 0.5: rescaled every few windows
def test_the_lazily_decayed_background_equals_the_eager_one(half_life: float) -> None:
    cfg = BackgroundConfig(half_life_windows=half_life, capacity=32)
    rng = random.Random(7)
    vocabulary = [f"t{i}" for i in range(120)]
    windows, w = [], 0
    for _ in range(400):
        w += rng.choice((1, 1, 2, 30))
        windows.append((w, {t: rng.randrange(1, 5) for t in rng.sample(vocabulary, 6)}))
    lazy = Background()
    for window, counts in windows:
        lazy.learn(window, counts, cfg)
    eager = _eager(windows, cfg)
    assert set(lazy.weights) == set(eager)
    for term, value in eager.items():
        assert math.isclose(lazy.weight(term, cfg), value, rel_tol=1e-9), term
    assert lazy.weight("never-seen", cfg) == 0.0
    # 0.25 a window over thousands of windows: without rescaling, the stored weights
    # would have overflowed (4 ** 600 is past a float's range)
    assert all(math.isfinite(v) and v < 10 * REBASE for v in lazy.weights.values())
