"""``GET /digest``: a shift's or a day's summary for a team, on demand.

The same document the activation worker sends on the settings' schedule
(``digests`` in the settings; ``crisiswatch/digests.py``) to the team's channels:
incidents opened in the period (event time, as the reports place them), how many were
acknowledged and resolved, response times against the response clocks
(``api/kpis.py``, the reports' own measures), the top complaint topics, and the worst
incidents by their headline. ``format=slack|teams|email`` answers the body as that
channel receives it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from crisiswatch.api import kpis
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.params import TimeParam, parse_time
from crisiswatch.api.security import require
from crisiswatch.detectors.types import SEVERITY_RANK
from crisiswatch.response import digest as bodies
from crisiswatch.response.playbooks import Destination
from crisiswatch.store import Store

router = APIRouter(tags=["reports"])
ALL = 100_000
WORST = 5


@dataclass(frozen=True)
class Team:
    """Whose digest: the incidents of these playbooks (none: every incident)."""

    name: str
    playbooks: tuple[str, ...] = ()


def build_digest(store: Store, team: Team, start: float, end: float,
                 now: float | None = None) -> dict[str, Any]:
    """The digest of the incidents first seen in [start, end) that the team handles."""
    docs = [a for a in store.alerts(since=start, limit=ALL) if start <= a["first_window"] < end
            and (not team.playbooks or {p["name"] for p in a["playbooks"]} & set(team.playbooks))]
    ids = {a["id"] for a in docs}
    published = store.events.first_times("incident.opened", ids) if ids else {}
    topics = [t for b in sorted({a["brand"] for a in docs})
              for t in store.topics(b, start, limit=1000)]
    worst = sorted(docs, key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), -a["first_window"]))
    return {
        "team": team.name, "start": start, "end": end,
        "generated_at": time.time() if now is None else now,
        "incidents": kpis.incidents(docs, published),
        "sla": kpis.sla(docs, time.time() if now is None else now),
        "top_topics": kpis.top_topics(topics, start, end),
        "worst": [{"id": a["id"], "brand": a["brand"], "severity": a["severity"],
                   "state": a["state"], "headline": a.get("headline", "")}
                  for a in worst[:WORST]],
    }


def teams(request: Request) -> dict[str, Team]:
    return getattr(request.app.state, "digest_teams", None) or {}


@router.get("/digest", responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                  503: {"model": ErrorOut}},
            dependencies=[Depends(require("read"))])
def digest(request: Request, from_: Annotated[TimeParam, Query(alias="from")] = None,
           to: TimeParam = None,
           team: Annotated[str | None, Query(description="a team of the settings' digests; "
                                             "none: every incident")] = None,
           format: Literal["json", "slack", "teams", "email"] = "json") -> Any:
    """The summary of a period (default: the 24 h before ``to``, or before now)."""
    end = parse_time(to, "to")
    end = time.time() if end is None else end
    start = parse_time(from_, "from")
    start = end - 86_400 if start is None else start
    if team is not None and team not in teams(request):
        raise HTTPException(404, f"no digest team {team!r}; known: "
                            f"{', '.join(teams(request)) or 'none (settings: digests)'}")
    found = build_digest(_store(request), teams(request).get(team or "", Team("everyone")),
                         start, end)
    if format == "json":
        return found
    dest = Destination("preview", "", format, sender="crisiswatch@localhost",
                       to=("team@localhost",))
    return Response(bodies.render(dest, found), media_type="application/json")


def _store(request: Request) -> Store:
    return request.app.state.store
