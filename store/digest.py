"""A team's digest from what the store keeps.

``GET /digest`` and the activation worker's schedule (``worker/digests.py``) both ask
here, so the document a team is sent is the one it can ask for; what it says is
``response.digest.document``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from crisiswatch.response.digest import Team, document

if TYPE_CHECKING:
    from crisiswatch.store.events import EventLog
    from crisiswatch.store.reads import Reads

ALL = 100_000  # incidents read at most: every one active in the period


def build_digest(store: Reads, events: EventLog, team: Team, start: float, end: float,
                 now: float | None = None) -> dict[str, Any]:
    """The digest of the incidents first seen in [start, end) that the team handles
    (``store``: the read side, ``Store`` itself where it is at hand; ``events``: when each
    was published)."""
    docs = [a for a in store.alerts(since=start, limit=ALL)
            if start <= a["first_window"] < end and team.handles(a)]
    ids = {a["id"] for a in docs}
    published = events.first_times("incident.opened", ids) if ids else {}
    topics = [t for b in sorted({a["brand"] for a in docs})
              for t in store.topics(b, start, limit=1000)]
    return document(team, start, end, docs, published, topics,
                    time.time() if now is None else now)
