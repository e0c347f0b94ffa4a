"""Is the staffing advice worth following? Its spike forecast against what followed.

Each stream is replayed through the flow ``crisiswatch run`` runs (``replays``). For every
warning or critical incident with ``HOURS`` of data after its alert, the forecast of
excess mentions (mentions above the brand's expected volume) in each of those hours is
compared with what came:

- **at the alert**: the forecast made when the incident opened;
- **updated**: each hour judged on the freshest forecast made before it began (the
  forecast is remade every window while the incident is open, and staffing is planned
  an hour at a time), the last one made while open staying in force after it resolves.

The error is the total absolute error over the hours divided by the actual total excess,
so forecasting no extra volume at all (``zero``) scores 1.0; ``persistence`` keeps the
excess at the alert for every hour; ``fixed decay`` is the advice before the learned
forecast (the excess halving every two hours). The learned forecast knows only what
was known when it was made: its model learns from the incidents whose hours had passed.
Coverage is the share of incident-hours whose actual excess was at most the P90.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crisiswatch.config.settings import Settings
from crisiswatch.evaluation import replays
from crisiswatch.evaluation.incident_table import when
from crisiswatch.response.spike_forecast import HOURS
from crisiswatch.response.spike_history import (
    HOUR_S,
    alert_time,
    forecast_now,
    hourly_excess,
    model_from,
    open_until,
)

METHODS = ("learned", "fixed decay", "persistence", "zero")
FIXED_HALF_LIFE_HOURS = 2.0


@dataclass(frozen=True)
class Scored:
    """One incident: the actual excess per hour and each method's forecasts."""

    incident: dict[str, Any]
    actual: list[float]
    at_alert: dict[str, list[float]]  # method -> forecast of each hour
    updated: dict[str, list[float]]
    p90_at_alert: list[float]
    p90_updated: list[float]


def fixed_decay(excess_per_hour: float, hours: int, half_life_hours: float) -> list[float]:
    """The advice before the learned forecast: the excess rate now decaying with a fixed
    half-life (the exact integral over each hour)."""
    if excess_per_hour <= 0:
        return [0.0] * hours
    k = math.log(2) / half_life_hours
    return [excess_per_hour * (math.exp(-k * h) - math.exp(-k * (h + 1))) / k
            for h in range(hours)]


def explained_rate(records: list[dict[str, Any]], first_window: float, now: float,
                   window_s: int) -> float:
    """The excess per hour an incident's explanation states at ``now``: over the horizon
    of its most surprising window so far (what the fixed-decay advice started from)."""
    during = [r for r in records if first_window <= r["window_start"] < now]
    if not during:
        return 0.0
    peak = max(during, key=lambda r: r.get("surprise", 0.0))
    span = int(peak.get("horizon", 1))
    lo = peak["window_start"] - (span - 1) * window_s
    inside = [r for r in records if lo <= r["window_start"] <= peak["window_start"]]
    excess = sum(r["count"] - r["expected"] for r in inside)
    return max(excess, 0.0) * 3600 / (span * window_s)


@dataclass(frozen=True)
class Made:
    """What was forecast at one time: the learned median and P90, and the excess rate the
    explanation stated then (where persistence and the fixed decay start)."""

    median: list[float]
    p90: list[float]
    rate: float

    def hour(self, method: str, offset_s: float) -> float:
        """``method``'s forecast (or the learned ``p90``) for the hour ``offset_s`` on."""
        per_hour = {"learned": self.median, "p90": self.p90, "zero": [],
                    "persistence": [self.rate] * (HOURS + 1),
                    "fixed decay": fixed_decay(self.rate, HOURS + 1, FIXED_HALF_LIFE_HOURS)}
        return _hour_of(per_hour[method], offset_s)


def made_at(incident: dict[str, Any], alerts: list[dict[str, Any]],
            series: dict[str, list[dict[str, Any]]], t: float) -> Made:
    """The forecasts for ``incident`` at ``t``, the model taught only by what was known."""
    records = series.get(incident["brand"], [])
    model = model_from([a for a in alerts if a["first_window"] < t], series, t)
    f = forecast_now(model, incident, records, t)
    return Made(list(f.median), list(f.p90),
                explained_rate(records, incident["first_window"], t, int(incident["window_s"])))


def score_incidents(alerts: list[dict[str, Any]],
                    series: dict[str, list[dict[str, Any]]]) -> list[Scored]:
    """Every warning or critical incident with ``HOURS`` of data after its alert, scored:
    each hour at the alert, and updated (on the forecast made when the hour began, or the
    last one made while the incident was open)."""
    data_end = max((pts[-1]["window_end"] for pts in series.values() if pts), default=0.0)
    out = []
    for inc in sorted(alerts, key=lambda a: a["first_window"]):
        start = alert_time(inc)
        if inc["severity"] == "info" or start + HOURS * HOUR_S > data_end:
            continue
        last_open = max(open_until(inc, data_end), start)
        hours = [start + h * HOUR_S for h in range(HOURS)]
        alert_plan = [(start, hour) for hour in hours]
        update_plan = [(min(hour, last_open), hour) for hour in hours]
        made = {t: made_at(inc, alerts, series, t) for t, _ in alert_plan + update_plan}
        out.append(Scored(
            inc, hourly_excess(series.get(inc["brand"], []), start, HOURS, int(inc["window_s"])),
            {m: _planned(made, m, alert_plan) for m in METHODS},
            {m: _planned(made, m, update_plan) for m in METHODS},
            _planned(made, "p90", alert_plan), _planned(made, "p90", update_plan)))
    return out


def _planned(made: dict[float, Made], method: str,
             plan: list[tuple[float, float]]) -> list[float]:
    """``method``'s forecast of each hour (its start) from the forecast made then (its time)."""
    return [made[t].hour(method, hour - t) for t, hour in plan]


def _hour_of(per_hour: list[float], offset_s: float) -> float:
    """The forecast for the hour starting ``offset_s`` after it was made (between two of
    its hours when not a whole number of hours; nothing past its horizon)."""
    k, frac = int(offset_s // HOUR_S), (offset_s % HOUR_S) / HOUR_S
    at = per_hour[k] if k < len(per_hour) else 0.0
    nxt = per_hour[k + 1] if k + 1 < len(per_hour) else 0.0
    return at * (1 - frac) + nxt * frac


def error(forecasts: list[list[float]], actuals: list[list[float]]) -> float | None:
    """Total absolute error over total actual excess (zero forecast: 1.0)."""
    total = sum(sum(a) for a in actuals)
    if total <= 0:
        return None
    return sum(abs(f - a) for fs, acts in zip(forecasts, actuals, strict=True)
               for f, a in zip(fs, acts, strict=True)) / total


def summarise(scored: list[Scored]) -> dict[str, Any]:
    """Total errors per method (at the alert and updated) and the P90's coverage."""
    actuals = [s.actual for s in scored]
    hours = [(a, p) for s in scored for a, p in zip(s.actual, s.p90_at_alert, strict=True)]
    hours_u = [(a, p) for s in scored for a, p in zip(s.actual, s.p90_updated, strict=True)]
    return {
        "incidents": len(scored),
        "at_alert": {m: error([s.at_alert[m] for s in scored], actuals) for m in METHODS},
        "updated": {m: error([s.updated[m] for s in scored], actuals) for m in METHODS},
        "coverage_at_alert": sum(a <= p for a, p in hours) / len(hours) if hours else None,
        "coverage_updated": sum(a <= p for a, p in hours_u) / len(hours_u) if hours_u else None,
    }


def run(paths: list[Path], settings: Settings, config: Path | None,
        console: Console) -> dict[str, dict[str, Any]]:
    """Replay each file as ``run`` would, score its incidents, print the tables; returns
    the summary per file."""
    embedder = replays.embedder_for(settings, console)
    console.print("evaluating the configuration `crisiswatch run` runs: "
                  f"{replays.describe(settings, config, topics=embedder is not None)}")
    out = {}
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="crisiswatch-staffing-") as tmp:
            ran = replays.replay(replays.as_stream(path, Path(tmp)), settings, console,
                                 embedder, label=path.name)
        scored = score_incidents(ran.alerts, ran.series)
        out[str(path)] = summary = summarise(scored)
        print_stream(path.name, scored, summary, console)
    return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_stream(name: str, scored: list[Scored], summary: dict[str, Any],
                 console: Console) -> None:
    table = Table(title=f"{name}: excess-mention forecast error over {HOURS} h "
                  "(total |error| / actual excess; zero = 1.0)")
    for col in ("incident", "actual / h", "learned: alert", "updated",
                "fixed decay", "persistence", "zero"):
        table.add_column(col)
    for s in scored:
        inc = s.incident
        table.add_row(f"{inc['brand']} {inc['severity']} {when(alert_time(inc))}",
                      " ".join(f"{a:.0f}" for a in s.actual),
                      _fmt(error([s.at_alert["learned"]], [s.actual])),
                      _fmt(error([s.updated["learned"]], [s.actual])),
                      _fmt(error([s.at_alert["fixed decay"]], [s.actual])),
                      _fmt(error([s.at_alert["persistence"]], [s.actual])),
                      _fmt(error([s.at_alert["zero"]], [s.actual])))
    a, u = summary["at_alert"], summary["updated"]
    table.add_row(f"total ({summary['incidents']} incidents)", "",
                  _fmt(a["learned"]), _fmt(u["learned"]), _fmt(a["fixed decay"]),
                  _fmt(a["persistence"]), _fmt(a["zero"]), style="bold")
    console.print(table)
    cov_a, cov_u = summary["coverage_at_alert"], summary["coverage_updated"]
    console.print(f"updated each hour: fixed decay {_fmt(u['fixed decay'])}, persistence "
                  f"{_fmt(u['persistence'])}; the P90 covers the actual hour in "
                  f"{'-' if cov_a is None else f'{cov_a:.0%}'} of incident-hours at the "
                  f"alert, {'-' if cov_u is None else f'{cov_u:.0%}'} updated")
