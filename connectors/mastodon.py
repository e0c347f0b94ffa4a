"""Mastodon: a hashtag or the federated timeline of one instance, live through the
streaming API's server-sent events, with gaps filled from the REST timeline.

Protocol (docs.joinmastodon.org, methods/streaming and methods/timelines)
    ``GET /api/v1/streaming/hashtag?tag=NAME`` or ``/api/v1/streaming/public``
    answers ``text/event-stream``: ``event: update`` / ``data: <Status JSON>``, also
    ``delete`` and ``status.update`` (an edit), and heartbeat comment lines beginning
    with ``:``. Since Mastodon 4.2 both need a user token (``Authorization: Bearer``,
    ``read:statuses``). The streaming API does not replay: what was posted while the
    connection was down is read from ``GET /api/v1/timelines/tag/NAME`` (or
    ``/timelines/public``) with ``min_id``, which pages forward from a status id, 40 at
    most a page. Rate limits (300 requests in 5 minutes per account and per address)
    answer 429 with ``X-RateLimit-Reset`` (an ISO time).

Filter
    A brand's hashtags become one hashtag stream each (``sources.mastodon.hashtags``
    empty: all the brands' hashtags); ``public: true`` adds the federated timeline, where
    the brand queries' handles and keywords are matched here (Mastodon has no keyword
    filter). Each stream of each instance is a connector of its own, with its own
    cursor: ``mastodon:HOST:tag:NAME``.

Resume
    The cursor is the newest status id committed. On every (re)connect the stream is
    opened first and the REST timeline is then read forward from the cursor, so nothing
    posted between the two is missed (what both deliver is a duplicate, dropped by the
    flow). Status ids are Snowflake-like (milliseconds << 16), and a status federated
    late can carry an id below the cursor: the backfill starts ``rewind_seconds`` before
    it. A long catch-up pages on until it meets the stream; a rate-limit answer on the
    way is waited out (``X-RateLimit-Reset``) and the catch-up resumes from the last
    page committed.

Mapping
    ``id`` is the status ``uri`` (the same post seen through two instances is one
    mention), ``ts`` its ``created_at``, ``text`` its HTML content as text, ``hashtags``
    its ``tags``, ``author`` the account (``url``, ``@acct``, ``followers_count``),
    ``lang``, ``url``, ``reply_to`` (``in_reply_to_id``); a boost (``reblog``) is a
    retweet of the original's ``uri`` with the original's text.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from crisiswatch.connectors.live import Batch, Batcher, Connector, RateLimited, retry_after

PAGE_LIMIT = 40  # the REST timelines' maximum page
SNOWFLAKE_ABOVE = 1 << 40  # ids above this are Snowflake-like: milliseconds << 16


@dataclass(frozen=True)
class MastodonStream:
    instance: str  # https://mastodon.social
    tag: str | None  # None: the federated (public) timeline
    token: str | None

    @property
    def name(self) -> str:
        host = urlsplit(self.instance).netloc
        return f"mastodon:{host}:" + (f"tag:{self.tag}" if self.tag else "public")


@dataclass(frozen=True)
class MastodonConfig:
    rewind_seconds: float = 60.0
    batch_statuses: int = 200
    flush_seconds: float = 0.2
    read_timeout_seconds: float = 40.0  # heartbeats come every ~15 s; stop waits this long


class _Text(HTMLParser):
    """Status HTML to plain text: paragraphs and line breaks become new lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    return html.unescape("".join(parser.parts)).strip()


class Mastodon(Connector):
    def __init__(self, stream: MastodonStream, config: MastodonConfig) -> None:
        self.stream = stream
        self.config = config
        self.name = stream.name

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "crisiswatch"}
        if self.stream.token:
            headers["Authorization"] = f"Bearer {self.stream.token}"
        return headers

    def _paths(self) -> tuple[str, str]:
        if self.stream.tag:
            tag = quote(self.stream.tag, safe="")
            return f"/api/v1/streaming/hashtag?tag={tag}", f"/api/v1/timelines/tag/{tag}"
        return "/api/v1/streaming/public", "/api/v1/timelines/public"

    def batches(self, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        live_path, rest_path = self._paths()
        timeout = httpx.Timeout(10.0, read=self.config.read_timeout_seconds)
        with httpx.Client(base_url=self.stream.instance, timeout=timeout, trust_env=False,
                          headers=self._headers()) as client, \
                client.stream("GET", live_path, headers={"Accept": "text/event-stream"}) as live:
            _check(live)
            newest = cursor
            if cursor is not None:  # the stream is open: fill the gap behind it
                for batch in self._backfill(client, rest_path, cursor, stop):
                    newest = batch.cursor or newest
                    yield batch
            yield from self._live(live, newest, stop)

    def _backfill(self, client: httpx.Client, path: str, cursor: str,
                  stop: threading.Event) -> Iterator[Batch]:
        low = _rewound(cursor, self.config.rewind_seconds)
        while not stop.is_set():
            r = client.get(path, params={"min_id": low, "limit": PAGE_LIMIT})
            _check(r)
            statuses = r.json()
            if not isinstance(statuses, list):
                raise ValueError(f"{path}: expected a list of statuses, got {type(statuses)}")
            batch = Batch()
            for status in sorted(statuses, key=lambda s: _order(s.get("id"))):
                self._status(orjson.dumps(status), status, batch)
            if statuses:
                low = max((str(s.get("id")) for s in statuses), key=_order)
                batch.cursor = _newest(cursor, low)
                yield batch
            if len(statuses) < PAGE_LIMIT:
                return

    def _live(self, response: httpx.Response, cursor: str | None,
              stop: threading.Event) -> Iterator[Batch]:
        batcher = Batcher(self.config.batch_statuses, self.config.flush_seconds, cursor)
        event, data = "message", []
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith(":"):
                pass  # a heartbeat comment
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and data:
                self._event(event, "\n".join(data), batcher.batch)
                event, data = "message", []
            if (batch := batcher.due()) is not None:
                yield batch
        if (rest := batcher.rest()) is not None:
            yield rest

    def _event(self, event: str, data: str, batch: Batch) -> None:
        if event != "update":
            batch.frames += 1
            batch.ignored["edit" if event == "status.update" else event] += 1
            return
        try:
            status = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            batch.frames += 1
            batch.refuse(f"update event whose data is not JSON: {e}", data)
            return
        self._status(data, status, batch)

    def _status(self, raw: str | bytes, status: Any, batch: Batch) -> None:
        """One Status into the batch: a mention, or refused with the reason."""
        batch.frames += 1
        if not isinstance(status, dict) or not isinstance(status.get("id"), str):
            batch.refuse("not a Mastodon Status: no string 'id'", raw)
            return
        batch.cursor = _newest(batch.cursor, status["id"])
        original = status.get("reblog")
        source = original if isinstance(original, dict) else status
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        content = source.get("content")
        if not isinstance(content, str) or not isinstance(status.get("uri"), str):
            batch.refuse("Mastodon Status without 'uri' or string 'content'", raw)
            return
        text = html_text(content)
        if not text:
            batch.ignored["status without text"] += 1
            return
        mention: dict[str, Any] = {
            "id": status["uri"], "ts": status.get("created_at"), "text": text,
            "hashtags": _tags(source.get("tags")), "platform": "mastodon",
            "author": {"id": account.get("url"),
                       "handle": f"@{account['acct']}" if account.get("acct") else None,
                       "followers": account.get("followers_count")},
            "lang": source.get("language"), "url": status.get("url") or source.get("url"),
            "reply_to": status.get("in_reply_to_id"),
        }
        if source is original:
            mention.update(is_retweet=True, retweet_of=original.get("uri"))
        batch.records.append({k: v for k, v in mention.items() if v is not None})


def _tags(tags: Any) -> list[str] | None:
    """The Status's ``tags`` names (None: let the parser read them from the text)."""
    if not isinstance(tags, list):
        return None
    return [t["name"] for t in tags if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _check(r: httpx.Response) -> None:
    """Raise on an answer that is not 200: ``RateLimited`` for 429."""
    if r.status_code == 200:
        return
    if r.status_code == 429:
        raise RateLimited(f"{r.request.url.path}: 429 Too Many Requests",
                          _reset_in(r.headers.get("X-RateLimit-Reset"))
                          or retry_after(r.headers.get("Retry-After")))
    detail = r.read()[:200].decode(errors="replace")
    raise httpx.HTTPStatusError(f"{r.request.url.path}: HTTP {r.status_code}: {detail}",
                                request=r.request, response=r)


def _reset_in(value: str | None) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (an ISO-8601 time)."""
    if not value:
        return None
    try:
        reset = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max((reset - datetime.now(UTC)).total_seconds(), 0.0)


def _order(status_id: Any) -> int:
    try:
        return int(status_id)
    except (TypeError, ValueError):
        return -1


def _newest(a: str | None, b: str) -> str:
    return b if a is None or _order(b) > _order(a) else a


def _rewound(cursor: str, seconds: float) -> str:
    n = _order(cursor)
    if n < SNOWFLAKE_ABOVE:
        return cursor  # not a Snowflake id: no time in it to rewind by
    return str(max(n - (int(seconds * 1000) << 16), 0))
