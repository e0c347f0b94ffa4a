"""The seasonal baseline of the volume detector: a brand's expected count per window and
how it is learnt (``detectors.volume``'s module doc says why it has this shape).

Its own module because it is the part that *learns*; ``volume_evidence`` is the part that
*judges* a window against it, and ``volume.update`` puts the two together.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field

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
    lagged_min_level: float = 1.0  # mentions a window in the hour before, for a second opinion
    young_rise_p: float = 1e-3  # ... its p-value and lift, paging only with a turn of tone
    young_rise_lift: float = 1.5
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
    # While young, the counts of the last 2 x max(horizons) windows learnt, and the sum
    # and number of those before them: the hour before the one being tested and the
    # stream's earlier level (``lagged_expected``)
    young_counts: deque[float] = field(default_factory=deque)
    young_sum: float = 0.0
    young_n: int = 0
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
        hour, weekday = hour_and_weekday(window, cfg)
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


def hour_and_weekday(window: int, cfg: VolumeConfig) -> tuple[int, int]:
    t = window * cfg.window_s
    return int(t // 3600) % HOURS, int(t // 86400 + 3) % WEEKDAYS  # 1970-01-01 was a Thursday


def young_expected(state: VolumeState, window: int, cfg: VolumeConfig) -> tuple[float, float]:
    """The expected count and the windows it rests on: the seasonal guess, or while the
    baseline is young the larger of it and the stream's own recent level (module doc)."""
    expected = state.expected(window, cfg)
    hour, _ = hour_and_weekday(window, cfg)
    if state.live_windows >= cfg.warmup_windows:
        return expected, max(min(state.hourly_seen[hour], 1.0 / cfg.hourly_rate), 1.0)
    local = state.local_sum / state.local_weight if state.local_weight > 0 else 0.0
    support = max(min(state.hourly_seen[hour], state.local_weight), 1.0)
    return max(expected, local), support


def lagged_expected(state: VolumeState, window: int, cfg: VolumeConfig) -> float | None:
    """A young stream's second opinion (None: none to give): the hour before the one
    being tested, plus its rise over the stream's earlier level.

    The young baseline follows the stream's level of the last half hour, so a rise
    within the hour explains itself away: a stream a few hours old going from 50 to 130
    mentions an hour expects 90 half an hour in. Judged against the hour before, that
    rise is news, while a morning ramp, which was rising an hour ago too, is expected to
    go on rising. Only for an hour of the day never seen before (a stream that resumed
    after a night's silence knows this hour from earlier days), and from an hour with a
    level of its own (``lagged_min_level``): from a night's trickle, the morning is a
    rise of ten times, and no crisis."""
    span = max(cfg.horizons)
    counts = state.young_counts
    if state.live_windows >= cfg.warmup_windows or len(counts) < 2 * span:
        return None
    hour, weekday = hour_and_weekday(window, cfg)
    this_visit = state.visit_windows if state.visit_slot == weekday * HOURS + hour else 0
    if state.hourly_seen[hour] - this_visit >= span:
        return None
    before = sum(list(counts)[:span]) / span
    if before < cfg.lagged_min_level:  # a night's trickle is no level to rise from
        return None
    earlier = state.young_sum / state.young_n if state.young_n else before
    return before + max(before - earlier, 0.0)


def forget_young(state: VolumeState) -> None:
    """The young baseline's own memory, emptied when the stream matures or restarts."""
    state.young_counts.clear()
    state.young_sum, state.young_n = 0.0, 0


def learn(state: VolumeState, window: int, count: int, expected: float,
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
    hour, weekday = hour_and_weekday(window, cfg)
    seasonal = state.seasonal(window, cfg)
    decay = 1.0 - cfg.alpha
    state.recent_actual = decay * state.recent_actual + x
    local_decay = 1.0 - cfg.local_alpha
    state.local_sum = local_decay * state.local_sum + x
    state.local_weight = local_decay * state.local_weight + 1.0
    if n < cfg.warmup_windows:
        state.young_counts.append(x)
        if len(state.young_counts) > 2 * max(cfg.horizons):
            state.young_sum += state.young_counts.popleft()
            state.young_n += 1
    elif state.young_counts:
        forget_young(state)
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


def learn_zeros(state: VolumeState, first: int, stop: int, cfg: VolumeConfig) -> None:
    """Learn the windows ``first .. stop - 1`` as zeros (each at its own expectation):
    what ``learn(state, w, 0, state.expected(w, cfg), cfg)`` does for each of them, to
    the last bit, in one loop over local variables. The flow emits no window without
    mentions, so a quiet brand's every window learns a gap of them first: this loop is
    most of what the volume detector costs. tests/test_detector_fast_paths.py holds it to
    ``learn``."""
    warmup, hourly_rate, k = cfg.warmup_windows, cfg.hourly_rate, cfg.week_hour_prior
    alpha, local_alpha, weekly_rate = cfg.alpha, cfg.local_alpha, cfg.weekly_rate
    decay, local_decay, kept = 1.0 - alpha, 1.0 - local_alpha, max(cfg.horizons) - 1
    hourly, hourly_seen, weekly = state.hourly, state.hourly_seen, state.weekly
    week_hours, week_hours_seen, recent = state.week_hours, state.week_hours_seen, state.recent
    recent_actual, recent_seasonal = state.recent_actual, state.recent_seasonal
    local_sum, local_weight = state.local_sum, state.local_weight
    dispersion_ew, mean, n = state.dispersion_ew, state.mean, state.live_windows
    young, young_span = state.young_counts, 2 * max(cfg.horizons)
    x = 0.0
    for window in range(first, stop):
        t = window * cfg.window_s
        hour, weekday = int(t // 3600) % HOURS, int(t // 86400 + 3) % WEEKDAYS
        slot = weekday * HOURS + hour
        seen = hourly_seen[hour]
        daily = (hourly[hour] if seen else mean) * weekly[weekday]
        weeks = week_hours_seen[slot]
        seasonal = daily if weeks == 0 else (weeks * week_hours[slot] + k * daily) / (weeks + k)
        adjust = recent_actual / recent_seasonal if recent_seasonal > 0 else 1.0
        expected = seasonal * adjust
        recent.append((0, expected))
        if len(recent) > kept:
            recent.popleft()
        # a zero is never winsorised: min(0.0, expected + sd) is 0.0 for expected >= 0
        if n > 0:
            ratio = (x - expected) ** 2 / (0.5 if expected < 0.5 else expected)
            dispersion_ew += alpha * (ratio - dispersion_ew)
        recent_actual = decay * recent_actual + x
        local_sum = local_decay * local_sum + x
        local_weight = local_decay * local_weight + 1.0
        if n < warmup:
            young.append(x)
            if len(young) > young_span:
                state.young_sum += young.popleft()
                state.young_n += 1
        elif young:
            forget_young(state)
        recent_seasonal = decay * recent_seasonal + seasonal
        mean += (x - mean) / (warmup if warmup < n + 1 else n + 1)
        n += 1
        adjust = recent_actual / recent_seasonal if recent_seasonal > 0 else 1.0
        scaled = adjust * weekly[weekday]
        target = x / (1e-6 if scaled < 1e-6 else scaled)
        rate = 1.0 / (seen + 1)
        hourly[hour] += (target - hourly[hour]) * (rate if rate > hourly_rate else hourly_rate)
        hourly_seen[hour] = seen + 1 if seen + 1 < 1_000_000 else 1_000_000
        if slot != state.visit_slot:
            _end_visit(state, cfg)
            state.visit_slot = slot
        state.visit_sum += x / (1e-6 if adjust < 1e-6 else adjust)
        state.visit_windows += 1
        if expected > 0:  # _nudge, inline
            step = weekly_rate * (x - expected) / max(expected, 1.0)
            weekly[weekday] = min(max(weekly[weekday] + step, 0.05), 20.0)
            scale = sum(weekly) / WEEKDAYS
            weekly[:] = [f / scale for f in weekly]
    state.recent_actual, state.recent_seasonal = recent_actual, recent_seasonal
    state.local_sum, state.local_weight = local_sum, local_weight
    state.dispersion_ew, state.mean, state.live_windows = dispersion_ew, mean, n


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


def accept_new_level(state: VolumeState) -> None:
    """Hours above the band are a new normal, not a crisis: move the level to it."""
    actual = sum(c for c, _ in state.recent)
    expected = sum(e for _, e in state.recent)
    if expected > 0:
        state.recent_actual *= actual / expected
    state.high_run = 0
