"""The input streams: ``POST /mentions`` and the live connectors ► the flow."""

from __future__ import annotations

import zlib
from typing import Any

import redis

from crisiswatch.store.events import ensure_group
from crisiswatch.store.keys import KeySpace

INPUT_GROUP = "flow"  # the consumer group the flow reads the input streams with
DEFAULT_PARTITIONS = 4
INPUT_FIELD = b"m"  # an entry holds one raw mention (JSON) under this field


class LayoutMismatch(Exception):
    """The input streams were set up with another partition count than configured."""


def shard_of(brand: str, partitions: int) -> int:
    """A brand's input partition. CRC-32, not ``hash()`` (salted per process), so every
    API process and every run agrees, and one brand's mentions stay in one stream, in the
    order they came: the flow's event-time windows need each brand's order kept."""
    return zlib.crc32(brand.encode()) % partitions


Entry = tuple[str, bytes]  # (stream entry id, raw mention)


class InputStreams:
    """Mentions waiting for the flow: ``p:input:{k}`` for k < partitions, and
    ``p:input:partitions``, the count they were set up with.

    The count is pinned in Redis by the first process that uses the streams: an API that
    appended to 8 streams while the flow read 4 would lose every mention in the other 4,
    so a process configured otherwise is refused (``pin``) instead.
    """

    def __init__(self, client: redis.Redis, keys: KeySpace) -> None:
        self.r = client
        self.keys = keys
        self._count: int | None = None

    def key(self, k: int) -> str:
        return self.keys.input(k)

    def pin(self, partitions: int) -> int:
        """Set the partition count if none is set; refuse another count than the set one."""
        count_key = self.keys.input_partitions
        self.r.set(count_key, partitions, nx=True)
        found = int(self.r.get(count_key) or partitions)
        if found != partitions:
            raise LayoutMismatch(
                f"the input streams {self.key(0)}… were set up with {found} partitions "
                f"({count_key}) but {partitions} are configured "
                f"(ingest.partitions): a changed count moves brands between streams and "
                f"invalidates the flow's recovery data. Configure {found}, or drain the "
                f"streams and delete that key first.")
        self._count = found
        return found

    def partitions(self) -> int:
        """The pinned count (pinning the default if there is none yet)."""
        if self._count is None:
            raw = self.r.get(self.keys.input_partitions)
            self._count = int(raw) if raw is not None else self.pin(DEFAULT_PARTITIONS)
        return self._count

    def append(self, records: list[tuple[str, bytes]]) -> list[str]:
        """Append ``(brand, raw mention)`` records to their brands' streams, all or none
        (one MULTI/EXEC); returns the entry ids."""
        with self.r.pipeline(transaction=True) as pipe:
            self.queue(pipe, records)
            return [i.decode() for i in pipe.execute()]

    def queue(self, pipe: Any, records: list[tuple[str, bytes]]) -> None:
        """Append inside the caller's transaction (a connector commits its cursor with
        the entries it read up to it)."""
        n = self.partitions()
        for brand, raw in records:
            pipe.xadd(self.key(shard_of(brand, n)), {INPUT_FIELD: raw})

    def partition(self, k: int, consumer: str | None = None) -> InputPartition:
        return InputPartition(self.r, self.key(k), consumer or f"part-{k}")


class InputPartition:
    """One input stream as the flow reads it: consumer group ``INPUT_GROUP``, one consumer
    per partition (named for it, so a partition that moves to another process keeps its
    pending entries)."""

    def __init__(self, client: redis.Redis, key: str, consumer: str) -> None:
        self.r = client
        self.key = key
        self.consumer = consumer

    def ensure_group(self) -> None:
        """Create the stream and the group at its start, so entries appended before the
        flow ever ran are read too."""
        ensure_group(self.r, self.key, INPUT_GROUP)

    def new(self, count: int) -> list[Entry]:
        """Entries never delivered to the group; they become pending for this consumer."""
        found = self.r.xreadgroup(INPUT_GROUP, self.consumer, {self.key: ">"}, count=count)
        return _entries(found[0][1]) if found else []

    def between(self, low: str | None, through: str, count: int,
                inclusive: bool = False) -> list[Entry]:
        """Entries after ``low`` (None = from the start) up to ``through``, acknowledged
        or not: what a restarted reader reads again."""
        start = "-" if low is None else low if inclusive else f"({low}"
        return _entries(self.r.xrange(self.key, start, through, count=count))

    def group_info(self) -> dict[str, Any] | None:
        try:
            groups = self.r.xinfo_groups(self.key)
        except redis.ResponseError:  # no such stream
            return None
        for g in groups:
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == INPUT_GROUP:
                return g
        return None

    def delivered_through(self) -> str | None:
        """The newest entry id the group has handed out (None: no group or nothing yet)."""
        g = self.group_info()
        last = g["last-delivered-id"] if g else None
        last = last.decode() if isinstance(last, bytes) else last
        return None if last in (None, "0-0") else last

    def first_pending(self) -> str | None:
        found = self.r.xpending_range(self.key, INPUT_GROUP, "-", "+", 1, self.consumer)
        return _id(found[0]["message_id"]) if found else None

    def ack_through(self, last: str, page: int = 10_000) -> int:
        """Acknowledge this consumer's pending entries up to ``last``; returns how many."""
        done = 0
        while True:
            found = self.r.xpending_range(self.key, INPUT_GROUP, "-", last, page, self.consumer)
            if not found:
                return done
            done += self.r.xack(self.key, INPUT_GROUP, *(f["message_id"] for f in found))
            if len(found) < page:
                return done

    def trim_before(self, first_kept: str) -> None:
        """Drop entries older than ``first_kept`` (approximately: whole internal nodes
        only, which is what makes trimming cheap)."""
        self.r.xtrim(self.key, minid=first_kept, approximate=True)


def _id(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _entries(rows: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Entry]:
    return [(_id(i), fields.get(INPUT_FIELD, b"")) for i, fields in rows]
