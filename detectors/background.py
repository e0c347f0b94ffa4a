"""What a brand's mentions usually talk about: decayed term frequencies, in bounded space.

An incident's explanation must say what the burst is about, and a raw count cannot:
an airline's every window says "flight", a telco's "phone" and "contract". A term is
worth showing when it is far more frequent inside the burst than in the brand's own
background, so each brand keeps the frequencies of the terms of its quiet windows
(exponentially decayed, about two days of memory), and explanations rank a burst's
terms, and pick its example posts, by their lift against it.

Only windows without a signal are learnt, so a burst does not become its own
background. At most ``capacity`` terms are kept: past ``capacity * 5 / 4`` the weakest
are forgotten, and a forgotten term counts as rare, which is what it is for the brand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scipy.special import gammainc


@dataclass(frozen=True)
class BackgroundConfig:
    half_life_windows: float = 576.0  # two days at 5-minute windows
    capacity: int = 256
    smoothing: float = 0.5  # pseudo-count of a term the background has not seen
    min_lift: float = 2.0  # a term this much more frequent than usual is distinctive
    min_count: int = 2  # ... and said at least this often in the burst ...
    max_p: float = 1e-3  # ... more often than chance would put in a burst this size

    @property
    def keep(self) -> float:
        return 0.5 ** (1.0 / self.half_life_windows)


REBASE = 2.0 ** 64  # how far the stored weights may grow before they are rescaled


@dataclass(slots=True)
class Background:
    """The decay is lazy: ``weights`` are in the units of window ``origin`` (a count
    learnt later is stored grown by the decay it escapes), so a window costs what it
    adds, not a pass over every term kept; decay is uniform, so the stored weights rank
    the terms as the decayed ones do. Every ``REBASE`` of growth they are rescaled."""

    weights: dict[str, float] = field(default_factory=dict)
    total: float = 0.0  # decayed eagerly: one number
    last_window: int | None = None
    origin: int = 0

    def learn(self, window: int, counts: Mapping[str, int], cfg: BackgroundConfig) -> None:
        """Fold one quiet window's term counts in (windows arrive in order)."""
        if self.last_window is None:
            self.last_window = self.origin = window
        elif window > self.last_window:
            self.total *= cfg.keep ** (window - self.last_window)
            self.last_window = window
        grown = cfg.keep ** (self.origin - self.last_window)
        if grown > REBASE:
            self.weights = {t: w / grown for t, w in self.weights.items()}
            self.origin, grown = self.last_window, 1.0
        weights = self.weights
        for term, n in counts.items():
            weights[term] = weights.get(term, 0.0) + n * grown
            self.total += n
        if len(weights) > cfg.capacity * 5 // 4:
            kept = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:cfg.capacity]
            self.weights = dict(kept)

    def weight(self, term: str, cfg: BackgroundConfig) -> float:
        """The term's decayed weight as of the last window learnt."""
        w = self.weights.get(term)
        if w is None or self.last_window is None:
            return 0.0
        return w * cfg.keep ** (self.last_window - self.origin)

    def share(self, term: str, cfg: BackgroundConfig) -> float:
        """The term's usual share of the brand's terms, smoothed so that a term never
        seen has a small share rather than none."""
        return ((self.weight(term, cfg) + cfg.smoothing)
                / (self.total + cfg.smoothing * cfg.capacity))

    def lifts(self, counts: Iterable[tuple[str, int]], cfg: BackgroundConfig
              ) -> list[tuple[str, int, float]]:
        """The distinctive terms among ``counts`` (a burst's term counts): (term, count,
        lift), ranked by count * log(lift), the term's share of the burst's divergence
        from the background: frequent and unusual beats either alone. A small burst's
        chance repeats (four of eight mentions asking when the shop opens) are not
        distinctive: the count must also be improbable (Poisson tail) at the usual share."""
        counts = list(counts)
        n_total = sum(n for _, n in counts)
        if n_total == 0:
            return []
        out = []
        for term, n in counts:
            expected = self.share(term, cfg) * n_total
            lift = n / expected
            if n >= cfg.min_count and lift >= cfg.min_lift and \
                    float(gammainc(n, expected)) <= cfg.max_p:
                out.append((term, n, round(lift, 1)))
        out.sort(key=lambda x: (-x[1] * math.log(x[2]), x[0]))
        return out
