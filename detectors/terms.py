"""Hashtag and watch-term emergence per brand, in bounded memory.

"300 pages of tweets hashtagging their dismay": a crisis often has a tag before it has
volume. Each tracked term keeps an exponentially weighted rate per window (decayed
lazily, so untouched terms cost nothing) and its counts over the last few windows. A
term emerges when its count over a horizon is improbable under its own rate (Poisson
tail, Bonferroni-corrected for the horizons), far above it (lift) and with enough
support. A tag never seen before gets a floor rate, so a tag from nowhere needs real
support to count, while a watch term ("adverse reaction") has a tiny floor: a few
mentions of it are news.

Memory is bounded by ``capacity`` terms per brand: when full, the term with the lowest
decayed rate that is not active right now is forgotten (space-saving in spirit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy.special import gammainc


@dataclass(frozen=True)
class TermConfig:
    horizons: tuple[int, ...] = (1, 3, 12, 36)
    half_life_windows: float = 288.0
    capacity: int = 128
    p_threshold: float = 1e-6
    min_lift: float = 4.0
    min_support: int = 10  # mentions over the horizon, for hashtags
    hashtag_floor: float = 0.05  # per window, for a tag never seen
    watch_floor: float = 1e-5
    watch_p_threshold: float = 1e-4

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)


@dataclass(slots=True)
class TermStat:
    rate: float = 0.0  # EW count per window, not yet corrected for a short history
    last_window: int = 0
    first_window: int = 0
    # (window, count, negatives, positives) over the longest horizon
    recent: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass(slots=True)
class TermState:
    terms: dict[str, TermStat] = field(default_factory=dict)

    def expected(self, term: str, window: int, cfg: TermConfig) -> float:
        """The term's expected count per window (0 if it is not tracked).

        The weighted sum starts at zero when a term is first seen; dividing by the
        weight accumulated since then (as Adam does) keeps a young term's rate unbiased.
        """
        st = self.terms.get(term)
        if st is None:
            return 0.0
        keep = 1.0 - cfg.alpha
        decayed = st.rate * keep ** max(window - st.last_window, 0)
        weight = 1.0 - keep ** max(window - st.first_window, 1)
        return decayed / weight


@dataclass(slots=True)
class Emergence:
    term: str
    observed: int
    expected: float
    horizon: int
    p_value: float
    lift: float
    negatives: int = 0  # of the observed mentions: a campaign tag is not a complaint tag
    positives: int = 0

    @property
    def surprise(self) -> float:
        return -math.log10(max(self.p_value, 1e-300))


def update(state: TermState, window: int, counts: dict[str, tuple[int, int, int]],
           watch: dict[str, tuple[int, int]], cfg: TermConfig, live: bool) -> list[Emergence]:
    """Test this window's hashtag and watch-term counts, then learn them.

    ``counts`` maps a hashtag (without '#') to its count, negatives and positives in the
    window; ``watch`` maps a watch term to its count in the window and its minimum
    count. Terms are tested only when ``live`` (the brand's baseline has warmed up).
    Returns the emerging terms, strongest first.
    """
    found: list[Emergence] = []
    span = max(cfg.horizons)
    if live:
        for term, current in counts.items():
            e = _test(state, "#" + term, window, current, cfg.hashtag_floor, cfg)
            if (e.p_value <= cfg.p_threshold and e.lift >= cfg.min_lift
                    and e.observed >= cfg.min_support):
                found.append(e)
        for term, (n, min_count) in watch.items():
            e = _test(state, term, window, (n, 0, 0), cfg.watch_floor, cfg)
            if e.p_value <= cfg.watch_p_threshold and e.observed >= min_count:
                found.append(e)
    for term, (n, neg, pos) in counts.items():
        _learn(state, "#" + term, window, (n, neg, pos), span, cfg)
    for term, (n, _) in watch.items():
        _learn(state, term, window, (n, 0, 0), span, cfg)
    _evict(state, window, span, cfg)
    found.sort(key=lambda e: (-e.surprise, e.term))
    return found


def _test(state: TermState, term: str, window: int, current: tuple[int, int, int],
          floor: float, cfg: TermConfig) -> Emergence:
    rate = max(state.expected(term, window, cfg), floor)
    st = state.terms.get(term)
    history = [r for r in st.recent if r[0] > window - max(cfg.horizons)] if st else []
    best: Emergence | None = None
    for h in cfg.horizons:
        within = [(window, *current)] + [r for r in history if r[0] > window - h]
        observed = sum(r[1] for r in within)
        mu = rate * h
        p = float(gammainc(observed, mu)) if observed > 0 else 1.0
        if best is None or p < best.p_value:
            best = Emergence(term, observed, round(mu, 4), h, p, observed / mu,
                             sum(r[2] for r in within), sum(r[3] for r in within))
    assert best is not None
    best.p_value = min(1.0, best.p_value * len(cfg.horizons))
    return best


def _learn(state: TermState, term: str, window: int, counts: tuple[int, int, int],
           span: int, cfg: TermConfig) -> None:
    st = state.terms.get(term)
    if st is None:
        st = state.terms[term] = TermStat(last_window=window, first_window=window)
    decayed = st.rate * (1.0 - cfg.alpha) ** max(window - st.last_window, 0)
    st.rate = decayed + cfg.alpha * counts[0]
    st.last_window = window
    st.recent = [r for r in st.recent if r[0] > window - span] + [(window, *counts)]


def _evict(state: TermState, window: int, span: int, cfg: TermConfig) -> None:
    excess = len(state.terms) - cfg.capacity
    if excess <= 0:
        return
    # Forget idle terms first, the weakest first; active ones only if a storm of new
    # terms exceeds the capacity on its own.
    ranked = sorted(
        (st.recent[-1][0] > window - span if st.recent else False,
         state.expected(t, window, cfg), t)
        for t, st in state.terms.items()
    )
    for _, _, term in ranked[:excess]:
        del state.terms[term]
