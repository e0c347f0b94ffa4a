"""Turn a brand's scored windows into incidents: one explained alert, not fifty.

An incident opens on the first anomalous window, absorbs the anomalous windows that
follow, and resolves after ``cooldown_windows`` of event time without one. Its id is a
hash of (brand, first window), so re-emitting a window (Bytewax does after recovery)
updates the same incident instead of creating another.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from detectors.types import Alert, VolumeScore
from detectors.window import WindowStats

SEVERITY_ORDER = ("info", "warning", "critical")


@dataclass(frozen=True)
class IncidentConfig:
    cooldown_windows: int = 6
    critical_surprise: float = 12.0
    critical_lift: float = 4.0
    examples: int = 5
    top: int = 8


@dataclass(slots=True)
class IncidentState:
    open: Alert | None = None
    stats: WindowStats = field(default_factory=WindowStats)
    peak: VolumeScore | None = None
    peak_window: float = 0.0


def incident_id(brand: str, first_window: float) -> str:
    return hashlib.sha1(f"{brand}|{int(first_window)}".encode()).hexdigest()[:16]


def step(
    state: IncidentState,
    brand: str,
    window_start: float,
    window_s: int,
    stats: WindowStats,
    score: VolumeScore,
    cfg: IncidentConfig,
    lead_in: Sequence[WindowStats] = (),
) -> list[Alert]:
    """Advance the brand's incident by one window; return the alert versions to store.

    ``lead_in`` holds the windows just before this one that the score's horizon summed:
    an incident that opens on an hour-long rise describes that hour, not only its last
    five minutes, so that its counts, shares and examples agree with its "observed".
    """
    out: list[Alert] = []
    alert = state.open
    if alert is not None and window_start - alert.last_window > cfg.cooldown_windows * window_s:
        alert.state = "resolved"
        alert.updated_window = alert.last_window + (cfg.cooldown_windows + 1) * window_s
        out.append(copy.deepcopy(alert))
        state.open = alert = None
    if not score.anomalous:
        return out
    if alert is None:
        alert = Alert(
            id=incident_id(brand, window_start),
            brand=brand,
            kinds=["volume"],
            severity="warning",
            state="open",
            first_window=window_start,
            last_window=window_start,
            window_s=window_s,
            updated_window=window_start,
        )
        state.open, state.stats, state.peak = alert, WindowStats(), None
        for earlier in lead_in[len(lead_in) - (score.horizon - 1):] if score.horizon > 1 else ():
            state.stats.merge(earlier)
    state.stats.merge(stats)
    if state.peak is None or score.surprise >= state.peak.surprise:
        state.peak, state.peak_window = score, window_start
    alert.last_window = alert.updated_window = window_start
    alert.severity = _max_severity(alert.severity, _severity(score, cfg))
    alert.explanation = explain(brand, state, window_s, cfg)
    out.append(copy.deepcopy(alert))
    return out


def _severity(score: VolumeScore, cfg: IncidentConfig) -> str:
    if score.surprise >= cfg.critical_surprise and score.lift >= cfg.critical_lift:
        return "critical"
    return "warning"


def _max_severity(a: str, b: str) -> str:
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def explain(brand: str, state: IncidentState, window_s: int, cfg: IncidentConfig) -> dict:
    """What a person reads in ten seconds: how much, how surprising, about what, by whom."""
    peak = state.peak
    assert peak is not None
    s = state.stats
    minutes = peak.horizon * window_s // 60
    at = datetime.fromtimestamp(state.peak_window, UTC).strftime("%Y-%m-%d %H:%M UTC")
    tags = ", ".join(f"#{t}" for t, _ in s.hashtags.top(3)) or "no hashtags"
    summary = (
        f"{brand}: {peak.horizon_observed} mentions in {minutes} min to {at} against "
        f"{peak.horizon_expected:.1f} expected ({peak.lift:.1f}x); p = {peak.p_value:.1e}; "
        f"{s.negative_share:.0%} negative; {tags}"
    )
    return {
        "summary": summary,
        "observed": peak.horizon_observed,
        "expected": peak.horizon_expected,
        "horizon_minutes": minutes,
        "lift": peak.lift,
        "p_value": peak.p_value,
        "surprise": peak.surprise,
        "score_meaning": (
            f"surprise {peak.surprise:.1f} = -log10(p): a count this high over {minutes} min "
            f"happens about once in 10^{peak.surprise:.1f} windows when nothing is going on "
            "(negative binomial baseline, corrected for the horizons tested)"
        ),
        "peak_window": state.peak_window,
        "mentions": s.count,
        "retweets": s.retweets,
        "negative_share": round(s.negative_share, 4),
        "mean_sentiment": round(s.mean_sentiment, 4),
        "reach": s.reach,
        "max_followers": s.max_followers,
        "top_hashtags": s.hashtags.top(cfg.top),
        "top_terms": s.terms.top(cfg.top),
        "examples": [
            {"id": e.id, "ts": e.ts, "text": e.text, "handle": e.handle,
             "followers": e.followers, "sentiment": round(e.sentiment, 3)}
            for e in sorted(s.examples, key=lambda e: -e.followers)[: cfg.examples]
        ],
    }
