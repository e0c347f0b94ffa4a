"""What the flow's steps hand on after the brands' windows: small frozen records, told
apart by their type (a ``match`` in the sink and the tally), never by a tuple's length.

``BrandWindows`` emits store items (``WindowItem``, ``IncidentItem``, ``TopicItem``,
``LateItem``, ``DeadLetterItem``) and ``Count``s of outcomes; the flow sums the counts
into one ``StatsItem`` of running totals; ``flows/sinks.StoreSink`` writes the store
items. They cross workers and snapshots by pickle, as any Bytewax item does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from crisiswatch.detectors.types import Incident


class _Tagged:
    __slots__ = ()
    tag: ClassVar[str]  # what the item is, in log lines and dead letters

    def described(self) -> str:
        """The item as text for a dead letter: its tag and its fields, in order."""
        values = (getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]
        return repr((self.tag, *values))


@dataclass(frozen=True, slots=True)
class WindowItem(_Tagged):
    """A brand's closed window, as the series keeps it."""

    tag: ClassVar[str] = "window"
    brand: str
    start: float
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncidentItem(_Tagged):
    """An incident version."""

    tag: ClassVar[str] = "incident"
    incident: Incident


@dataclass(frozen=True, slots=True)
class TopicItem(_Tagged):
    """A topic version."""

    tag: ClassVar[str] = "topic"
    topic: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LateItem(_Tagged):
    """A mention whose window had closed: kept, never folded in."""

    tag: ClassVar[str] = "late"
    key: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetterItem(_Tagged):
    """A record the flow could not use, with the reason."""

    tag: ClassVar[str] = "deadletter"
    key: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatsItem(_Tagged):
    """The outcome totals so far (absolute: the newest one stored wins)."""

    tag: ClassVar[str] = "stats"
    totals: dict[str, int]


@dataclass(frozen=True, slots=True)
class Count:
    """``n`` more records of one outcome (``processed``, ``duplicate``, ``late``,
    ``dead_lettered``), for the tally."""

    name: str
    n: int


StoreItem = WindowItem | IncidentItem | TopicItem | LateItem | DeadLetterItem | StatsItem
Out = StoreItem | Count  # what a brand's windows emit (all but StatsItem)
