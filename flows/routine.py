"""The terms people declared routine for a brand through the API, as the flow sees them.

``POST /brands/{brand}/routine`` stores a declaration (``Store.routine``); the brand's
windows read them through ``RoutineRefresher`` when a window closes, at most one store
read every ``refresh_s`` seconds for the whole process, so a declaration takes effect
within seconds and costs the flow nothing between reads. The settings' own
``brands.<name>.routine`` are in the brand's ``DetectorConfig`` already; these are
added to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from store import Store, StoreError

log = logging.getLogger(__name__)


class RoutineRefresher:
    """``refresher(brand)``: the brand's routine terms from the store, as of the last
    read. A store that cannot be read leaves the last answer in force (a declaration is
    worth keeping through an outage, and mentions must not wait for it)."""

    def __init__(self, store: Store, refresh_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock
        self.next_read = 0.0
        self.terms: dict[str, frozenset[str]] = {}

    def __call__(self, brand: str) -> frozenset[str]:
        if self.clock() >= self.next_read:
            self.next_read = self.clock() + self.refresh_s
            try:
                self.terms = self.store.routine.in_force()
            except StoreError as e:
                log.warning("could not read the routine terms: %s", e)
        return self.terms.get(brand, frozenset())
