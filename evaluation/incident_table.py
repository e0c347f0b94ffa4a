"""How the command line shows incidents and times: one table for ``run``, ``flow`` and
``backtest``, so an incident reads the same everywhere and can be looked up by its id
(``GET /alerts/{id}``).

Times carry their date and zone: a replay of February 2015 read on a December morning,
or an on-call engineer in another zone than the servers, must not guess which day or
hour "10:05" was. They are shown in the zone of the machine (``TZ`` changes it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.table import Table


def when(ts: float) -> str:
    """An event time as ``2015-02-23 10:05 PST``: date, minute, zone."""
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def incident_table(alerts: Iterable[dict[str, Any]], title: str) -> Table:
    """First window (date and zone), severity, brand, state, id and the summary."""
    table = Table(title=title, show_lines=False)
    for col in ("first window", "severity", "brand", "state", "id", "summary"):
        table.add_column(col, overflow="fold")
    for a in alerts:
        table.add_row(when(a["first_window"]), a["severity"], a["brand"], a["state"], a["id"],
                      a["explanation"]["summary"])
    return table
