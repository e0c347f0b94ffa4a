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
- Tweet volume is heavy-tailed: on a busy brand the count model alone calls every
  ordinary burst significant (NAB's Twitter series: dozens of false alerts a month). So a
  window must also be far out in *log* space, where a doubling means the same on a quiet
  and a busy brand: the mean of ``log((count + 1) / (expected + 1))`` over the horizon,
  divided by its own spread, learnt per horizon from the brand's ordinary windows (the
  spread of an hour's mean is not the spread of one window over the square root of 12:
  bursts come in runs). ``min_log_z`` is that z-score's threshold.
- A crisis is news because nothing like it happened lately. A new anomaly (no anomaly
  in the last ``rearm_windows``) must be a *record* at the horizon that found it: its
  mean of ``log(count + 1)`` over that horizon more than ``record_margin`` above every
  daily maximum of the same horizon's mean in the last ``record_days`` days, today's
  included (the busiest five minutes, or the busiest hour, in two weeks). Daily maxima
  are kept over all windows, so the brand's last big day sets the bar and the same size
  of burst every evening alerts once, not every day. Once an anomaly is open its
  following windows need only be significant: the gate decides what is news, not how
  long it lasts. The price: a night-time burst smaller than the brand's ordinary
  afternoon is not a volume alert (the hashtag, watch-term and tone detectors still see
  it). On NAB's Twitter series this gate is what turns hundreds of false alerts into a
  handful.
- With ``detect_drops``, the same tests run downwards: a horizon far *below* its
  expectation (p, lift, excess and log z mirrored) that is a record low against the
  daily minima is a ``drop``. Nights with no mentions at all set those minima at zero, so
  only a brand that is never quiet can drop; the flow reports it as ``silence``.
- A stream that has just started has a young baseline: it cannot tell a morning from a
  spike by the hour of the day. Until ``warmup_windows`` of live data (one day by
  default) the expected count is the larger of the seasonal guess and the stream's own
  level of the last half hour or so (``local_half_life``), the variance allows for how
  few windows that level rests on, and the p-value threshold is ``young_p_factor`` times
  stricter. So a storm in the first hour alerts inside it (after ``cold_start_windows``
  windows have shown a level at all), while a morning ramp, which doubles over hours, is
  followed by the local level. A silence longer than ``gap_reset_windows`` means the
  stream was not live (collector down, brand newly tracked), not that volume fell to
  zero: the baseline starts young again. Shorter silences are real zeros.
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
    cold_start_windows: int = 3
    local_half_life: float = 6.0  # windows: the young baseline's own recent level
    young_p_factor: float = 0.1  # p-value threshold multiplier while the baseline is young
    gap_reset_windows: int = 72
    shift_windows: int = 72
    p_threshold: float = 1e-4
    min_lift: float = 2.0
    min_excess: float = 10.0
    min_log_z: float = 2.0
    log_var_prior: float = 0.25  # of a window's log ratio: a factor of e**0.5 is one sd
    log_var_half_life: float = 2016.0  # windows: a week at 5-minute windows
    log_var_prior_windows: float = 24.0  # windows the prior is worth
    record_days: int = 14
    record_margin: float = 0.05  # in log(count + 1): about 5 % beyond the record
    detect_drops: bool = True
    rearm_windows: int = 12
    max_dispersion: float = 25.0
    winsor_sigmas: float = 3.0

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)

    @property
    def local_alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.local_half_life)

    @property
    def log_var_alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.log_var_half_life)


@dataclass(slots=True)
class VolumeState:
    """Bounded: 223 seasonal numbers, a few floats, the last ``max(horizons)`` windows and
    ``record_days`` daily maxima."""

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
    local_sum: float = 0.0  # EW sum of learnt counts and of their weights: the young
    local_weight: float = 0.0  # baseline's recent level and how many windows it rests on
    log_var: list[float] = field(default_factory=list)  # per horizon (module doc)
    log_var_n: int = 0  # windows it was learnt from
    since_anomalous: int = 1_000_000
    since_drop: int = 1_000_000
    day: int | None = None
    # per horizon, the day's extremes of the mean log(count + 1), over all its windows,
    # and those of the previous ``record_days - 1`` days
    today_max: list[float] = field(default_factory=list)
    today_min: list[float] = field(default_factory=list)
    day_maxima: deque[list[float]] = field(default_factory=deque)
    day_minima: deque[list[float]] = field(default_factory=deque)

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
        state.local_sum = state.local_weight = 0.0
    else:
        for missing in range(state.last_window + 1, window):
            _learn(state, missing, 0, state.expected(missing, cfg), cfg)
            state.since_anomalous += 1
            state.since_drop += 1
    state.last_window = window
    score = _score(state, window, count, cfg)
    levels = _levels(state, count, cfg)
    frozen = score.anomalous or score.drop
    _learn_spread(state, window, count, score.expected, cfg, frozen=frozen)
    _learn(state, window, count, score.expected, cfg, frozen=frozen)
    _note_records(state, window, levels, cfg)
    state.high_run = state.high_run + 1 if score.anomalous else 0
    state.since_anomalous = 0 if score.anomalous else state.since_anomalous + 1
    state.since_drop = 0 if score.drop else state.since_drop + 1
    if state.high_run >= cfg.shift_windows:
        _accept_new_level(state)
    return score


def _log_ratio(count: float, expected: float) -> float:
    return math.log((count + 1.0) / (expected + 1.0))


def _young_expected(state: VolumeState, window: int, cfg: VolumeConfig) -> tuple[float, float]:
    """The expected count and the windows it rests on: the seasonal guess, or while the
    baseline is young the larger of it and the stream's own recent level (module doc)."""
    expected = state.expected(window, cfg)
    hour, _ = _slot(window, cfg)
    if state.live_windows >= cfg.warmup_windows:
        return expected, max(min(state.hourly_seen[hour], 1.0 / cfg.hourly_rate), 1.0)
    local = state.local_sum / state.local_weight if state.local_weight > 0 else 0.0
    support = max(min(state.hourly_seen[hour], state.local_weight), 1.0)
    return max(expected, local), support


@dataclass(frozen=True, slots=True)
class _Horizon:
    """One horizon's evidence: counts for the count model, the log-space z-score."""

    i: int  # its place in ``cfg.horizons``
    h: int
    observed: float
    expected: float
    p_high: float  # P(sum >= observed), corrected for the horizons tried
    p_low: float  # P(sum <= observed), likewise
    log_z: float
    level: float  # mean log(count + 1): what a record is measured in


def _horizons(state: VolumeState, count: int, expected: float, support: float,
              cfg: VolumeConfig) -> list[_Horizon]:
    phi = state.dispersion(cfg)
    history = list(state.recent)
    usable = [(i, h) for i, h in enumerate(cfg.horizons) if h - 1 <= len(history)]
    out = []
    for i, h in usable:
        earlier = history[len(history) - (h - 1):] if h > 1 else []
        observed = count + sum(c for c, _ in earlier)
        mu = expected + sum(e for _, e in earlier)
        # The expected count is itself an estimate from ``support`` windows: its error
        # adds (h^2 / support) * phi * mu to the variance of an h-window sum, so a young
        # baseline needs stronger evidence than a mature one.
        var_phi = phi * (1.0 + h / support)
        log_mean = (_log_ratio(count, expected) +
                    sum(_log_ratio(c, e) for c, e in earlier)) / h
        level = (math.log1p(count) + sum(math.log1p(c) for c, _ in earlier)) / h
        out.append(_Horizon(
            i, h, observed, mu,
            p_high=min(1.0, count_tail(observed, mu, var_phi) * len(usable)),
            p_low=min(1.0, (1.0 - count_tail(observed + 1, mu, var_phi)) * len(usable)),
            log_z=log_mean / math.sqrt(_log_var(state, i, cfg)), level=level))
    return out


def _spike(t: _Horizon, p_threshold: float, cfg: VolumeConfig) -> bool:
    return (t.p_high <= p_threshold and t.log_z >= cfg.min_log_z
            and t.observed >= cfg.min_lift * t.expected
            and t.observed - t.expected >= cfg.min_excess)


def _drop(t: _Horizon, p_threshold: float, cfg: VolumeConfig) -> bool:
    return (t.p_low <= p_threshold and t.log_z <= -cfg.min_log_z
            and t.observed * cfg.min_lift <= t.expected
            and t.expected - t.observed >= cfg.min_excess)


def _record_high(state: VolumeState, t: _Horizon, cfg: VolumeConfig) -> bool:
    """Busier over this horizon than any stretch as long in ``record_days`` (module doc)."""
    days = [state.today_max, *state.day_maxima] if state.today_max else state.day_maxima
    return cfg.record_days <= 0 or all(t.level > d[t.i] + cfg.record_margin for d in days)


def _record_low(state: VolumeState, t: _Horizon, cfg: VolumeConfig) -> bool:
    days = [state.today_min, *state.day_minima] if state.today_min else state.day_minima
    return cfg.record_days <= 0 or all(t.level < d[t.i] - cfg.record_margin for d in days)


def _score(state: VolumeState, window: int, count: int, cfg: VolumeConfig) -> VolumeScore:
    warming_up = state.live_windows < cfg.warmup_windows
    expected, support = _young_expected(state, window, cfg)
    tests = _horizons(state, count, expected, support, cfg) or \
        [_Horizon(0, 1, count, expected, 1.0, 1.0, 0.0, math.log1p(count))]
    p_threshold = cfg.p_threshold * (cfg.young_p_factor if warming_up else 1.0)
    can_alert = state.live_windows >= cfg.cold_start_windows
    spike_open = state.since_anomalous <= cfg.rearm_windows
    drop_open = state.since_drop <= cfg.rearm_windows

    def spike(t: _Horizon) -> bool:
        return _spike(t, p_threshold, cfg) and (spike_open or _record_high(state, t, cfg))

    # the strongest horizon that passes every test, else the most surprising one
    best = max(tests, key=lambda t: (spike(t), -t.p_high))
    anomalous = can_alert and spike(best)
    drops = [t for t in tests if _drop(t, p_threshold, cfg)
             and (drop_open or _record_low(state, t, cfg))] \
        if cfg.detect_drops and can_alert and not anomalous else []
    if drops:  # the score then describes the drop: its horizon, its lower tail
        best = min(drops, key=lambda t: t.p_low)
    p_value = best.p_low if drops else best.p_high
    lift = best.observed / best.expected if best.expected > 0 else math.inf
    return VolumeScore(
        observed=count,
        expected=round(expected, 4),
        horizon=best.h,
        horizon_observed=int(best.observed),
        horizon_expected=round(best.expected, 4),
        p_value=p_value,
        surprise=round(-math.log10(max(p_value, 1e-300)), 3),
        lift=round(lift, 3) if math.isfinite(lift) else 1e9,
        anomalous=anomalous,
        warming_up=warming_up,
        log_z=round(best.log_z, 3),
        drop=bool(drops),
    )


def _log_var(state: VolumeState, i: int, cfg: VolumeConfig) -> float:
    return state.log_var[i] if i < len(state.log_var) else cfg.log_var_prior


def _learn_spread(state: VolumeState, window: int, count: int, expected: float,
                  cfg: VolumeConfig, frozen: bool) -> None:
    """Learn each horizon's spread of the mean log ratio from ordinary windows,
    winsorised at 4 sd so that one burst cannot widen it much."""
    if frozen or state.live_windows < cfg.cold_start_windows:
        return
    while len(state.log_var) < len(cfg.horizons):
        state.log_var.append(cfg.log_var_prior)
    history = list(state.recent)
    # a running mean at first (the prior worth ``log_var_prior_windows``), then an
    # exponential one: a week-long memory that a new stream would take a week to fill
    state.log_var_n += 1
    a = max(cfg.log_var_alpha, 1.0 / (state.log_var_n + cfg.log_var_prior_windows))
    for i, h in enumerate(cfg.horizons):
        if h - 1 > len(history):
            continue
        earlier = history[len(history) - (h - 1):] if h > 1 else []
        m = (_log_ratio(count, expected) + sum(_log_ratio(c, e) for c, e in earlier)) / h
        v = state.log_var[i]
        state.log_var[i] = v + a * (min(m * m, 16.0 * v) - v)


def _levels(state: VolumeState, count: int, cfg: VolumeConfig) -> list[float]:
    """Mean log(count + 1) over each horizon that ends at this window (the horizons
    longer than the history so far are left out)."""
    history = [c for c, _ in state.recent]
    out = []
    for h in cfg.horizons:
        if h - 1 > len(history):
            break
        tail = history[len(history) - (h - 1):] if h > 1 else []
        out.append((math.log1p(count) + sum(math.log1p(c) for c in tail)) / h)
    return out


def _note_records(state: VolumeState, window: int, levels: list[float],
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
    if len(levels) < n:  # too short a history for the long horizons: no record to beat
        return
    if not state.today_max:
        state.today_max, state.today_min = [-math.inf] * n, [math.inf] * n
    for i, v in enumerate(levels):
        state.today_max[i] = max(state.today_max[i], v)
        state.today_min[i] = min(state.today_min[i], v)


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
    local_decay = 1.0 - cfg.local_alpha
    state.local_sum = local_decay * state.local_sum + x
    state.local_weight = local_decay * state.local_weight + 1.0
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
