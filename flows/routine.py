"""What people told crisiswatch about a brand through the API, as the flow sees it: the
terms they declared routine, and the incident patterns they marked noise.

``POST /brands/{brand}/routine`` stores a declaration (``Store.routine``) and
``POST /alerts/{id}/feedback`` a verdict (``Store.feedback``); the brand's windows read
them through ``RoutineRefresher`` when a window closes, at most one store read of each
every ``refresh_s`` seconds for the whole process, so they take effect within seconds
and cost the flow nothing between reads. The settings' own ``brands.<name>.routine``
are in the brand's ``DetectorConfig`` already; these are added to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from crisiswatch.detectors.feedback import NoiseMark
from crisiswatch.store import Store, StoreError

log = logging.getLogger(__name__)


class RoutineRefresher:
    """``refresher(brand)``: the brand's routine terms from the store, and
    ``refresher.noise(brand)`` the patterns its team marked noise, as of the last read.
    A store that cannot be read leaves the last answer in force (what people said is
    worth keeping through an outage, and mentions must not wait for it)."""

    def __init__(self, store: Store, refresh_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock
        self.next_read = 0.0
        self.terms: dict[str, frozenset[str]] = {}
        self.marks: dict[str, tuple[NoiseMark, ...]] = {}

    def __call__(self, brand: str) -> frozenset[str]:
        self._refresh()
        return self.terms.get(brand, frozenset())

    def noise(self, brand: str) -> tuple[NoiseMark, ...]:
        self._refresh()
        return self.marks.get(brand, ())

    def _refresh(self) -> None:
        if self.clock() < self.next_read:
            return
        self.next_read = self.clock() + self.refresh_s
        try:
            self.terms = self.store.routine.in_force()
            self.marks = {brand: tuple(NoiseMark.from_dict(d) for d in marks)
                          for brand, marks in self.store.feedback.noise().items()}
        except StoreError as e:
            log.warning("could not read the routine terms and noise marks: %s", e)
