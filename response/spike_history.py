"""A spike forecast from what the store keeps: a brand's series records and its incidents.

The evaluation (``crisiswatch eval --staffing``) and the live advice (the API, the
activation worker) build their views and teach their models here, one way: the forecast
people read is the forecast that was measured. Pure: the records come from the caller.
"""

from __future__ import annotations

from typing import Any

from crisiswatch.response.spike_forecast import (
    HOURS,
    Forecast,
    ShapeModel,
    SpikeView,
    view_from_series,
    window_index,
)

HOUR_S = 3600


def alert_time(incident: dict[str, Any]) -> float:
    """When the incident was first known: the end of its first window."""
    return float(incident["first_window"]) + int(incident["window_s"])


def open_until(incident: dict[str, Any], now: float) -> float:
    """The end of the last window the incident was open at (``now`` while it is)."""
    if incident.get("state") == "resolved":
        return float(incident.get("updated_window", incident["last_window"]))
    return now


def kinds_until(records: list[dict[str, Any]], first_window: float, now: float) -> frozenset[str]:
    """The kinds of evidence the incident had gathered by ``now`` (each series record,
    in time order, names its window's signals)."""
    during = records[window_index(records, first_window):window_index(records, now)]
    return frozenset(k for r in during for k in r.get("signals", ()))


def view_at(incident: dict[str, Any], records: list[dict[str, Any]], now: float) -> SpikeView:
    """The incident's spike as it was at ``now`` (a window end)."""
    first = float(incident["first_window"])
    return view_from_series(incident["brand"], records, first, now, int(incident["window_s"]),
                            kinds_until(records, first, now))


def hourly_excess(records: list[dict[str, Any]], start: float, hours: int,
                  window_s: int) -> list[float]:
    """Mentions above the brand's expected volume in each hour from ``start`` (at least 0;
    a window with no record counts 0 against the expectation of the window before it)."""
    out = []
    for h in range(hours):
        lo = start + h * HOUR_S
        view = view_from_series("", records, lo, lo + HOUR_S, window_s)
        out.append(max(sum(view.counts) - sum(view.expected), 0.0))
    return out


def forecast_times(incident: dict[str, Any], now: float) -> list[float]:
    """When the forecasts that are learned from and measured were made: at the alert and
    at each hour after it while the incident was open, within ``HOURS``."""
    start, until = alert_time(incident), open_until(incident, now)
    return [start + k * HOUR_S for k in range(HOURS) if start + k * HOUR_S <= max(until, start)]


def learn_incident(model: ShapeModel, incident: dict[str, Any],
                   records: list[dict[str, Any]], data_end: float) -> int:
    """Teach ``model`` what followed each forecast of ``incident`` whose ``HOURS`` had all
    passed by ``data_end``; returns how many it learned."""
    window_s = int(incident["window_s"])
    learned = 0
    for t in forecast_times(incident, data_end):
        if t + HOURS * HOUR_S <= data_end:
            model.learn(view_at(incident, records, t),
                        hourly_excess(records, t, HOURS, window_s))
            learned += 1
    return learned


def model_from(incidents: list[dict[str, Any]], records: dict[str, list[dict[str, Any]]],
               data_end: float) -> ShapeModel:
    """A model taught by every past incident (oldest first) whose hours were known by
    ``data_end``: ``records`` are the series of each incident's brand."""
    model = ShapeModel()
    for inc in sorted(incidents, key=lambda i: i["first_window"]):
        learn_incident(model, inc, records.get(inc["brand"], []), data_end)
    return model


def forecast_now(model: ShapeModel, incident: dict[str, Any], records: list[dict[str, Any]],
                 now: float, hours: int = HOURS) -> Forecast:
    """The forecast in force at ``now``: made at the latest window closed while the
    incident was open."""
    return model.forecast(view_at(incident, records, min(now, open_until(incident, now))),
                          hours)
