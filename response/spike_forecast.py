"""How many extra mentions a spike will bring in each of the next hours, with intervals.

A fixed decay (the excess halves every two hours) is worse than assuming no spike at
all on real streams: a storm still rising grows for hours, and most bursts are over
within one. What is known when the forecast is made says which of these a spike is:

- its **shape** over the last hour, in quarters: ``rising`` (the last quarter-hour above
  the one before by more than count noise, which was no lower than the one before it: a
  storm building up), ``blip`` (one window carries most of the hour's excess: a burst
  that has not grown), ``fading`` (the last quarter well below the hour's busiest) or
  ``steady``; and whether the incident has lasted an hour (what has lasted tends to
  last);
- its **kind** (``storm``: emerging hashtags; ``outage``: watch terms or a sentiment
  shift; ``burst``: volume alone) and its **breadth** (``narrow``: mostly retweets of a
  few posts, which stop when the retweeting does; ``broad``: people writing their own);
- the **shapes of past incidents**: each forecast is a level (excess mentions per hour
  now) times a ratio for each hour ahead, and the ratios are learned online from what
  past incidents of the same shape did, this brand's and other brands' (closer ones
  weigh more: same brand, kind, breadth).

Learning starts from a prior per shape, worth a few incidents, that states the
shrinkage: a burst that has not grown falls to nothing within the hour, a rising one
keeps rising for a while, anything else decays. The median and the P90 of the weighted
ratios give a median forecast and a cautious one, so a team chooses its risk; the P90
adds the count noise of an hour at the brand's expected volume.

Measured by ``crisiswatch eval --staffing`` (total absolute error over the four hours
after each warning or critical alert, over the actual excess: no forecast at all scores
1.0): airline sample 0.90 at the alert, 0.79 updated each hour (the fixed two-hour
decay it replaces: 2.38 and 3.68); stocknet 0.94 and 0.62 (1.52 and 1.59). A spike's
first window says little about its next hours: most of the gain is in not forecasting
bursts that are over, and in the updates once a spike has lasted.

Pure: the caller builds the ``SpikeView`` from the series and feeds ended incidents to
``ShapeModel.learn``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field

import numpy as np

HOURS = 4
SHAPES = ("rising", "steady", "fading", "blip")
# the prior's median ratio (excess in hour h / level now) per shape; a prior ratio sample
# is this median times PRIOR_SPREAD, so its P90 is about 2.5x the median
PRIOR_MEDIAN = {
    "rising": (0.7, 0.8, 0.75, 0.6),
    "steady": (0.5, 0.25, 0.15, 0.1),
    "fading": (0.3, 0.1, 0.05, 0.0),
    "blip": (0.1, 0.0, 0.0, 0.0),
}
# ... and once the incident has lasted an hour: what has lasted tends to last
LASTING_MEDIAN = {
    "rising": (0.7, 0.8, 0.75, 0.6),
    "steady": (0.9, 0.7, 0.55, 0.45),
    "fading": (0.4, 0.2, 0.1, 0.05),
    "blip": (0.1, 0.0, 0.0, 0.0),
}
LASTING_S = 3600  # an incident open this long is "lasting"
Z90 = 1.2816  # the standard normal's 0.9 quantile: the count noise in the P90
BLIP_P90 = (1.5, 0.5, 0.3, 0.3)  # a blip's median is nothing: its tail is stated apart
PRIOR_SPREAD = (0.0, 0.3, 0.6, 0.85, 1.0, 1.0, 1.2, 1.6, 2.5, 3.0)
PRIOR_WEIGHT = 4.0  # the prior counts as this many past incidents
SAMPLES_KEPT = 400  # past forecasts remembered per shape (bounded memory)


@dataclass(frozen=True)
class SpikeView:
    """A brand's last hour of windows (oldest first, the last just closed), when a
    forecast is made, and what the incident is so far."""

    brand: str
    counts: tuple[float, ...]
    expected: tuple[float, ...]
    window_s: int
    kinds: frozenset[str] = frozenset()
    retweet_share: float = 0.0
    age_s: float = 0.0  # since the incident's first window opened
    made_at: float = 0.0  # the end of the last window in the view (epoch seconds)

    @property
    def excess(self) -> np.ndarray:
        return np.asarray(self.counts, float) - np.asarray(self.expected, float)


@dataclass(frozen=True)
class Features:
    level: float  # excess mentions per hour now, the unit the ratios multiply
    baseline: float  # mentions expected in an hour: the count noise of the intervals
    shape: str
    lasting: bool
    kind: str
    breadth: str


@dataclass(frozen=True)
class Forecast:
    """Excess mentions in each of the next hours: the median and the P90."""

    median: tuple[float, ...]
    p90: tuple[float, ...]
    features: Features
    learned_from: int  # past forecasts of this shape that weighed in
    made_at: float = 0.0  # the end of the last window it knew (epoch seconds)

    def to_dict(self) -> dict[str, object]:
        f = self.features
        return {"median": [round(x, 1) for x in self.median],
                "p90": [round(x, 1) for x in self.p90],
                "level_per_hour": round(f.level, 1), "shape": f.shape,
                "lasting": f.lasting, "kind": f.kind,
                "breadth": f.breadth, "learned_from": self.learned_from,
                "made_at": self.made_at}


def features(view: SpikeView) -> Features:
    """Level, shape, kind and breadth of the spike in ``view`` (see the module doc)."""
    x = view.excess
    per_hour = max(round(3600 / view.window_s), 1)
    x = np.concatenate([np.zeros(max(per_hour - len(x), 0)), x[-per_hour:]])
    quarters = [max(float(v.sum()), 0.0) for v in np.array_split(x, 4)]
    hour = max(float(x.sum()), 0.0)
    baseline = max(float(np.sum(np.asarray(view.expected, float)[-per_hour:])), 0.0)
    top = max(float(x.max()), 0.0)
    q1, q2, q3, q4 = quarters
    if hour <= 0:
        shape = "fading"
    elif q4 - q3 > 2 * math.sqrt(q3 + baseline / 4 + 1) and q3 >= q2 and q3 > 0.25 * q4:
        shape = "rising"
    elif top >= 0.6 * hour:
        shape = "blip"
    elif q4 < 0.6 * max(q1, q2, q3):
        shape = "fading"
    else:
        shape = "steady"
    level = max(4.0 * q4, hour) if shape == "rising" else hour
    kind = ("storm" if "hashtag" in view.kinds else
            "outage" if view.kinds & {"keyword", "sentiment"} else "burst")
    breadth = "narrow" if view.retweet_share >= 0.6 else "broad"
    return Features(level, baseline, shape, view.age_s >= LASTING_S, kind, breadth)


@dataclass(frozen=True)
class _Sample:
    brand: str
    kind: str
    breadth: str
    ratios: tuple[float, ...]


@dataclass
class ShapeModel:
    """Ratios of past incidents, per shape: what the forecast learns from."""

    samples: dict[tuple[str, bool], deque[_Sample]] = field(
        default_factory=lambda: {(s, lasting): deque(maxlen=SAMPLES_KEPT)
                                 for s in SHAPES for lasting in (False, True)})

    def learn(self, view: SpikeView, actual: list[float]) -> None:
        """What followed a forecast made on ``view``: the excess mentions of each hour
        after it (the hours known so far; at most ``HOURS``)."""
        f = features(view)
        if f.level <= 0 or not actual:
            return
        ratios = tuple(max(a, 0.0) / f.level for a in actual[:HOURS])
        self.samples[f.shape, f.lasting].append(_Sample(view.brand, f.kind, f.breadth, ratios))

    def forecast(self, view: SpikeView, hours: int = HOURS) -> Forecast:
        f = features(view)
        past = self.samples[f.shape, f.lasting]
        weights = [_similarity(s, view.brand, f) for s in past]
        median, p90 = [], []
        for h in range(hours):
            values, w = _prior(f.shape, f.lasting, h)
            seen = [(s.ratios[h], wt) for s, wt in zip(past, weights, strict=True)
                    if len(s.ratios) > h]
            if seen:
                values = np.concatenate([values, [r for r, _ in seen]])
                w = np.concatenate([w, [wt for _, wt in seen]])
            median.append(f.level * _quantile(values, w, 0.5))
            top = f.level * _quantile(values, w, 0.9)
            p90.append(top + Z90 * math.sqrt(f.baseline + top))
        return Forecast(tuple(median), tuple(p90), f, len(past), view.made_at)


def _similarity(sample: _Sample, brand: str, f: Features) -> float:
    """How much a past forecast weighs: 0.5 for any brand's, up to 1.5 for one of this
    brand, kind and breadth (the prior weighs ``PRIOR_WEIGHT``)."""
    return (0.5 + 0.5 * (sample.brand == brand) + 0.25 * (sample.kind == f.kind)
            + 0.25 * (sample.breadth == f.breadth))


def _prior(shape: str, lasting: bool, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The prior's pseudo-ratios for hour ``h`` and their weights (``PRIOR_WEIGHT`` in
    all, as if that many incidents)."""
    m = (LASTING_MEDIAN if lasting else PRIOR_MEDIAN)[shape][h] if h < HOURS else 0.0
    if shape == "blip":
        top = BLIP_P90[h] if h < HOURS else 0.0
        values = np.array([0.0] * 6 + [m, top * 0.5, top, top * 1.5])
    else:
        values = m * np.asarray(PRIOR_SPREAD)
    return values, np.full(len(values), PRIOR_WEIGHT / len(values))


def _quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The weighted ``q``-quantile (the smallest value whose cumulative weight reaches
    ``q`` of the total)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[min(int(np.searchsorted(cum, q * cum[-1])), len(v) - 1)])


def view_from_series(brand: str, records: list[dict], first_window: float, now: float,
                     window_s: int, kinds: frozenset[str] = frozenset()) -> SpikeView:
    """The view at ``now`` (the end of the last closed window) from the brand's series
    records in time order (``count``, ``expected``, ``retweets`` per ``window_start``):
    its last hour, a window with no record counting 0 against the expectation of the
    window before it (the series keeps only windows with mentions), and the retweet
    share of the incident's windows so far."""
    per_hour = max(round(3600 / window_s), 1)
    lo = int(now) - per_hour * window_s
    first, end = window_index(records, lo), window_index(records, now)
    by_start = {int(r["window_start"]): r for r in records[first:end]}
    last_expected = float(records[first - 1].get("expected") or 0.0) if first else 0.0
    counts, expected = [], []
    for s in range(lo, lo + per_hour * window_s, window_s):
        r = by_start.get(s)
        if r is not None:
            last_expected = float(r.get("expected") or 0.0)
        counts.append(float(r["count"]) if r else 0.0)
        expected.append(last_expected)
    during = records[window_index(records, first_window):end]
    mentions = sum(r["count"] for r in during)
    share = sum(r.get("retweets", 0) for r in during) / mentions if mentions else 0.0
    return SpikeView(brand, tuple(counts), tuple(expected), window_s, kinds, share,
                     now - first_window, now)


def window_index(records: list[dict], t: float) -> int:
    """The index of the first record (in time order) of a window starting at or after ``t``."""
    return bisect_left(records, t, key=lambda r: r["window_start"])
