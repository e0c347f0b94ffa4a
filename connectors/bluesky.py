"""Bluesky through Jetstream: the AT Protocol firehose as JSON over a WebSocket.

Protocol (github.com/bluesky-social/jetstream): ``GET /subscribe`` upgraded to a
WebSocket, with ``wantedCollections`` (repeated) and ``cursor`` (unix microseconds) in
the query; every message is one JSON event with ``did``, ``time_us`` and ``kind``
(``commit`` with ``operation`` create / update / delete, ``identity``, ``account``).
No credentials are needed.

Filter
    Jetstream filters by collection and by account, never by text, so the connector
    asks for posts and reposts only (``app.bsky.feed.post``, ``app.bsky.feed.repost``)
    and the brand queries are applied here, by the flow's own matcher: a post no query
    matches is counted ``unmatched``.

Resume
    The cursor is the ``time_us`` of the newest event committed. Jetstream's
    documentation asks a reconnecting client to rewind a few seconds for gapless
    playback (events of one microsecond may span a batch boundary, and instances differ
    slightly): ``rewind_seconds`` is subtracted on every reconnect, and the posts read
    twice are dropped by the flow as duplicates (same at-uri, same brand).

Mapping onto the mention contract
    ``id`` is the post's at-uri, ``ts`` its ``createdAt`` (event time, from the author's
    client; ``time_us`` when absent), ``lang`` the first of ``langs``, ``hashtags`` the
    tag facets (and any ``#tag`` in the text), ``reply_to`` the parent's at-uri, ``url``
    its bsky.app address. Jetstream carries no handle nor follower count in a post: the
    handle comes from the ``identity`` events seen (a bounded cache), and followers stay
    unknown (0). A repost has no text of its own; one of a post that matched a brand
    recently (a bounded cache of at-uri to text) becomes a mention with
    ``retweet_of`` and the original's text, so that repost cascades count as they do on
    X; a repost of a post not seen is ignored (``repost of an unseen post``).

Oversized frames
    A frame over ``max_frame_bytes`` (a post is at most a few KiB; a record of 10 MB is
    abuse or a bug) is refused with its size as the reason, unread, and the cursor
    moves to the ``time_us`` in its head, so the connection reads on past it. The
    WebSocket itself takes frames up to ``read_limit_bytes``: with the library's 4 MiB
    default, one 10 MB frame closed the connection, and every reconnect at the same
    cursor met it again (287 reconnects a minute, the rewound seconds queued again each
    time). A frame over even that limit still closes the connection: the runner then
    reports the connector ``stalled`` (``GET /connectors``, ``GET /health``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from crisiswatch.connectors.live import (
    PREVIEW_CHARS,
    Batch,
    Batcher,
    Connector,
    RateLimited,
    retry_after,
)
from crisiswatch.detectors.brands import BrandMatcher
from crisiswatch.detectors.text import extract_hashtags, normalise_hashtag

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
TAG_FACET = "app.bsky.richtext.facet#tag"
TIME_US = re.compile(rb'"time_us"\s*:\s*(\d+)')  # Jetstream writes it near the start
HEAD_BYTES = 4096  # of an oversized frame, searched for its time_us


@dataclass(frozen=True)
class JetstreamConfig:
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    rewind_seconds: float = 3.0
    batch_frames: int = 500  # frames committed at a time at most ...
    flush_seconds: float = 0.2  # ... or after this long, whichever comes first
    cache_entries: int = 100_000  # handles by DID, and texts of matched posts by at-uri
    open_timeout_seconds: float = 10.0
    max_frame_bytes: int = 1_048_576  # larger frames are refused unread, the cursor moved
    read_limit_bytes: int = 64 * 1_048_576  # the WebSocket's own limit (it closes beyond)


class _Lru(OrderedDict[str, str]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: str) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class Jetstream(Connector):
    name = "bluesky"

    def __init__(self, config: JetstreamConfig, matcher: BrandMatcher) -> None:
        self.config = config
        self.matcher = matcher
        self.handles = _Lru(config.cache_entries)
        self.texts = _Lru(config.cache_entries)  # at-uri of a matched post -> its text

    def subscribe_url(self, cursor: str | None) -> str:
        query: list[tuple[str, str]] = [("wantedCollections", POST),
                                        ("wantedCollections", REPOST)]
        if cursor is not None:
            rewound = int(cursor) - int(self.config.rewind_seconds * 1_000_000)
            query.append(("cursor", str(max(rewound, 0))))
        return f"{self.config.url}?{urlencode(query)}"

    def batches(self, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        try:
            ws = connect(self.subscribe_url(cursor), proxy=None,
                         max_size=self.config.read_limit_bytes,
                         open_timeout=self.config.open_timeout_seconds)
        except InvalidStatus as e:
            if e.response.status_code == 429:
                raise RateLimited("Jetstream answered 429 Too Many Requests",
                                  retry_after(e.response.headers.get("Retry-After"))) from None
            raise
        with ws:
            batcher = Batcher(self.config.batch_frames, self.config.flush_seconds)
            while not stop.is_set():
                try:
                    raw = ws.recv(timeout=self.config.flush_seconds)
                except TimeoutError:
                    raw = None
                except ConnectionClosed:
                    if (rest := batcher.rest()) is not None:
                        yield rest  # what arrived before the drop is as good as any
                    raise
                if raw is not None:
                    if len(raw) > self.config.max_frame_bytes:
                        self._oversized(raw, batcher.batch)
                    else:
                        self._frame(raw, batcher.batch)
                if (batch := batcher.due()) is not None:
                    yield batch

    def _frame(self, raw: str | bytes, batch: Batch) -> None:
        """One Jetstream event into the batch: a mention, an ignored event, or refused."""
        event = batch.frame_object(raw, "a Jetstream event")
        if event is None:
            return
        kind = event.get("kind")
        time_us = event.get("time_us")
        if kind == "heartbeat":
            batch.ignored["heartbeat"] += 1
            return
        if not isinstance(time_us, int) or isinstance(time_us, bool):
            batch.refuse("Jetstream event without an integer 'time_us'", raw)
            return
        did = event.get("did")
        if kind == "identity":
            handle = (event.get("identity") or {}).get("handle")
            if isinstance(did, str) and isinstance(handle, str):
                self.handles.put(did, handle)
            batch.ignored["identity"] += 1
        elif kind == "account":
            batch.ignored["account"] += 1
        elif kind == "commit":
            try:
                self._commit(event, did, time_us, batch)
            except _Refused as e:
                batch.refuse(str(e), raw)
        else:
            batch.refuse(f"unknown Jetstream event kind {kind!r}", raw)
        batch.cursor = str(time_us)

    def _oversized(self, raw: str | bytes, batch: Batch) -> None:
        """Refuse a frame too large to read, and move the cursor past it: reconnecting at
        the cursor before it would meet it again."""
        batch.frames += 1
        head = (raw[:HEAD_BYTES] if isinstance(raw, bytes)
                else raw[:HEAD_BYTES].encode("utf-8", "replace"))
        found = TIME_US.search(head)
        where = "the cursor moves past it" if found else "no time_us in its head"
        unit = "bytes" if isinstance(raw, bytes) else "characters"
        batch.refuse(f"frame of {len(raw):,} {unit}, over sources.bluesky.max_frame_bytes "
                     f"({self.config.max_frame_bytes:,}): skipped unread; {where}",
                     raw[:PREVIEW_CHARS])
        if found:
            batch.cursor = found.group(1).decode()

    def _commit(self, event: dict[str, Any], did: Any, time_us: int, batch: Batch) -> None:
        commit = event.get("commit")
        if not isinstance(commit, dict) or not isinstance(did, str):
            raise _Refused("commit event without 'commit' object or 'did'")
        collection, operation = commit.get("collection"), commit.get("operation")
        if operation != "create":
            batch.ignored[f"{operation}"] += 1  # deletes and edits are not new mentions
            return
        record, rkey = commit.get("record"), commit.get("rkey")
        if not isinstance(record, dict) or not isinstance(rkey, str):
            raise _Refused("create commit without 'record' object or 'rkey'")
        uri = f"at://{did}/{collection}/{rkey}"
        ts = record.get("createdAt") or time_us / 1_000_000
        author = {"id": did, "handle": self.handles.get(did)}
        if collection == POST:
            text = record.get("text")
            if not isinstance(text, str):
                raise _Refused("post record without a string 'text'")
            if not text.strip():
                batch.ignored["post without text"] += 1  # images alone name no brand
                return
            tags = _tags(record, text)
            mention: dict[str, Any] = {
                "id": uri, "ts": ts, "text": text, "hashtags": tags, "platform": "bluesky",
                "author": author, "url": f"https://bsky.app/profile/{did}/post/{rkey}"}
            langs = record.get("langs")
            if isinstance(langs, list) and langs and isinstance(langs[0], str):
                mention["lang"] = langs[0]
            parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
            if isinstance(parent, str):
                mention["reply_to"] = parent
            if self.matcher.match(text, tags):
                self.texts.put(uri, text)
            batch.records.append(mention)
        elif collection == REPOST:
            subject = (record.get("subject") or {}).get("uri")
            original = self.texts.get(subject) if isinstance(subject, str) else None
            if original is None:
                batch.ignored["repost of an unseen post"] += 1
                return
            batch.records.append({
                "id": uri, "ts": ts, "text": original, "platform": "bluesky",
                "author": author, "is_retweet": True, "retweet_of": subject,
                "url": f"https://bsky.app/profile/{did}"})
        else:
            batch.ignored[str(collection)] += 1


class _Refused(Exception):
    """A frame that cannot be mapped; the message is its reason."""


def _tags(record: dict[str, Any], text: str) -> list[str]:
    """Tag facets (how Bluesky marks hashtags) and any ``#tag`` in the text, once each."""
    tags = dict.fromkeys(extract_hashtags(text))
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else []:
            if isinstance(feature, dict) and feature.get("$type") == TAG_FACET \
                    and isinstance(feature.get("tag"), str):
                tags[normalise_hashtag(feature["tag"])] = None
    return [t for t in tags if t]
