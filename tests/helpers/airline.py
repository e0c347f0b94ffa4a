"""Reading the airline replay: the sample's local times, and incidents by period."""

from __future__ import annotations

from datetime import datetime


def ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M %z").timestamp()


def overlaps(alert: dict, start: float, end: float) -> bool:
    return alert["first_window"] < end and alert["last_window"] + alert["window_s"] > start
