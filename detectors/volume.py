"""Online seasonal volume baseline per brand, scored with an overdispersed count model.

Why this shape:
- Mention volume follows the audience's day (and week): a baseline that ignores it pages
  people every morning. The expected count of a window is
  ``seasonal * adjust``. ``seasonal`` starts as a slow mean count for each hour of the
  day (a running mean until the hour has been seen a few times, so one day is enough to
  know the cycle) times a weekday factor (kept at mean 1), and moves towards the mean of
  each hour of the week as weeks of data arrive (Saturday night is not Tuesday night
  times a constant); ``adjust`` is a faster ratio of recent counts to those seasonal
  means, which follows level changes within hours. The ratio is a
  ratio of exponentially weighted sums, so the busy hours weigh more than the noisy night.
- Counts are at least Poisson-noisy and usually more (bursty authors, retweets), so the
  variance is ``phi * expected`` with a dispersion ``phi >= 1`` learnt online (and
  widened while the hour's mean rests on few observations); the tail
  probability comes from the negative binomial with that mean and variance. The score is
  that tail probability, so it has a stated meaning: ``surprise = -log10(p)`` means "a
  count this high is expected once in 10**surprise windows if nothing is happening".
- A crisis can show as one very busy window or as an hour of steadily doubled volume, so
  the count is tested over several horizons (the current window and sums over the last
  few) and the smallest p-value is Bonferroni-corrected for the horizons tried.
- Significance alone is not enough on a busy brand (a 10 % rise over 10,000 mentions is
  "significant"), nor on a quiet one (3 mentions instead of 0.2): an alert also needs a
  minimum lift and a minimum excess count.
- A stream that has just started has no baseline and cannot tell a morning from a spike:
  no alert until ``warmup_windows`` of live data (one day by default). A silence longer
  than ``gap_reset_windows`` means the stream was not live (collector down, brand newly
  tracked), not that volume fell to zero: the baseline warms up again. Shorter silences
  are real zeros and are learnt as such.
- The baseline does not learn from anomalous windows (an incident must not become its
  own baseline) and learns from winsorised counts otherwise, so a spike barely moves it;
  but after ``shift_windows`` anomalous windows in a row the new level is taken as the
  new normal, so a lasting level shift stops alerting.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field

from scipy.special import betainc, gammainc

from detectors.types import VolumeScore

HOURS, WEEKDAYS = 24, 7
WEEK_HOURS = HOURS * WEEKDAYS


@dataclass(frozen=True)
class VolumeConfig:
    window_s: int = 300
    horizons: tuple[int, ...] = (1, 3, 12)
    half_life_windows: float = 72.0  # of ``adjust``, the recent-level ratio
    hourly_rate: float = 0.012  # per window of that hour: about a week of memory
    weekly_rate: float = 0.002
    week_hour_rate: float = 0.25  # per week, once a slot has 4 weeks: about 4 weeks of memory
    week_hour_prior: float = 1.0  # weeks of an hour of the week worth the daily guess
    warmup_windows: int = 288
    gap_reset_windows: int = 72
    shift_windows: int = 72
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
    """Bounded: 223 seasonal numbers, a few floats and the last ``max(horizons)`` windows."""

    last_window: int | None = None
    live_windows: int = 0
    high_run: int = 0
    mean: float = 0.0  # running mean count per window: the guess for an hour not yet seen
    hourly: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    hourly_seen: list[int] = field(default_factory=lambda: [0] * HOURS)
    weekly: list[float] = field(default_factory=lambda: [1.0] * WEEKDAYS)
    week_hours: array[float] = field(default_factory=lambda: array("d", [0.0] * WEEK_HOURS))
    week_hours_seen: array[int] = field(default_factory=lambda: array("l", [0] * WEEK_HOURS))
    # The hour of the week being observed now: folded into ``week_hours`` when it ends,
    # so an anomaly never raises its own expectation.
    visit_slot: int = -1
    visit_sum: float = 0.0
    visit_windows: int = 0
    recent_actual: float = 0.0  # EW sum of counts ...
    recent_seasonal: float = 0.0  # ... and of their seasonal means: adjust = the ratio
    dispersion_ew: float = 1.0
    recent: deque[tuple[int, float]] = field(default_factory=deque)  # (count, expected)

    def dispersion(self, cfg: VolumeConfig) -> float:
        """Variance-to-mean ratio of the counts around the baseline, at least Poisson's 1."""
        return min(max(1.0, self.dispersion_ew), cfg.max_dispersion)

    @property
    def adjust(self) -> float:
        if self.recent_seasonal <= 0:
            return 1.0
        return self.recent_actual / self.recent_seasonal

    def seasonal(self, window: int, cfg: VolumeConfig) -> float:
        """Shrinks the hour of the week's own mean towards the daily guess, by how many
        weeks of that hour have been seen (an empirical Bayes blend)."""
        hour, weekday = _slot(window, cfg)
        daily = (self.hourly[hour] if self.hourly_seen[hour] else self.mean) * \
            self.weekly[weekday]
        slot = weekday * HOURS + hour
        n = self.week_hours_seen[slot]
        if n == 0:
            return daily
        k = cfg.week_hour_prior
        return (n * self.week_hours[slot] + k * daily) / (n + k)

    def expected(self, window: int, cfg: VolumeConfig) -> float:
        return self.seasonal(window, cfg) * self.adjust


def _slot(window: int, cfg: VolumeConfig) -> tuple[int, int]:
    t = window * cfg.window_s
    return int(t // 3600) % HOURS, int(t // 86400 + 3) % WEEKDAYS  # 1970-01-01 was a Thursday


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
        return _score(state, window, count, cfg)  # a re-emitted window: score, learn nothing
    gap = 0 if state.last_window is None else window - state.last_window - 1
    if state.last_window is None or gap >= cfg.gap_reset_windows:
        state.live_windows = 0
        state.high_run = 0
        state.recent.clear()
    else:
        for missing in range(state.last_window + 1, window):
            _learn(state, missing, 0, state.expected(missing, cfg), cfg)
    state.last_window = window
    score = _score(state, window, count, cfg)
    _learn(state, window, count, score.expected, cfg, frozen=score.anomalous)
    state.high_run = state.high_run + 1 if score.anomalous else 0
    if state.high_run >= cfg.shift_windows:
        _accept_new_level(state)
    return score


def _score(state: VolumeState, window: int, count: int, cfg: VolumeConfig) -> VolumeScore:
    warming_up = state.live_windows < cfg.warmup_windows
    expected = state.expected(window, cfg)
    phi = state.dispersion(cfg)
    # The expected count is itself an estimate, from ``m`` windows of this hour: its error
    # adds (h^2 / m) * phi * mu to the variance of an h-window sum, so a young baseline
    # (a brand's second day) needs stronger evidence than a mature one.
    hour, _ = _slot(window, cfg)
    m = max(min(state.hourly_seen[hour], 1.0 / cfg.hourly_rate), 1.0)
    history = list(state.recent)
    best = (1.0, 1, count, expected)
    tried = 0
    for h in cfg.horizons:
        if h - 1 > len(history):
            continue
        tried += 1
        earlier = history[len(history) - (h - 1):] if h > 1 else []
        observed = count + sum(c for c, _ in earlier)
        mu = expected + sum(e for _, e in earlier)
        p = count_tail(observed, mu, phi * (1.0 + h / m))
        if p < best[0]:
            best = (p, h, observed, mu)
    p_raw, horizon, h_obs, h_exp = best
    p_value = min(1.0, p_raw * max(tried, 1))
    lift = h_obs / h_exp if h_exp > 0 else math.inf
    anomalous = (
        not warming_up
        and p_value <= cfg.p_threshold
        and lift >= cfg.min_lift
        and h_obs - h_exp >= cfg.min_excess
    )
    return VolumeScore(
        observed=count,
        expected=round(expected, 4),
        horizon=horizon,
        horizon_observed=int(h_obs),
        horizon_expected=round(h_exp, 4),
        p_value=p_value,
        surprise=round(-math.log10(max(p_value, 1e-300)), 3),
        lift=round(lift, 3) if math.isfinite(lift) else 1e9,
        anomalous=anomalous,
        warming_up=warming_up,
    )


def _learn(state: VolumeState, window: int, count: int, expected: float,
           cfg: VolumeConfig, frozen: bool = False) -> None:
    """Learn one window; a ``frozen`` (anomalous) window is only remembered for the
    horizon sums: an incident must not teach the baseline that it is normal."""
    n = state.live_windows
    state.live_windows = n + 1
    state.recent.append((count, expected))
    if len(state.recent) > max(cfg.horizons) - 1:
        state.recent.popleft()
    if frozen:
        return
    x = float(count)
    if n >= cfg.warmup_windows:  # a spike must barely move the baseline
        sd = math.sqrt(state.dispersion(cfg) * max(expected, 1.0))
        x = min(x, expected + cfg.winsor_sigmas * sd)
    if n > 0:  # the first window has no baseline to be dispersed around
        ratio = (x - expected) ** 2 / max(expected, 0.5)
        state.dispersion_ew += cfg.alpha * (ratio - state.dispersion_ew)
    hour, weekday = _slot(window, cfg)
    seasonal = state.seasonal(window, cfg)
    decay = 1.0 - cfg.alpha
    state.recent_actual = decay * state.recent_actual + x
    state.recent_seasonal = decay * state.recent_seasonal + seasonal
    state.mean += (x - state.mean) / min(n + 1, cfg.warmup_windows)
    adjust = state.adjust
    seen = state.hourly_seen[hour]
    target = x / max(adjust * state.weekly[weekday], 1e-6)
    state.hourly[hour] += (target - state.hourly[hour]) * max(cfg.hourly_rate, 1.0 / (seen + 1))
    state.hourly_seen[hour] = min(seen + 1, 1_000_000)
    slot = weekday * HOURS + hour
    if slot != state.visit_slot:
        _end_visit(state, cfg)
        state.visit_slot = slot
    state.visit_sum += x / max(adjust, 1e-6)
    state.visit_windows += 1
    if expected > 0:
        _nudge(state.weekly, weekday, cfg.weekly_rate * (x - expected) / max(expected, 1.0))


def _end_visit(state: VolumeState, cfg: VolumeConfig) -> None:
    """Fold the hour of the week just observed into that slot's mean (one week's worth)."""
    slot = state.visit_slot
    if slot < 0 or state.visit_windows == 0:
        return
    weeks = state.week_hours_seen[slot]
    mean = state.visit_sum / state.visit_windows
    rate = max(cfg.week_hour_rate, 1.0 / (weeks + 1))
    state.week_hours[slot] += (mean - state.week_hours[slot]) * rate
    state.week_hours_seen[slot] = min(weeks + 1, 1_000_000)
    state.visit_sum, state.visit_windows = 0.0, 0


def _nudge(factors: list[float], i: int, step: float) -> None:
    """Move one weekday factor and keep their mean at 1 (the hourly means hold the scale)."""
    factors[i] = min(max(factors[i] + step, 0.05), 20.0)
    mean = sum(factors) / len(factors)
    for j in range(len(factors)):
        factors[j] /= mean


def _accept_new_level(state: VolumeState) -> None:
    """Hours above the band are a new normal, not a crisis: move the level to it."""
    actual = sum(c for c, _ in state.recent)
    expected = sum(e for _, e in state.recent)
    if expected > 0:
        state.recent_actual *= actual / expected
    state.high_run = 0
