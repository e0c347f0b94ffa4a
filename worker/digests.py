"""Sending the teams' digests on their schedule (``WorkerConfig.digests``, from the
settings' ``activation.digests``).

The activation worker's clock loop calls ``DigestSchedule.run_due``: at the end of each
team's period the digest (``store.digest.build_digest``, the document ``GET /digest``
answers) goes into the outbox once per destination, rendered for its channel
(``response.digest``), and the delivery loop carries it like any message. The store
records the last period sent (``Store.claim_digest``), so a restarted worker, or a
second one, sends no period twice; the deliveries are in the audit trail of
``digest:{team}``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence

from crisiswatch.response import digest as bodies
from crisiswatch.response.digest import Team
from crisiswatch.response.lifecycle import Message
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store
from crisiswatch.store.digest import build_digest
from crisiswatch.worker.config import DigestConfig

log = logging.getLogger("crisiswatch.digests")


class DigestSchedule:
    def __init__(self, store: Store, digests: Sequence[DigestConfig],
                 playbooks: PlaybookSet) -> None:
        self.store = store
        self.digests = digests
        self.playbooks = playbooks

    def run_due(self, now: float | None = None) -> int:
        """Queue the digests whose period ended; returns how many messages."""
        now = time.time() if now is None else now
        queued = 0
        for d in self.digests:
            every = d.every_hours * 3600
            end = math.floor(now / every) * every
            if not self.store.claim_digest(d.team, end):
                continue
            team = Team(d.team, tuple(d.playbooks))
            digest = build_digest(self.store, self.store.events, team, end - every, end, now)
            messages = []
            for name in d.destinations:
                dest = self.playbooks.destinations.get(name)
                if dest is None or dest.format not in bodies.FORMATS:
                    log.warning("digest %s: destination %r is not a slack, teams, email or "
                                "json destination of the playbook file", d.team, name)
                    continue
                key = hashlib.sha256(f"digest|{d.team}|{end}|{name}".encode()).hexdigest()[:24]
                messages.append(Message(key, name, dest.url, dest.format,
                                        bodies.render(dest, digest), "digest",
                                        f"digest:{d.team}", d.team, 0, now))
            self.store.outbox.enqueue(messages)
            queued += len(messages)
            log.info("digest %s for the period to %s: %d message(s)", d.team, end,
                     len(messages))
        return queued
