"""Sensitivity: one word (``fewer | balanced | more``) for how readily a brand alerts.

A team tuning a brand does not want to learn what a negative-binomial tail probability
or a Bonferroni-corrected hashtag test is; commercial listening tools offer a single
"fewer / more alerts" control, and so does this. Each level maps the detectors' own
thresholds, the ones the configuration file sets, onto stricter or looser ones:

- the significance thresholds (volume and hashtag p-values, the young brand's hashtag
  p-value, the watch-term and sentiment p-values) move by a factor of 10: ``more``
  accepts a count ten times more likely under the baseline, ``fewer`` one ten times
  less likely;
- the margins above the baseline (the volume and hashtag lift beyond 1x, the rise in
  negative share) halve for ``more`` and double for ``fewer``;
- the minimum evidence (the volume excess, a hashtag's support, a young brand's too,
  the mentions a sentiment shift needs) halves or doubles likewise.

``balanced`` is the configuration as written, unchanged, so a file that never names a
sensitivity behaves exactly as before. Levels scale the configured values rather than
replacing them, so a team's own tuning stays the centre of the scale. Watch terms keep
their ``min_count``: a watchlist entry is an explicit decision about one term, not a
statistical threshold. Pure functions, no I/O: the flow calls ``apply`` once per brand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from crisiswatch.detectors.brand import DetectorConfig
from crisiswatch.detectors.sentiment_shift import SentimentConfig
from crisiswatch.detectors.terms import TermConfig
from crisiswatch.detectors.volume import VolumeConfig

Sensitivity = Literal["fewer", "balanced", "more"]
LEVELS: tuple[Sensitivity, ...] = get_args(Sensitivity)
MAX_P = 0.5  # a p-value threshold above this would alert on a coin toss


@dataclass(frozen=True)
class Scale:
    """How one level moves the thresholds: ``p`` multiplies significance thresholds,
    ``margin`` the distance of a lift (or a share rise) above no change, ``evidence``
    the minimum counts."""

    p: float
    margin: float
    evidence: float


SCALES: dict[Sensitivity, Scale] = {
    "fewer": Scale(p=0.1, margin=2.0, evidence=2.0),
    "balanced": Scale(p=1.0, margin=1.0, evidence=1.0),
    "more": Scale(p=10.0, margin=0.5, evidence=0.5),
}


def apply(cfg: DetectorConfig, level: Sensitivity) -> DetectorConfig:
    """``cfg`` as the given sensitivity sees it; ``balanced`` returns ``cfg`` itself."""
    if level == "balanced":
        return cfg
    s = SCALES[level]
    return replace(cfg, volume=_volume(cfg.volume, s), terms=_terms(cfg.terms, s),
                   sentiment=_sentiment(cfg.sentiment, s))


def _volume(v: VolumeConfig, s: Scale) -> VolumeConfig:
    return replace(v, p_threshold=_p(v.p_threshold, s), min_lift=_lift(v.min_lift, s),
                   min_excess=v.min_excess * s.evidence)


def _terms(t: TermConfig, s: Scale) -> TermConfig:
    return replace(t, p_threshold=_p(t.p_threshold, s),
                   watch_p_threshold=_p(t.watch_p_threshold, s),
                   young_p_threshold=_p(t.young_p_threshold, s),
                   min_lift=_lift(t.min_lift, s), min_support=_count(t.min_support, s),
                   young_min_support=_count(t.young_min_support, s))


def _sentiment(c: SentimentConfig, s: Scale) -> SentimentConfig:
    return replace(c, p_threshold=_p(c.p_threshold, s),
                   min_rise=min(c.min_rise * s.margin, 0.9),
                   min_mentions=_count(c.min_mentions, s))


def _p(p: float, s: Scale) -> float:
    return min(p * s.p, MAX_P)


def _lift(lift: float, s: Scale) -> float:
    return 1.0 + (lift - 1.0) * s.margin


def _count(n: int, s: Scale) -> int:
    return max(1, round(n * s.evidence))
