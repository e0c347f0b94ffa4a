"""``GET /reports``: social care measured like every other channel.

Per brand and period: mention volume and negative share, incidents by severity, time to
acknowledge and to resolve (median, p90), response-clock (SLA) compliance, the top
complaint topics and the emerging ones (complaints that grew over days, with examples),
as JSON or, with ``Accept: text/csv`` (or ``format=csv``, for a download link), one CSV
row per brand for a spreadsheet. ``response/kpis.py`` says which clock measures what;
the period is in event time and takes the incidents that *opened* in it, so each
incident counts in exactly one period.
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.responses import Response

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.params import parse_time
from crisiswatch.api.report_models import ReportOut
from crisiswatch.api.security import require
from crisiswatch.detectors.timefmt import iso
from crisiswatch.response import kpis
from crisiswatch.store import Store

router = APIRouter(tags=["reports"])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}
ALL = 1_000_000  # windows / incidents read for one period: far above a year of a brand
CLOCKS = ("period, volume and incident duration: event time (the mentions' timestamps); "
          "time to acknowledge / resolve and response clocks: wall time, from crisiswatch "
          "publishing the incident to a person's action")
CSV_COLUMNS = (
    "brand", "start", "end", "mentions", "windows", "expected", "negative_share",
    "negative_share_baseline", "anomalous_windows", "incidents", "incidents_info",
    "incidents_warning", "incidents_critical", "acknowledged", "resolved_by_people",
    "resolved_by_detector", "open", "unmeasured", "tta_n", "tta_median_s", "tta_p90_s",
    "ttr_n", "ttr_median_s", "ttr_p90_s", "duration_median_s", "duration_p90_s",
    "sla_clocks", "sla_met", "sla_breached", "sla_pending", "sla_compliance", "top_topics",
    "feedback_judged", "precision",
    "emerging_topics",  # after the older columns: spreadsheets reading those keep working
)
TimeQuery = Annotated[str | None, Query(
    description="event time: ISO-8601 with a zone (2015-02-23T00:00:00-08:00) or epoch s")]


def build_report(store: Store, brands: list[str], start: float | None,
                 end: float | None) -> dict[str, Any]:
    """The report document; ``end`` is exclusive."""
    lo = -float("inf") if start is None else start
    hi = float("inf") if end is None else end
    per_brand = {b: [a for a in store.alerts(brand=b, since=start, limit=ALL)
                     if lo <= a["first_window"] < hi] for b in brands}
    ids = {a["id"] for docs in per_brand.values() for a in docs}
    published = store.events.first_times("incident.opened", ids) if ids else {}
    now = time.time()
    verdicts = {e["incident"]: e for e in store.feedback.all()}
    out = []
    for brand in brands:
        points = [p for p in store.series(brand, start, end, ALL) if p["window_start"] < hi]
        docs = per_brand[brand]
        topics = store.topics(brand, start, limit=1000)
        out.append({"brand": brand, "volume": kpis.volume(points),
                    "incidents": kpis.incidents(docs, published),
                    "sla": kpis.sla(docs, now),
                    "precision": kpis.precision(docs, verdicts),
                    "top_topics": kpis.top_topics(topics, start, end),
                    "emerging_topics": kpis.emerging_topics(topics, start, end)})
    return {"start": start, "end": end, "generated_at": now, "clocks": CLOCKS, "brands": out}


def _iso(t: float | None) -> str:
    return "" if t is None else iso(t)  # an open end is an empty cell


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (a brand ``=HYPERLINK(...)``,
    a topic term ``@foo``) gets a leading apostrophe, the OWASP escape: the cell shows the
    text instead of running it. Numbers are left as they are (a negative is no formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _topics(topics: list[dict[str, Any]]) -> str:
    """Topics in one cell: their first three terms and mentions in the period."""
    return "; ".join(f"{' '.join(t['terms'][:3])} ({t['mentions']})" for t in topics)


def to_csv(report: dict[str, Any]) -> str:
    """One row per brand; times as ISO-8601 UTC, durations in seconds, empty = none;
    text cells escaped against formula injection (``_cell``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for b in report["brands"]:
        v, i, s = b["volume"], b["incidents"], b["sla"]
        tta, ttr, dur = i["time_to_acknowledge"], i["time_to_resolve"], i["duration"]
        row = [b["brand"], _iso(report["start"]), _iso(report["end"]), v["mentions"],
               v["windows"], v["expected"], v["negative_share"], v["negative_share_baseline"],
               v["anomalous_windows"], i["total"], *i["by_severity"].values(),
               i["acknowledged"], i["resolved_by_people"], i["resolved_by_detector"],
               i["open"], i["unmeasured"], tta["n"], tta["median_s"], tta["p90_s"],
               ttr["n"], ttr["median_s"], ttr["p90_s"], dur["median_s"], dur["p90_s"],
               s["clocks"], s["met"], s["breached"], s["pending"], s["compliance"],
               _topics(b["top_topics"]), b["precision"]["judged"],
               b["precision"]["precision"], _topics(b["emerging_topics"])]
        w.writerow([_cell(x) for x in row])
    return buf.getvalue()


@router.get("/reports", response_model=ReportOut, dependencies=[Depends(require("read"))],
            responses={**ERRORS, 200: {"content": {"text/csv": {}},
                                       "description": "JSON, or CSV on request"}})
def reports(
    store: StoreDep,
    brand: Annotated[str | None, Query(description="one brand; none = every brand")] = None,
    from_: Annotated[TimeQuery, Query(alias="from")] = None,
    to: Annotated[TimeQuery, Query(description="exclusive")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(
        description="csv for a download link; else the Accept header decides")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """KPIs per brand over a period of event time: volume, negative share, incidents by
    severity, time to acknowledge and to resolve, SLA compliance, top and emerging topics."""
    known = store.brands()
    if brand is not None and brand not in known:
        raise HTTPException(404, f"unknown brand {brand!r}; GET /brands lists them")
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    if start is not None and end is not None and start >= end:
        raise HTTPException(422, f"'from' ({from_}) must be before 'to' ({to})")
    report = build_report(store, [brand] if brand else known, start, end)
    if format == "csv" or (format is None and "text/csv" in (accept or "")):
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", brand or "all")
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="crisiswatch-report-{name}.csv"'})
    return report
