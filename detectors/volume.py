"""Online volume baseline per brand, scored with an overdispersed count model.

Why this shape:
- Counts of mentions are at least Poisson-noisy and usually more (bursty authors,
  retweets), so the variance is ``phi * mu`` with a dispersion ``phi >= 1`` learned
  online; the tail probability then comes from the negative binomial with that mean and
  variance (Poisson when ``phi == 1``). The score is that tail probability, so it has a
  stated meaning: ``surprise = -log10(p)`` means "a count this high is expected once in
  10**surprise windows if nothing is happening".
- A crisis can show as one very busy window or as an hour of steadily doubled volume,
  so the count is tested over several horizons (the current window and sums over the
  last few) and the smallest p-value is Bonferroni-corrected for the horizons tried.
- Statistical significance is not enough on a busy brand (a 10 % rise over 10,000
  mentions is "significant"), nor on a quiet one (3 mentions instead of 0.2): an alert
  also needs a minimum lift and a minimum excess count.
- A stream that has just started has no baseline: no alert until ``warmup_windows`` of
  live data. A silence longer than ``gap_reset_windows`` means the stream was not live
  (collector down, brand newly tracked), not that volume fell to zero: the baseline
  warms up again. Shorter silences are real zeros and are learnt as such.
- The baseline learns from a winsorised count, so a spike barely moves it, while a
  lasting new level still pulls it up window by window until it stops alerting.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from scipy.special import betainc, gammainc

from detectors.types import VolumeScore


@dataclass(frozen=True)
class VolumeConfig:
    window_s: int = 300
    horizons: tuple[int, ...] = (1, 3, 12)
    half_life_windows: float = 36.0
    warmup_windows: int = 72
    gap_reset_windows: int = 72
    p_threshold: float = 1e-5
    min_lift: float = 2.0
    min_excess: float = 10.0
    max_dispersion: float = 25.0
    winsor_sigmas: float = 3.0

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)


@dataclass(slots=True)
class VolumeState:
    """Bounded: a few floats and the last ``max(horizons)`` counts, whatever the stream."""

    last_window: int | None = None
    level: float = 0.0
    var: float = 0.0
    live_windows: int = 0
    recent: deque[int] = field(default_factory=deque)

    @property
    def dispersion(self) -> float:
        """Variance-to-mean ratio of the counts, floored at Poisson's 1."""
        if self.level <= 0.0:
            return 1.0
        return max(1.0, self.var / self.level)


def count_tail(k: float, mu: float, phi: float) -> float:
    """P(X >= k) for a count X with mean ``mu`` and variance ``phi * mu``.

    Negative binomial with r = mu / (phi - 1) and success probability p = 1 / phi, so
    that P(X >= k) = I_{1-p}(k, r); Poisson (P(X >= k) = P(k, mu)) when phi is 1.
    """
    if k <= 0:
        return 1.0
    mu = max(mu, 1e-6)
    if phi <= 1.0 + 1e-9:
        return float(gammainc(k, mu))
    r = mu / (phi - 1.0)
    return float(betainc(k, r, 1.0 - 1.0 / phi))


def update(state: VolumeState, window: int, count: int, cfg: VolumeConfig) -> VolumeScore:
    """Score ``count`` for window index ``window``, then learn from it.

    Windows must arrive in increasing order per brand; windows without mentions are not
    emitted by the flow, so the gap between two calls is filled with zeros here.
    """
    if state.last_window is not None and window <= state.last_window:
        return _score(state, count, cfg, learn=False)
    gap = 0 if state.last_window is None else window - state.last_window - 1
    if state.last_window is None or gap >= cfg.gap_reset_windows:
        state.live_windows = 0
        state.recent.clear()
    else:
        for _ in range(gap):
            _learn(state, 0, cfg)
            _remember(state, 0, cfg)
    state.last_window = window
    return _score(state, count, cfg, learn=True)


def _score(state: VolumeState, count: int, cfg: VolumeConfig, learn: bool) -> VolumeScore:
    warming_up = state.live_windows < cfg.warmup_windows
    level, phi = state.level, min(state.dispersion, cfg.max_dispersion)
    history = list(state.recent)
    best = (1.0, 1, count, level)
    tried = 0
    for h in cfg.horizons:
        if h - 1 > len(history):
            continue
        tried += 1
        observed = count + sum(history[len(history) - (h - 1):]) if h > 1 else count
        expected = level * h
        p = count_tail(observed, expected, phi)
        if p < best[0]:
            best = (p, h, observed, expected)
    p_raw, horizon, h_obs, h_exp = best
    p_value = min(1.0, p_raw * max(tried, 1))
    lift = h_obs / h_exp if h_exp > 0 else math.inf
    anomalous = (
        not warming_up
        and p_value <= cfg.p_threshold
        and lift >= cfg.min_lift
        and h_obs - h_exp >= cfg.min_excess
    )
    score = VolumeScore(
        observed=count,
        expected=round(level, 4),
        horizon=horizon,
        horizon_observed=int(h_obs),
        horizon_expected=round(h_exp, 4),
        p_value=p_value,
        surprise=round(-math.log10(max(p_value, 1e-300)), 3),
        lift=round(lift, 3) if math.isfinite(lift) else 1e9,
        anomalous=anomalous,
        warming_up=warming_up,
    )
    if learn:
        _learn(state, count, cfg)
        _remember(state, count, cfg)
    return score


def _learn(state: VolumeState, count: int, cfg: VolumeConfig) -> None:
    """Exponentially weighted mean and variance; a plain running mean while warming up."""
    n = state.live_windows
    alpha = max(cfg.alpha, 1.0 / (n + 1))
    x = float(count)
    if n >= cfg.warmup_windows:
        sd = math.sqrt(state.dispersion * max(state.level, 1.0))
        x = min(x, state.level + cfg.winsor_sigmas * sd)
    delta = x - state.level
    state.level += alpha * delta
    state.var = (1.0 - alpha) * (state.var + alpha * delta * delta)
    state.live_windows = n + 1


def _remember(state: VolumeState, count: int, cfg: VolumeConfig) -> None:
    """Keep the counts that the longest horizon sums besides the current window."""
    state.recent.append(count)
    if len(state.recent) > max(cfg.horizons) - 1:
        state.recent.popleft()
