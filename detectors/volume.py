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

from crisiswatch.detectors.types import VolumeScore
from crisiswatch.detectors.volume_baseline import (
    VolumeConfig,
    VolumeState,
    accept_new_level,
    forget_young,
    lagged_expected,
    learn,
    learn_zeros,
    young_expected,
)
from crisiswatch.detectors.volume_evidence import (
    Horizon,
    count_tail,
    horizon_tests,
    is_drop,
    is_spike,
    learn_spread,
    note_records,
    record_high,
    record_low,
)

__all__ = ["VolumeConfig", "VolumeState", "count_tail", "lagged_expected", "update",
           "young_rise"]


def update(state: VolumeState, window: int, count: int, cfg: VolumeConfig) -> VolumeScore:
    """Score ``count`` for window index ``window``, then learn from it.

    Windows must arrive in increasing order per brand; windows without mentions are not
    emitted by the flow, so the gap between two calls is filled with zeros here.
    """
    if state.last_window is not None and window <= state.last_window:
        return _score(state, window, count, cfg)[0]  # re-emitted: score, learn nothing
    gap = 0 if state.last_window is None else window - state.last_window - 1
    if state.last_window is None or gap >= cfg.gap_reset_windows:
        state.live_windows = 0
        state.high_run = 0
        state.recent.clear()
        state.local_sum = state.local_weight = 0.0
        forget_young(state)
    else:
        learn_zeros(state, state.last_window + 1, window, cfg)
        state.since_anomalous += gap
        state.since_drop += gap
    state.last_window = window
    score, tests = _score(state, window, count, cfg)
    frozen = score.anomalous or score.drop
    if not frozen:
        learn_spread(state, tests, cfg)
    learn(state, window, count, score.expected, cfg, frozen=frozen)
    note_records(state, window, tests, cfg)
    state.high_run = state.high_run + 1 if score.anomalous else 0
    state.since_anomalous = 0 if score.anomalous else state.since_anomalous + 1
    state.since_drop = 0 if score.drop else state.since_drop + 1
    if state.high_run >= cfg.shift_windows:
        accept_new_level(state)
    return score


def young_rise(state: VolumeState, window: int, count: int, cfg: VolumeConfig
               ) -> VolumeScore | None:
    """A young stream's second opinion on ``window``, read before ``update`` learns it
    (None: none to give, or no rise): its count against the hour before plus that
    hour's rise (``volume_baseline.lagged_expected``).

    The young baseline follows the last half hour, so a rise within the hour explains
    itself away; judged against the hour before, a stream going from 50 to 130 mentions
    an hour is a rise. So is a first morning, which counts alone cannot tell apart:
    ``detectors.brand`` pages on this only when the tone turns too."""
    if state.last_window is not None and window <= state.last_window:
        return None
    lagged = lagged_expected(state, window, cfg)
    if lagged is None or state.live_windows < cfg.cold_start_windows:
        return None
    tests = horizon_tests(state, count, lagged, float(max(cfg.horizons)), cfg,
                          [(c, lagged) for c, _ in state.recent])
    # looser than a lone volume signal's tests: the tone must turn too to page
    rising = [t for t in tests if t.p_high <= cfg.young_rise_p
              and t.observed >= cfg.young_rise_lift * t.expected
              and t.observed - t.expected >= cfg.min_excess and t.log_z >= 1.0]
    if not rising:
        return None
    best = min(rising, key=lambda t: t.p_high)
    return VolumeScore(
        observed=count, expected=round(lagged, 4), horizon=best.h,
        horizon_observed=int(best.observed), horizon_expected=round(best.expected, 4),
        p_value=best.p_high, surprise=round(-math.log10(max(best.p_high, 1e-300)), 3),
        lift=round(best.observed / best.expected, 3) if best.expected > 0 else 1e9,
        anomalous=True, warming_up=True, log_z=round(best.log_z, 3))


def _score(state: VolumeState, window: int, count: int, cfg: VolumeConfig
           ) -> tuple[VolumeScore, list[Horizon]]:
    """The window's score, and the evidence of each horizon it was judged on (what the
    detector then learns its spreads and records from)."""
    warming_up = state.live_windows < cfg.warmup_windows
    expected, support = young_expected(state, window, cfg)
    tests = horizon_tests(state, count, expected, support, cfg)
    candidates = tests or [Horizon(0, 1, count, expected, 1.0, 0.0, 0.0, math.log1p(count))]
    p_threshold = cfg.p_threshold * (cfg.young_p_factor if warming_up else 1.0)
    can_alert = state.live_windows >= cfg.cold_start_windows
    spike_open = state.since_anomalous <= cfg.rearm_windows
    drop_open = state.since_drop <= cfg.rearm_windows

    def spike(t: Horizon) -> bool:
        return is_spike(t, p_threshold, cfg) and (spike_open or record_high(state, t, cfg))

    # the strongest horizon that passes every test, else the most surprising one
    best = max(candidates, key=lambda t: (spike(t), -t.p_high))
    anomalous = can_alert and spike(best)
    drops = [t for t in tests if is_drop(t, p_threshold, cfg)
             and (drop_open or record_low(state, t, cfg))] \
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
    ), tests
