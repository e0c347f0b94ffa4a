"""The evidence the volume detector weighs for one window: each horizon's count tails,
its log-space z-score and its level, the tests a spike and a drop must pass, the records
a new anomaly must beat (``detectors.volume``'s module doc gives the reasons).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy.special import betainc, gammainc

from crisiswatch.detectors.volume_baseline import VolumeConfig, VolumeState


def count_tail(k: float, mu: float, phi: float) -> float:
    """P(X >= k) for a count X with mean ``mu`` and variance ``phi * mu``.

    Negative binomial with r = mu / (phi - 1) and success probability p = 1 / phi, so
    that P(X >= k) = I_{1-p}(k, r); Poisson (P(X >= k) = P(k, mu)) when phi is 1.

    >>> round(count_tail(10, 3.0, 1.0), 6), round(count_tail(10, 3.0, 2.0), 6)
    (0.001102, 0.019287)
    """
    if k <= 0:
        return 1.0
    mu = max(mu, 1e-6)
    if phi <= 1.0 + 1e-9:
        return float(gammainc(k, mu))
    r = mu / (phi - 1.0)
    return float(betainc(k, r, 1.0 - 1.0 / phi))


def log_ratio(count: float, expected: float) -> float:
    return math.log((count + 1.0) / (expected + 1.0))


class Horizon(NamedTuple):
    """One horizon's evidence: counts for the count model, the log-space z-score. A
    tuple, as a window makes three of them (a frozen dataclass cost as much to build as
    the tail it carries)."""

    i: int  # its place in ``cfg.horizons``
    h: int
    observed: float
    expected: float
    p_high: float  # P(sum >= observed), corrected for the horizons tried
    log_mean: float  # mean log((count + 1) / (expected + 1)) over the horizon
    log_z: float  # log_mean in sds of ordinary windows
    level: float  # mean log(count + 1): what a record is measured in
    var_phi: float = 1.0  # the variance-to-mean ratio its tails are computed with
    tries: int = 1  # horizons tried: the correction's factor

    @property
    def p_low(self) -> float:
        """P(sum <= observed), corrected likewise: computed only when a drop test gets
        that far (most windows are settled before)."""
        return min(1.0, (1.0 - count_tail(self.observed + 1, self.expected, self.var_phi))
                   * self.tries)


def horizon_tests(state: VolumeState, count: int, expected: float, support: float,
                  cfg: VolumeConfig, history: list[tuple[int, float]] | None = None
                  ) -> list[Horizon]:
    """The evidence of every horizon the history is long enough for (``history``: the
    earlier windows' counts and expectations, ``state.recent`` unless given)."""
    phi = state.dispersion(cfg)
    history = list(state.recent) if history is None else history
    usable = [(i, h) for i, h in enumerate(cfg.horizons) if h - 1 <= len(history)]
    # each earlier window's terms once, for every horizon's sums (the same sums, in
    # the same order, as summing each horizon's windows afresh)
    counts = [c for c, _ in history]
    means = [e for _, e in history]
    ratios = [log_ratio(c, e) for c, e in history]
    levels = [math.log1p(c) for c in counts]
    own_ratio, own_level = log_ratio(count, expected), math.log1p(count)
    out = []
    for i, h in usable:
        start = len(history) - (h - 1) if h > 1 else len(history)
        observed = count + sum(counts[start:])
        mu = expected + sum(means[start:])
        # The expected count is itself an estimate from ``support`` windows: its error
        # adds (h^2 / support) * phi * mu to the variance of an h-window sum, so a young
        # baseline needs stronger evidence than a mature one.
        var_phi = phi * (1.0 + h / support)
        log_mean = (own_ratio + sum(ratios[start:])) / h
        level = (own_level + sum(levels[start:])) / h
        out.append(Horizon(
            i, h, observed, mu,
            p_high=min(1.0, count_tail(observed, mu, var_phi) * len(usable)),
            log_mean=log_mean, log_z=log_mean / math.sqrt(_log_var(state, i, cfg)),
            level=level, var_phi=var_phi, tries=len(usable)))
    return out


def is_spike(t: Horizon, p_threshold: float, cfg: VolumeConfig) -> bool:
    return (t.p_high <= p_threshold and t.log_z >= cfg.min_log_z
            and t.observed >= cfg.min_lift * t.expected
            and t.observed - t.expected >= cfg.min_excess)


def is_drop(t: Horizon, p_threshold: float, cfg: VolumeConfig) -> bool:
    return (t.log_z <= -cfg.min_log_z and t.observed * cfg.min_lift <= t.expected
            and t.expected - t.observed >= cfg.min_excess and t.p_low <= p_threshold)


def record_high(state: VolumeState, t: Horizon, cfg: VolumeConfig) -> bool:
    """Busier over this horizon than any stretch as long in ``record_days`` (module doc)."""
    days = [state.today_max, *state.day_maxima] if state.today_max else state.day_maxima
    return cfg.record_days <= 0 or all(t.level > d[t.i] + cfg.record_margin for d in days)


def record_low(state: VolumeState, t: Horizon, cfg: VolumeConfig) -> bool:
    days = [state.today_min, *state.day_minima] if state.today_min else state.day_minima
    return cfg.record_days <= 0 or all(t.level < d[t.i] - cfg.record_margin for d in days)


def _log_var(state: VolumeState, i: int, cfg: VolumeConfig) -> float:
    return state.log_var[i] if i < len(state.log_var) else cfg.log_var_prior


def learn_spread(state: VolumeState, tests: list[Horizon], cfg: VolumeConfig) -> None:
    """Learn each horizon's spread of the mean log ratio from an ordinary window,
    winsorised at 4 sd so that one burst cannot widen it much."""
    if state.live_windows < cfg.cold_start_windows:
        return
    while len(state.log_var) < len(cfg.horizons):
        state.log_var.append(cfg.log_var_prior)
    # a running mean at first (the prior worth ``log_var_prior_windows``), then an
    # exponential one: a week-long memory that a new stream would take a week to fill
    state.log_var_n += 1
    a = max(cfg.log_var_alpha, 1.0 / (state.log_var_n + cfg.log_var_prior_windows))
    for t in tests:
        v = state.log_var[t.i]
        state.log_var[t.i] = v + a * (min(t.log_mean * t.log_mean, 16.0 * v) - v)


def note_records(state: VolumeState, window: int, tests: list[Horizon],
                 cfg: VolumeConfig) -> None:
    """Keep the day's extremes of each horizon's level, and those of the last days."""
    day = window * cfg.window_s // 86400
    if state.day is not None and day != state.day:
        if state.today_max:
            state.day_maxima.append(state.today_max)
            state.day_minima.append(state.today_min)
        while len(state.day_maxima) > max(cfg.record_days - 1, 0):
            state.day_maxima.popleft()
            state.day_minima.popleft()
        state.today_max, state.today_min = [], []
    state.day = day
    n = len(cfg.horizons)
    if len(tests) < n:  # too short a history for the long horizons: no record to beat
        return
    if not state.today_max:
        state.today_max, state.today_min = [-math.inf] * n, [math.inf] * n
    for t in tests:
        state.today_max[t.i] = max(state.today_max[t.i], t.level)
        state.today_min[t.i] = min(state.today_min[t.i], t.level)
