"""A bound on the brands one flow process keeps state for.

Why: a brand's windows and detectors hold state for as long as the flow runs (about
5 KiB of objects a brand met once, 17 KiB once it has read a window, 1.2 KiB once
packed while quiet: ``flows/idle_brands.py``),
and the brand is whatever a record names: anyone with an ingest key, or a collector
that writes handles into ``brand``, could create brands until the flow runs out of
memory. Past ``ingest.max_brands``, a mention of a brand not yet admitted
is dead-lettered with the reason (nothing is lost silently), and the brands already
admitted go on as before. The brands the store already publishes are admitted at the
start, so a restart keeps serving them whatever order the input comes in.
"""

from __future__ import annotations

from collections.abc import Iterable


class BrandCap:
    """The brands admitted so far, at most ``limit`` new ones beyond ``known``
    (``limit`` None: no bound)."""

    def __init__(self, limit: int | None, known: Iterable[str] = ()) -> None:
        self.limit = limit
        self.admitted: set[str] = set(known)

    def admits(self, brand: str) -> bool:
        if self.limit is None or brand in self.admitted:
            return True
        if len(self.admitted) >= self.limit:
            return False
        self.admitted.add(brand)
        return True

    def reason(self, brand: str) -> str:
        return (f"brand {brand!r} is past the flow's limit of {self.limit:,} brands "
                "(ingest.max_brands): each keeps windows and detectors in memory; raise "
                "the limit or fix the collector that fills 'brand'")
