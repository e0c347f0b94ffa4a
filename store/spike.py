"""The spike forecast behind the staffing advice, from what the store keeps.

The API's ``GET /alerts/{id}/staffing`` and the activation worker's ``staffing`` action
ask here, so a team reads one figure wherever it looks. The model is taught, as
``crisiswatch eval --staffing`` measured it, by the latest incidents whose hours have
passed (``response.spike_history``); the forecast is remade from the brand's latest
closed window while the incident is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisiswatch.response.spike_forecast import HOURS, Forecast
from crisiswatch.response.spike_history import HOUR_S, alert_time, forecast_now, model_from

if TYPE_CHECKING:
    from crisiswatch.store.reads import Reads

PAST_INCIDENTS = 200  # the latest incidents the model learns from, of every brand
SERIES_KEPT = 1_000_000  # records read per brand at most (the store keeps fewer)


def spike_forecast(store: Reads, incident: dict[str, Any], hours: int = HOURS,
                   at: float | None = None) -> Forecast | None:
    """The forecast in force for ``incident`` now (made at the brand's latest closed
    window, or the last one the incident was open at), or as it was known ``at`` (an
    incident version's time: the worker may act on an event later than it was
    published); None when the store keeps no window of the incident (the advice then
    reads its explanation alone)."""
    past = [a for a in store.alerts(limit=PAST_INCIDENTS) if a["id"] != incident["id"]]
    series = {b: [r for lo, hi in spans for r in store.series(b, lo, hi, limit=SERIES_KEPT)]
              for b, spans in _spans(past).items()}
    own = store.series(incident["brand"], incident["first_window"] - HOUR_S, limit=SERIES_KEPT)
    if not any(r["window_start"] >= incident["first_window"] for r in own):
        return None
    now = own[-1]["window_end"] if at is None else min(at, own[-1]["window_end"])
    data_end = max([pts[-1]["window_end"] for pts in [*series.values(), own] if pts])
    if at is not None:
        data_end = min(data_end, at)
    model = model_from(past, series, data_end)
    return forecast_now(model, incident, own, now, hours)


def _spans(incidents: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Per brand, the stretches of its series the model learns from (an hour before
    each incident to the end of its last forecast's hours), merged where they overlap:
    a brand's whole history would be read for nothing."""
    wanted: dict[str, list[tuple[float, float]]] = {}
    for inc in incidents:
        start = alert_time(inc)
        wanted.setdefault(inc["brand"], []).append(
            (inc["first_window"] - HOUR_S, start + (2 * HOURS - 1) * HOUR_S))
    merged: dict[str, list[tuple[float, float]]] = {}
    for brand, spans in wanted.items():
        out: list[tuple[float, float]] = []
        for lo, hi in sorted(spans):
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged[brand] = out
    return merged
