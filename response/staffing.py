"""Contact-center staffing advice: how many extra agents a spike of mentions needs.

A crisis on social media is also a queue: a share of the mentions need a reply, each
reply takes an agent some minutes, and the contact center promises a service level
("80 % answered within 15 minutes"). Erlang C (an M/M/N queue) turns contacts per
hour, average handle time and that promise into the number of agents needed, so the
advice is "staff 4 more agents for the next two hours", not "volume is up 3x".

The spike's future is unknown: ``spike_forecast`` gives the excess mentions of each
hour ahead as a median and a P90, learned from past incidents, and the advice staffs
both, so a team chooses its risk (the median, or the cautious P90). A fixed decay was
worse than assuming no spike at all on real streams (``crisiswatch eval --staffing``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from crisiswatch.response.spike_forecast import Forecast, ShapeModel, SpikeView


@dataclass(frozen=True)
class StaffingConfig:
    reply_fraction: float = 0.3  # share of mentions that need a reply from an agent
    aht_seconds: float = 360.0  # average handle time of one reply
    service_level: float = 0.8  # share of contacts answered within ...
    answer_within_seconds: float = 900.0  # ... this many seconds
    horizon_hours: int = 4  # hours of advice
    max_occupancy: float = 0.85  # busy share of an agent's time that is sustainable
    max_agents: int = 10_000  # search bound: a larger answer means the inputs are wrong


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability by the stable recurrence B(n) = A·B(n-1) / (n + A·B(n-1)),
    which never forms A^N/N! (that overflows for a few hundred agents)."""
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a contact has to wait, with ``traffic`` = arrivals × handle time
    in Erlangs. With no more agents than Erlangs the queue grows without bound: 1."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def service_level(agents: int, traffic: float, aht_seconds: float,
                  within_seconds: float) -> float:
    """Share of contacts answered within ``within_seconds``."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    wait = erlang_c(agents, traffic)
    return 1.0 - wait * math.exp(-(agents - traffic) * within_seconds / aht_seconds)


def average_speed_of_answer(agents: int, traffic: float, aht_seconds: float) -> float:
    """Mean wait in seconds (infinite when the queue cannot keep up)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_seconds / (agents - traffic)


def agents_needed(contacts_per_hour: float, cfg: StaffingConfig) -> int:
    """The fewest agents that meet the service level for this arrival rate without
    keeping them busier than ``max_occupancy``: with a generous answer time (15 min on
    social care) Erlang C alone would staff agents at 95 % busy, which no team sustains
    through a crisis."""
    traffic = contacts_per_hour * cfg.aht_seconds / 3600.0
    if traffic <= 0:
        return 0
    agents = max(math.floor(traffic) + 1, math.ceil(traffic / cfg.max_occupancy))
    while service_level(agents, traffic, cfg.aht_seconds,
                        cfg.answer_within_seconds) < cfg.service_level:
        agents += 1
        if agents > cfg.max_agents:
            raise ValueError(f"more than {cfg.max_agents} agents needed for "
                             f"{contacts_per_hour:.0f} contacts/h: check the staffing inputs")
    return agents


def explanation_view(explanation: dict[str, Any], brand: str = "",
                     window_s: int = 300) -> SpikeView | None:
    """A view of the spike from the incident's explanation alone (its observed and
    expected counts over ``horizon_minutes``, spread evenly over those windows), for
    when the brand's series cannot be read; None without counts."""
    try:
        observed = float(explanation["observed"])
        expected = float(explanation["expected"])
        minutes = float(explanation["horizon_minutes"])
    except (KeyError, TypeError, ValueError):
        return None
    if minutes <= 0:
        return None
    span = max(round(minutes * 60 / window_s), 1)
    per_hour = max(round(3600 / window_s), span)
    counts = [0.0] * (per_hour - span) + [observed / span] * span
    expected_w = [expected / span] * per_hour
    made_at = float(explanation.get("peak_window") or 0.0) + window_s
    return SpikeView(brand, tuple(counts), tuple(expected_w), window_s, made_at=made_at)


def recommend(explanation: dict[str, Any], cfg: StaffingConfig,
              forecast: Forecast | None = None) -> dict[str, Any] | None:
    """Hour-by-hour advice for the median and the P90 of the spike's forecast (made from
    the brand's series by ``spike_history``; without one, from the explanation's counts
    and no history). The baseline is the explanation's expected rate. None when the
    explanation has no counts to work from."""
    view = explanation_view(explanation)
    if view is None:
        return None
    if forecast is None:
        forecast = ShapeModel().forecast(view, cfg.horizon_hours)
    minutes = float(explanation["horizon_minutes"])
    baseline = max(float(explanation["expected"]), 0.0) * 60.0 / minutes
    base_contacts = cfg.reply_fraction * baseline
    base_agents = agents_needed(base_contacts, cfg)
    hours = []
    for h in range(cfg.horizon_hours):
        median = forecast.median[h] if h < len(forecast.median) else 0.0
        p90 = forecast.p90[h] if h < len(forecast.p90) else 0.0
        contacts = cfg.reply_fraction * median
        traffic = (base_contacts + contacts) * cfg.aht_seconds / 3600.0
        agents = agents_needed(base_contacts + contacts, cfg)
        agents_p90 = agents_needed(base_contacts + cfg.reply_fraction * p90, cfg)
        asa = average_speed_of_answer(agents, traffic, cfg.aht_seconds)
        hours.append({
            "hour": h,
            "excess_mentions": round(median, 1),
            "excess_mentions_p90": round(p90, 1),
            "contacts": round(contacts, 1),
            "contacts_p90": round(cfg.reply_fraction * p90, 1),
            "baseline_contacts": round(base_contacts, 1),
            "agents": agents,
            "agents_p90": agents_p90,
            "baseline_agents": base_agents,
            "extra_agents": agents - base_agents,
            "extra_agents_p90": agents_p90 - base_agents,
            "service_level": round(service_level(agents, traffic, cfg.aht_seconds,
                                                 cfg.answer_within_seconds), 4),
            "asa_seconds": round(asa, 1),
            "occupancy": round(traffic / agents, 3) if agents else 0.0,
        })
    peak = max((h["extra_agents"] for h in hours), default=0)
    peak_p90 = max((h["extra_agents_p90"] for h in hours), default=0)
    first = hours[0] if hours else None
    by_hour = ", ".join(f"{h['extra_agents']}/{h['extra_agents_p90']}" for h in hours)
    summary = (
        f"next hour: ~{first['contacts']:.0f} extra contacts from the spike "
        f"(P90 {first['contacts_p90']:.0f}); {first['extra_agents']} extra agent(s), "
        f"{first['extra_agents_p90']} to be safe (peak {peak}, P90 {peak_p90} over "
        f"{cfg.horizon_hours} h; the spike is {forecast.features.shape}) to "
        f"answer {cfg.service_level:.0%} within {cfg.answer_within_seconds / 60:g} min "
        f"at {cfg.aht_seconds / 60:g} min per reply; extra agents hour by hour, "
        f"median/P90: {by_hour}"
        if first else "no advice: zero-hour horizon"
    )
    return {"summary": summary, "peak_extra_agents": peak, "peak_extra_agents_p90": peak_p90,
            "hours": hours, "excess_per_hour_now": round(forecast.features.level, 1),
            "forecast": forecast.to_dict(), "config": asdict(cfg)}
