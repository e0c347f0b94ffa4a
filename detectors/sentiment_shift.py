"""Sentiment shift per brand: the negative share of a window against its own baseline.

A spike that turns negative is a crisis; a spike that stays positive is a campaign. The
baseline share is a ratio of exponentially weighted sums (negatives / mentions), so
busy windows weigh more. The test is a binomial tail over several horizons with the
counts shrunk by an overdispersion factor (mentions come in correlated bursts: a
retweet wave shares one opinion), Bonferroni-corrected; a shift also needs a minimum
number of mentions and a minimum rise in share, so a quiet night's 3-of-4 negatives
does not page anyone.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from scipy.special import betainc

from crisiswatch.detectors.volume_evidence import count_tail

YOUNG_TURN_WINDOWS = 12  # the longest horizon a young turn of tone is read over
MIN_EXCESS = 10  # negative mentions above the expected, for a young stream's turn


@dataclass(frozen=True)
class SentimentConfig:
    horizons: tuple[int, ...] = (3, 12, 36)
    half_life_windows: float = 576.0  # two days at 5-minute windows
    warmup_mentions: int = 200
    overdispersion: float = 2.0
    p_threshold: float = 1e-4
    min_mentions: int = 20
    min_rise: float = 0.15
    young_p_threshold: float = 1e-2  # a young stream's turn of tone (share) ...
    young_count_p: float = 1e-3  # ... with its complaints' rise (count): both at once

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)


@dataclass(slots=True)
class SentimentState:
    negatives: float = 0.0  # EW sums
    positives: float = 0.0
    mentions: float = 0.0
    seen: int = 0
    recent: deque[tuple[int, int, int]] = field(default_factory=deque)  # window, neg, n

    @property
    def negative_share(self) -> float:
        return self.negatives / self.mentions if self.mentions > 0 else 0.0

    @property
    def positive_share(self) -> float:
        return self.positives / self.mentions if self.mentions > 0 else 0.0


@dataclass(slots=True)
class Shift:
    share: float
    baseline: float
    mentions: int
    negatives: int
    horizon: int
    p_value: float

    @property
    def surprise(self) -> float:
        return -math.log10(max(self.p_value, 1e-300))


def update(state: SentimentState, window: int, negatives: int, positives: int, count: int,
           cfg: SentimentConfig) -> Shift | None:
    """Test this window (with the ones before it) against the baseline, then learn it.

    ``count`` is the mentions whose tone could be read: a post of handles and hashtags
    says nothing about how people feel, and counting it would dilute a real shift."""
    span = max(cfg.horizons)
    while state.recent and state.recent[0][0] <= window - span:
        state.recent.popleft()
    shift = _test(state, window, negatives, count, cfg) if state.seen >= cfg.warmup_mentions \
        else None
    decay = (1.0 - cfg.alpha) ** (window - state.recent[-1][0] if state.recent else 1)
    state.negatives = state.negatives * decay + negatives
    state.positives = state.positives * decay + positives
    state.mentions = state.mentions * decay + count
    state.seen += count
    state.recent.append((window, negatives, count))
    return shift


def _test(state: SentimentState, window: int, negatives: int, count: int,
          cfg: SentimentConfig) -> Shift | None:
    base = min(max(state.negative_share, 0.02), 0.98)
    best: Shift | None = None
    for h in cfg.horizons:
        k, n = _over(state, window, negatives, count, h)
        if n < cfg.min_mentions or k / n - base < cfg.min_rise:
            continue
        k_eff, n_eff = k / cfg.overdispersion, n / cfg.overdispersion
        p = float(betainc(k_eff, n_eff - k_eff + 1.0, base)) if k_eff > 0 else 1.0
        if best is None or p < best.p_value:
            best = Shift(round(k / n, 4), round(base, 4), n, k, h, p)
    if best is None:
        return None
    best.p_value = min(1.0, best.p_value * len(cfg.horizons))
    return best if best.p_value <= cfg.p_threshold else None


def young_turn(state: SentimentState, window: int, negatives: int, count: int,
               level: float, cfg: SentimentConfig) -> Shift | None:
    """Whether a young stream's complaints rise and its tone turns at once, read before
    ``update`` learns the window: over a horizon of up to an hour, more negative
    mentions than the stream's share before them times ``level`` (its mentions a window
    in the hour before: ``volume.lagged_expected``) would give (overdispersed Poisson,
    ``young_count_p``), and a negative share ``min_rise`` above that share (binomial,
    ``young_p_threshold``). Complaints alone rise on a first morning too; a share alone
    turns on a few angry posts at night; both are an onset, whatever the warm-up."""
    best: Shift | None = None
    for h in (h for h in cfg.horizons if h <= YOUNG_TURN_WINDOWS):
        k, n = _over(state, window, negatives, count, h)
        # the stream's share before these windows: they must not explain themselves
        before = state.mentions - (n - count)
        if before <= 0 or n < cfg.min_mentions:
            continue
        base = min(max((state.negatives - (k - negatives)) / before, 0.02), 0.98)
        expected = base * level * h
        if k / n - base < cfg.min_rise or k < 2 * expected or k - expected < MIN_EXCESS \
                or count_tail(k, expected, cfg.overdispersion) > cfg.young_count_p:
            continue
        p = float(betainc(k, n - k + 1.0, base)) if k > 0 else 1.0
        if best is None or p < best.p_value:
            best = Shift(round(k / n, 4), round(base, 4), n, k, h, p)
    return best if best is not None and best.p_value <= cfg.young_p_threshold else None



def _over(state: SentimentState, window: int, negatives: int, count: int, h: int
          ) -> tuple[int, int]:
    """Negatives and mentions over the ``h`` windows ending with this one."""
    earlier = [(neg, c) for w, neg, c in state.recent if w > window - h]
    return negatives + sum(neg for neg, _ in earlier), count + sum(c for _, c in earlier)
