"""Everything a brand's detectors know, advanced one closed window at a time.

The flow keeps one ``BrandState`` per brand (Bytewax snapshots it for recovery) and
calls ``observe`` for each closed window in event-time order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from detectors import incidents, volume
from detectors.types import Alert
from detectors.window import WindowStats


@dataclass(frozen=True)
class DetectorConfig:
    window_s: int
    volume: volume.VolumeConfig = field(default_factory=volume.VolumeConfig)
    incidents: incidents.IncidentConfig = field(default_factory=incidents.IncidentConfig)


@dataclass(slots=True)
class BrandState:
    volume: volume.VolumeState = field(default_factory=volume.VolumeState)
    incident: incidents.IncidentState = field(default_factory=incidents.IncidentState)
    recent: deque[tuple[int, WindowStats]] = field(default_factory=deque)


def observe(
    state: BrandState, brand: str, window: int, stats: WindowStats, cfg: DetectorConfig
) -> tuple[dict[str, Any], list[Alert]]:
    """Score one closed window; return its series record and any incident versions."""
    start = window * cfg.window_s
    score = volume.update(state.volume, window, stats.count, cfg.volume)
    longest = max(cfg.volume.horizons)
    lead_in = [s for w, s in state.recent if w > window - longest]
    alerts = incidents.step(state.incident, brand, start, cfg.window_s, stats, score,
                            cfg.incidents, lead_in)
    state.recent.append((window, stats))
    if len(state.recent) >= longest:
        state.recent.popleft()
    record = {
        "brand": brand,
        "window_start": start,
        "window_end": start + cfg.window_s,
        **stats.summary(),
        "expected": score.expected,
        "p_value": score.p_value,
        "surprise": score.surprise,
        "lift": score.lift,
        "horizon": score.horizon,
        "anomalous": score.anomalous,
        "warming_up": score.warming_up,
    }
    return record, alerts
