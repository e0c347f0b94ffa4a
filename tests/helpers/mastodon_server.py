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

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.helpers.local_http import LocalServer, send_json

PAGE_MAX = 40




class MastodonServer(LocalServer):
    def __init__(self, tag: str, statuses: list[dict[str, Any]], token: str, first: int,
                 gap: int) -> None:
        super().__init__()
        self.tag, self.statuses, self.token = tag, statuses, token
        self.first, self.gap = first, gap
        self.posted = 0  # statuses posted so far (a prefix of ``statuses``)
        self.streams = 0  # stream requests seen
        self.timeline_requests: list[dict[str, str]] = []
        self.sent: list[list[str]] = []  # status ids delivered, per accepted stream
        self.caught_up = threading.Event()  # a client read the timeline to its newest
        self.unauthorized = 0

    # -- answers ---------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            self.unauthorized += 1
            return send_json(h, 401, {"error": "This method requires an authenticated user"})
        if url.path == "/api/v1/streaming/hashtag" and query.get("tag") == self.tag:
            return self._stream(h)
        if url.path == f"/api/v1/timelines/tag/{self.tag}":
            return self._timeline(h, query)
        return send_json(h, 404, {"error": "Record not found"})

    def _stream(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            n = self.streams
            self.streams += 1
        if n == 0:
            return _rate_limited(h)
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        sent: list[str] = []
        self.sent.append(sent)
        if n == 1:
            for i in range(self.first):
                self._post_and_send(h, sent)
                if i == 3:
                    _event(h, "delete", b"108914354907984653")
                    _event(h, "status.update", orjson.dumps(self.statuses[0]))
                    h.wfile.write(b":thump\n\n")
                if i == 5:
                    _event(h, "update", b'{"id": "1089143549079', flush=True)  # cut short
            self.posted += self.gap  # posted while this connection is going down
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        self.caught_up.wait(20)
        if n != self.streams - 1:
            return  # a stream its client gave up on (it reconnected since)
        try:
            while self.posted < len(self.statuses):
                self._post_and_send(h, sent)
            while True:  # live tail: heartbeats until the client leaves
                h.wfile.write(b":thump\n\n")
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    def _post_and_send(self, h: BaseHTTPRequestHandler, sent: list[str]) -> None:
        status = self.statuses[self.posted]
        self.posted += 1
        _event(h, "update", orjson.dumps(status), flush=True)
        sent.append(status["id"])

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
