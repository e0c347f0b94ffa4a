"""``GET /digest``: a shift's or a day's summary for a team, on demand.

The same document the activation worker sends on the settings' schedule
(``activation.digests``; ``worker/digests.py``) to the team's channels: incidents
opened in the period (event time, as the reports place them), how many were
acknowledged and resolved, response times against the response clocks
(``response/kpis.py``, the reports' own measures), the top complaint topics, and the
worst incidents by their headline. ``format=slack|teams|email`` answers the body as that
channel receives it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from crisiswatch.api.deps import DigestTeamsDep, StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.params import TimeParam, parse_time
from crisiswatch.api.security import require
from crisiswatch.response import digest as bodies
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import Destination
from crisiswatch.store.digest import build_digest

router = APIRouter(tags=["reports"])


@router.get("/digest", responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                  503: {"model": ErrorOut}},
            dependencies=[Depends(require("read"))])
def digest(store: StoreDep, teams: DigestTeamsDep,
           from_: Annotated[TimeParam, Query(alias="from")] = None,
           to: TimeParam = None,
           team: Annotated[str | None, Query(description="a team of the settings' digests; "
                                             "none: every incident")] = None,
           format: Literal["json", "slack", "teams", "email"] = "json") -> Any:
    """The summary of a period (default: the 24 h before ``to``, or before now)."""
    end = parse_time(to, "to")
    end = time.time() if end is None else end
    start = parse_time(from_, "from")
    start = end - 86_400 if start is None else start
    if team is not None and team not in teams:
        raise HTTPException(404, f"no digest team {team!r}; known: "
                            f"{', '.join(teams) or 'none (settings: digests)'}")
    found = build_digest(store, store.events, teams.get(team or "", Team("everyone")), start, end)
    if format == "json":
        return found
    dest = Destination("preview", "", format, sender="crisiswatch@localhost",
                       to=("team@localhost",))
    return Response(bodies.render(dest, found), media_type="application/json")
