"""What a replay paged people for, with who was talking, so a reviewer can judge each
incident by reading it: ``crisiswatch eval --stream`` prints it for any stream,
labelled or not.

Paging is what decides whether a team keeps the tool switched on, so the figures are
the warning and critical incidents per brand-day, and for each of them its support
(distinct authors and voices, retweet, own and spam shares: ``detectors.support``)
beside the summary people would have read.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from crisiswatch.evaluation.incident_table import when

PAGING = ("warning", "critical")


def paged(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The incidents that page someone, in time order."""
    return sorted((a for a in alerts if a["severity"] in PAGING),
                  key=lambda a: (a["first_window"], a["brand"]))


def per_brand_day(alerts: list[dict[str, Any]], series: dict[str, list[dict[str, Any]]]
                  ) -> float:
    """Paging incidents per brand per day of stream (each brand's first to last window)."""
    days = sum(max((pts[-1]["window_end"] - pts[0]["window_start"]) / 86400, 1 / 24)
               for pts in series.values() if pts)
    return len(paged(alerts)) / days if days else 0.0


def print_paged(alerts: list[dict[str, Any]], series: dict[str, list[dict[str, Any]]],
                console: Console) -> dict[str, Any]:
    """Print the paging incidents, a block each (when, severity, brand, id; who was
    talking; the summary as people read it); return the figures."""
    rows = paged(alerts)
    rate = per_brand_day(alerts, series)
    console.print(f"[bold]{len(rows)} paging incident(s)[/] (warning or critical; "
                  f"{rate:.4f} per brand-day), with who was talking:")
    for a in rows:
        s = a["explanation"].get("support") or {}
        console.print(
            f"- {when(a['first_window'])}  [bold]{a['severity']}[/]  {a['brand']}  {a['id']}\n"
            f"  support: {s.get('authors', '?')} authors, {s.get('voices', '?')} voices in "
            f"their own words, {s.get('retweet_share', 0):.0%} retweets, "
            f"{s.get('own_share', 0):.0%} own, {s.get('spam_share', 0):.0%} spam\n"
            f"  {a['explanation']['summary']}", markup=True, highlight=False)
    return {"paged": len(rows), "paged_per_brand_day": round(rate, 4)}
