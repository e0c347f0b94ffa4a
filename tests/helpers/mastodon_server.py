"""A local Mastodon instance on 127.0.0.1, as far as a listening client sees one: the
hashtag stream (``GET /api/v1/streaming/hashtag?tag=``, server-sent events with
``update``, ``delete`` and ``status.update`` events and ``:`` heartbeat comments) and
the hashtag timeline (``GET /api/v1/timelines/tag/:hashtag`` with ``min_id`` and
``limit``, 40 at most), both behind a user token, with Mastodon's rate-limit answer
(429 and ``X-RateLimit-Reset``).

Statuses are "posted" as the script goes, and a stream delivers only what is posted
while it is connected, as Mastodon's does. The script: the first stream request is
answered 429; the second stream delivers ``first`` statuses (with a delete, an edit
and a malformed event among them), then ``gap`` more are posted and the connection is
cut; the first timeline request is answered 429; a later stream waits until a client
has read the timeline up to the newest status, then delivers the rest live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.helpers.local_http import ScriptedStream, send_json

PAGE_MAX = 40




class MastodonServer(ScriptedStream):
    content_type = "text/event-stream"
    heartbeat = b":thump\n\n"

    def __init__(self, tag: str, statuses: list[dict[str, Any]], token: str, first: int,
                 gap: int) -> None:
        super().__init__(statuses, first, gap)  # caught_up: the timeline read to its newest
        self.tag, self.statuses, self.token = tag, self.posts, token
        self.timeline_requests: list[dict[str, str]] = []
        self.unauthorized = 0

    # -- answers ---------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            self.unauthorized += 1
            return send_json(h, 401, {"error": "This method requires an authenticated user"})
        if url.path == "/api/v1/streaming/hashtag" and query.get("tag") == self.tag:
            return self.stream(h)
        if url.path == f"/api/v1/timelines/tag/{self.tag}":
            return self._timeline(h, query)
        return send_json(h, 404, {"error": "Record not found"})

    def refuse(self, h: BaseHTTPRequestHandler) -> None:
        _rate_limited(h)

    def send_post(self, h: BaseHTTPRequestHandler, post: dict[str, Any]) -> None:
        _event(h, "update", orjson.dumps(post), flush=True)

    def oddity(self, h: BaseHTTPRequestHandler, i: int) -> None:
        if i == 3:
            _event(h, "delete", b"108914354907984653")
            _event(h, "status.update", orjson.dumps(self.statuses[0]))
            h.wfile.write(b":thump\n\n")
        if i == 5:
            _event(h, "update", b'{"id": "1089143549079', flush=True)  # cut short

    def _timeline(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        self.timeline_requests.append(query)
        if len(self.timeline_requests) == 1:
            return _rate_limited(h)
        low = int(query.get("min_id", "0"))
        limit = min(int(query.get("limit", "20")), PAGE_MAX)
        newer = [s for s in self.statuses[:self.posted] if int(s["id"]) > low][:limit]
        if len(newer) < limit:
            self.caught_up.set()
        send_json(h, 200, sorted(newer, key=lambda s: int(s["id"]), reverse=True))


def _event(h: BaseHTTPRequestHandler, name: str, data: bytes, flush: bool = False) -> None:
    h.wfile.write(b"event: " + name.encode() + b"\ndata: " + data + b"\n\n")
    if flush:
        h.wfile.flush()




def _rate_limited(h: BaseHTTPRequestHandler) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    raw = b'{"error": "Too many requests"}'
    h.send_response(429)
    h.send_header("X-RateLimit-Limit", "300")
    h.send_header("X-RateLimit-Remaining", "0")
    h.send_header("X-RateLimit-Reset", reset)
    h.send_header("Content-Length", str(len(raw)))
    h.end_headers()
    h.wfile.write(raw)
