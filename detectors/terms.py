"""Hashtag and watch-term emergence per brand, in bounded memory.

"300 pages of tweets hashtagging their dismay": a crisis often has a tag before it has
volume. Each tracked term keeps an exponentially weighted rate per window (decayed
lazily, so untouched terms cost nothing) and its counts over the last few windows. A
term emerges when its count over a horizon is improbable under its own rate (Poisson
tail, Bonferroni-corrected for the horizons), far above it (lift) and with enough
support. A tag never seen before gets a floor rate, so a tag from nowhere needs real
support to count, while a watch term ("adverse reaction") has a tiny floor: a few
mentions of it are news.

Three things keep it honest:

- *Young baselines.* The detector does not wait for the volume baseline's day of warm-up
  (a storm in a brand's first hour is still a storm; only its first
  ``min_history_windows`` are learnt untested), but while the brand's term
  baseline is younger than ``young_windows`` it does not know the brand's everyday tags
  yet, so it asks for more: a higher floor rate for a tag it has not seen, a smaller
  p-value and more support; watch terms get a floor of a few a day instead of none.
- *An emerging term does not teach its own baseline.* While a term emerges, what it
  learns is capped at ``min_lift`` times its rate, so a storm's tag keeps its lift for
  as long as the storm lasts (a lasting new level is still learnt, a few percent a
  window) instead of explaining itself away within the hour.
- *Recurring patterns are learnt.* Each burst (episode) of a term is remembered, a few
  per term. A burst at the time of day of one a day or more before, and at most
  ``recurring_factor`` times as intense (its busiest window), is *recurring*: the
  brand's daily reply hashtag is reported once as news and from then on as recurring,
  not paged every morning.

Memory is bounded by ``capacity`` terms per brand: when full, the term with the lowest
decayed rate that is not active right now is forgotten (space-saving in spirit).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from scipy.special import gammainc

AUTHORS_KEPT = 16  # distinct authors remembered per watch term: support needs a few


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
    window_s: int = 300
    # while the brand's term baseline is young (its first day, or after a long silence);
    # nothing is tested before it has a few windows: a stream's first window has no
    # "before" to rise from, so its everyday tags would all look like storms
    min_history_windows: int = 3
    young_windows: int = 288
    gap_reset_windows: int = 72
    gap_reset_expected: float = 10.0  # mentions the brand's rate promised in such a gap
    young_p_threshold: float = 1e-9
    young_min_support: int = 20
    young_hashtag_floor: float = 0.2
    young_watch_floor: float = 0.02  # about six a day: a new brand's everyday complaints
    # recurring bursts: same time of day (within the tolerance), at most this much larger
    recurring_factor: float = 2.0
    recurring_tolerance_windows: int = 24
    recurring_days: int = 7
    episodes_kept: int = 8

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)

    @property
    def day_windows(self) -> int:
        return max(round(86400 / self.window_s), 1)


# (window, count, negatives, positives, unknown tone) of a term in one window
Counts = tuple[int, int, int, int, int]


@dataclass(slots=True)
class TermStat:
    rate: float = 0.0  # EW count per window, not yet corrected for a short history
    last_window: int = 0
    first_window: int = 0
    recent: list[Counts] = field(default_factory=list)  # over the longest horizon
    # watch terms: (window, distinct authors, followers reached) over the longest horizon
    support: list[tuple[int, frozenset[str], int]] = field(default_factory=list)
    # bursts of this term: (first window, last window, its busiest window's count)
    episodes: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(slots=True)
class TermState:
    terms: dict[str, TermStat] = field(default_factory=dict)
    since: int = 0  # the window the brand's current stretch of live data began
    last_window: int | None = None
    weight: float = 0.0  # the windows learnt, weighted as the terms' sums weigh them
    first_window: int | None = None  # the brand's first window, and its mentions since:
    mentions: int = 0  # its long-run rate, which tells a quiet brand from a dead stream

    def expected(self, term: str, window: int, cfg: TermConfig) -> float:
        """The term's expected count per window (0 if it is not tracked).

        A term's weighted sum counts every live window of the brand, the ones before
        the term was first seen as zeros; dividing it by the weight of those windows (as
        Adam does) keeps the rates of a young brand unbiased. Counting from the term's
        own first sighting instead would make a new tag's second window expect what its
        first one held: a storm would explain itself away from its second window on.
        """
        st = self.terms.get(term)
        if st is None:
            return 0.0
        weight = self._weight(window, cfg)
        if weight <= 0.0:
            return 0.0
        decayed = st.rate * (1.0 - cfg.alpha) ** max(window - st.last_window, 0)
        return decayed / weight

    def _weight(self, window: int, cfg: TermConfig) -> float:
        """The weight of the windows learnt before ``window``, decayed to it: the silent
        windows since the last one count (as zeros) unless the silence is long enough to
        mean the stream was not live; then the rates are kept as they were."""
        if self.last_window is None:
            return 0.0
        keep = 1.0 - cfg.alpha
        elapsed = max(window - self.last_window, 0)
        weight = self.weight * keep ** elapsed
        if 1 < elapsed <= cfg.gap_reset_windows + 1:
            weight += keep - keep ** elapsed  # alpha * sum of keep**d, d = 1 .. elapsed-1
        return weight

    def young(self, window: int, cfg: TermConfig) -> bool:
        """Whether the brand's term baseline is too young to know its everyday terms."""
        return window - self.since < cfg.young_windows


@dataclass(frozen=True, slots=True)
class WatchCount:
    """A watch term's mentions in one window, and what supports them."""

    count: int
    min_count: int  # the term's own minimum (the watchlist's ``min_count``)
    authors: frozenset[str] = frozenset()  # distinct authors, at most AUTHORS_KEPT
    reach: int = 0  # followers of the mentions' authors, summed


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
    unknown: int = 0  # of unknown tone (no words of their own, or not in English)
    authors: int = 0  # watch terms: distinct authors over the horizon (at most AUTHORS_KEPT)
    reach: int = 0  # watch terms: followers reached over the horizon
    young: bool = False  # judged against a young baseline (stricter thresholds)
    recurring: tuple[int, ...] = ()  # first windows of earlier bursts it repeats

    @property
    def surprise(self) -> float:
        return -math.log10(max(self.p_value, 1e-300))


def update(state: TermState, window: int, counts: dict[str, tuple[int, int, int, int]],
           watch: dict[str, WatchCount], cfg: TermConfig, mentions: int = 0
           ) -> list[Emergence]:
    """Test this window's hashtag and watch-term counts, then learn them.

    ``counts`` maps a hashtag (without '#') to its count, negatives, positives and
    mentions of unknown tone in the window; ``watch`` maps a watch term to its
    ``WatchCount``; ``mentions`` is the brand's count in the window. Terms are tested
    once the brand has ``min_history_windows`` of data, with stricter thresholds while
    its baseline is young. Returns the emerging terms, strongest first.
    """
    if _resumed(state, window, cfg):
        state.since = window
    if state.first_window is None:
        state.first_window = window
    state.mentions += mentions
    young = state.young(window, cfg)
    found: list[Emergence] = []
    span = max(cfg.horizons)
    if window - state.since >= cfg.min_history_windows:
        p_tag = cfg.young_p_threshold if young else cfg.p_threshold
        support = cfg.young_min_support if young else cfg.min_support
        tag_floor = cfg.young_hashtag_floor if young else cfg.hashtag_floor
        for term, current in counts.items():
            e = _test(state, "#" + term, window, current, tag_floor, cfg, support)
            if e is not None and e.p_value <= p_tag and e.lift >= cfg.min_lift \
                    and e.observed >= support:
                found.append(e)
        watch_floor = cfg.young_watch_floor if young else cfg.watch_floor
        for term, w in watch.items():
            rare = state.expected(term, window, cfg) < cfg.young_watch_floor
            e = _test(state, term, window, (w.count, 0, 0, 0), watch_floor, cfg, 0,
                      before=rare)
            if e is not None and e.p_value <= cfg.watch_p_threshold \
                    and e.observed >= w.min_count:
                _support(state, term, window, w, e)
                found.append(e)
    for e in found:
        e.young = young
    emerging = {e.term: e for e in found}
    for term, (n, neg, pos, unk) in counts.items():
        _learn(state, "#" + term, window, (window, n, neg, pos, unk), span, cfg,
               "#" + term in emerging)
    for term, w in watch.items():
        _learn(state, term, window, (window, w.count, 0, 0, 0), span, cfg, term in emerging)
        st = state.terms[term]
        st.support = [r for r in st.support if r[0] > window - span] + [
            (window, w.authors, w.reach)]
    if state.last_window is None or window > state.last_window:
        state.weight = state._weight(window, cfg) + cfg.alpha
        state.last_window = window
    for e in found:
        _episode(state.terms[e.term], window, e, span, cfg)
    _evict(state, window, span, cfg)
    found.sort(key=lambda e: (-e.surprise, e.term))
    return found


def _resumed(state: TermState, window: int, cfg: TermConfig) -> bool:
    """Whether the silence before ``window`` means the stream was not live (a collector
    down, a query changed), so the baseline starts young again: a gap longer than
    ``gap_reset_windows`` in which the brand's long-run rate promised at least
    ``gap_reset_expected`` mentions. A brand talked about twice a day is silent for
    hours as a matter of course: if each silence made its baseline young, no watch term
    would ever be tested on the quiet brands whose small crises a team most needs to
    hear about (a card breach at a retailer with two posts a day)."""
    if state.last_window is None:
        return True
    gap = window - state.last_window - 1
    if gap < cfg.gap_reset_windows:
        return False
    lived = state.last_window - (state.first_window or state.last_window) + 1
    return state.mentions / lived * gap >= cfg.gap_reset_expected


def _test(state: TermState, term: str, window: int, current: tuple[int, int, int, int],
          floor: float, cfg: TermConfig, min_observed: int, before: bool = False
          ) -> Emergence | None:
    """The term's most improbable horizon; None when even the longest holds fewer than
    ``min_observed`` mentions: then no horizon has the support to emerge, and most of a
    window's tags are settled by this sum, without a tail probability. ``before``: each
    horizon is judged against the rate the term had before it. For a watch term the
    brand rarely hears (less than ``young_watch_floor`` a window), a few hits are the
    news: "fraud" once at 14:58 must not make "fraud" three times by 15:40 look
    ordinary."""
    st = state.terms.get(term)
    history = [r for r in st.recent if r[0] > window - max(cfg.horizons)] if st else []
    if current[0] + sum(r[1] for r in history) < min_observed:
        return None
    rate = max(state.expected(term, window, cfg), floor)
    best: Emergence | None = None
    for h in cfg.horizons:
        within = [(window, *current)] + [r for r in history if r[0] > window - h]
        observed = sum(r[1] for r in within)
        mu = (max(_expected_before(state, term, window, h, cfg), floor) if before
              else rate) * h
        p = float(gammainc(observed, mu)) if observed > 0 else 1.0
        if best is None or p < best.p_value:
            best = Emergence(term, observed, round(mu, 4), h, p, observed / mu,
                             sum(r[2] for r in within), sum(r[3] for r in within),
                             sum(r[4] for r in within))
    assert best is not None
    best.p_value = min(1.0, best.p_value * len(cfg.horizons))
    return best


def _expected_before(state: TermState, term: str, window: int, h: int,
                     cfg: TermConfig) -> float:
    """The term's expected count per window without what the last ``h`` windows taught
    it (``TermState.expected`` less their share of the weighted sum)."""
    st = state.terms.get(term)
    weight = state._weight(window, cfg)
    if st is None or weight <= 0.0:
        return 0.0
    keep = 1.0 - cfg.alpha
    taught = sum(cfg.alpha * r[1] * keep ** (st.last_window - r[0]) for r in st.recent
                 if window - h < r[0] <= st.last_window)
    return max(st.rate - taught, 0.0) * keep ** max(window - st.last_window, 0) / weight


def _support(state: TermState, term: str, window: int, current: WatchCount,
             e: Emergence) -> None:
    """Distinct authors and reach of a watch term over the emergence's horizon: one
    person's speculation is not a story, many people's is."""
    st = state.terms.get(term)
    earlier = [r for r in st.support if r[0] > window - e.horizon] if st else []
    authors = set(current.authors)
    for _, who, _ in earlier:
        if len(authors) >= AUTHORS_KEPT:
            break
        authors.update(who)
    e.authors = min(len(authors), AUTHORS_KEPT)
    e.reach = current.reach + sum(r[2] for r in earlier)


def _learn(state: TermState, term: str, window: int, counts: Counts, span: int,
           cfg: TermConfig, emerging: bool) -> None:
    """Learn a window's count; an emerging term learns at most ``min_lift`` times its
    rate, so that a storm does not become its own baseline (the horizon sums still see
    every mention)."""
    st = state.terms.get(term)
    if st is None:
        st = state.terms[term] = TermStat(last_window=window, first_window=window)
    x = float(counts[1])
    if emerging:
        x = min(x, cfg.min_lift * max(state.expected(term, window, cfg), cfg.hashtag_floor))
    decayed = st.rate * (1.0 - cfg.alpha) ** max(window - st.last_window, 0)
    st.rate = decayed + cfg.alpha * x
    st.last_window = window
    st.recent = [r for r in st.recent if r[0] > window - span] + [counts]


def _episode(st: TermStat, window: int, e: Emergence, span: int, cfg: TermConfig) -> None:
    """Remember this burst (a continuing one if the term emerged within ``span``
    windows), and say whether it repeats an earlier one at this time of day."""
    continuing = bool(st.episodes) and window - st.episodes[-1][1] <= span
    start = st.episodes[-1][0] if continuing else window
    earlier = st.episodes[:-1] if continuing else st.episodes
    day, tol = cfg.day_windows, cfg.recurring_tolerance_windows
    # intensity: the busiest window of the horizon (sums over horizons that reach back
    # before a burst began would make a growing burst look like a small one)
    rate = max(r[1] for r in st.recent if r[0] > window - e.horizon)
    matches = []
    for first, _, peak in earlier:
        gap = start - first
        phase = gap % day
        if (day - tol <= gap <= cfg.recurring_days * day + tol
                and min(phase, day - phase) <= tol
                and rate <= cfg.recurring_factor * peak):
            matches.append(first)
    e.recurring = tuple(matches)
    if continuing:
        first, _, peak = st.episodes[-1]
        st.episodes[-1] = (first, window, max(peak, rate))
    else:
        st.episodes.append((window, window, rate))
    horizon = window - (cfg.recurring_days + 1) * day
    st.episodes = [ep for ep in st.episodes if ep[1] > horizon][-cfg.episodes_kept:]


def _evict(state: TermState, window: int, span: int, cfg: TermConfig) -> None:
    excess = len(state.terms) - cfg.capacity
    if excess <= 0:
        return
    # Forget idle terms first, the weakest first; active ones only if a storm of new
    # terms exceeds the capacity on its own. Ranked by ``expected`` (computed as it
    # computes it, the brand's weight once); a term's newest count is of its last window.
    weight = state._weight(window, cfg)
    keep, since, terms = 1.0 - cfg.alpha, window - span, state.terms.items()
    if weight <= 0.0:  # every rate is 0: by name
        ranked = [t for _, _, t in heapq.nsmallest(excess, (
            (st.last_window > since, 0.0, t) for t, st in terms))]
    else:
        idle = [(st.rate * keep ** (window - st.last_window) / weight, t)
                for t, st in terms if st.last_window <= since]
        ranked = [t for _, t in heapq.nsmallest(excess, idle)]
        if len(ranked) < excess:
            active = [(st.rate * keep ** max(window - st.last_window, 0) / weight, t)
                      for t, st in terms if st.last_window > since]
            ranked += [t for _, t in heapq.nsmallest(excess - len(ranked), active)]
    for term in ranked:
        del state.terms[term]
