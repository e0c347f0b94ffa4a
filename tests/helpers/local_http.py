"""An HTTP server on 127.0.0.1 in a daemon thread, for the local stand-ins of the
platforms and receivers the tests talk to: a subclass answers in ``handle``."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import orjson

from crisiswatch.store.embedded import free_port


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that left mid-request is a broken pipe: expected here, not news."""


class LocalServer:
    """Serves GET and POST with ``handle`` (``h.command`` says which) on ``port``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.server: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.handle(self)

            def do_POST(self) -> None:
                owner.handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ScriptedStream(LocalServer):
    """The script of the streaming stand-ins (Mastodon's hashtag stream, X's filtered
    stream): ``posts`` are "posted" as it goes, and a stream delivers only what is posted
    while it is connected. Stream request 0 is ``refuse``d; stream 1 delivers ``first``
    posts (``oddity(h, i)`` after the i-th: malformed frames, keep-alives), then ``gap``
    more are posted and the connection is cut; a later stream waits until the subclass's
    backfill sets ``caught_up``, delivers the rest live, then sends ``heartbeat`` until
    its client leaves. ``sent`` holds the ids delivered, per accepted stream."""

    content_type: str
    heartbeat: bytes

    def __init__(self, posts: list[dict[str, Any]], first: int, gap: int) -> None:
        super().__init__()
        self.posts, self.first, self.gap = posts, first, gap
        self.posted = 0  # posts so far (a prefix of ``posts``)
        self.streams = 0  # stream requests seen
        self.sent: list[list[str]] = []
        self.caught_up = threading.Event()

    def refuse(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def send_post(self, h: BaseHTTPRequestHandler, post: dict[str, Any]) -> None:
        raise NotImplementedError

    def oddity(self, h: BaseHTTPRequestHandler, i: int) -> None:
        """Whatever the platform slips in after the i-th post of the first stream."""

    def stream(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            n = self.streams
            self.streams += 1
        if n == 0:
            return self.refuse(h)
        h.send_response(200)
        h.send_header("Content-Type", self.content_type)
        h.end_headers()
        sent: list[str] = []
        self.sent.append(sent)
        if n == 1:
            for i in range(self.first):
                self._post_and_send(h, sent)
                self.oddity(h, i)
            self.posted += self.gap  # posted while this connection is going down
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        self.caught_up.wait(20)
        if n != self.streams - 1:
            return  # a stream its client gave up on (it reconnected since)
        try:
            while self.posted < len(self.posts):
                self._post_and_send(h, sent)
            while True:  # live tail: heartbeats until the client leaves
                h.wfile.write(self.heartbeat)
                h.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    def _post_and_send(self, h: BaseHTTPRequestHandler, sent: list[str]) -> None:
        post = self.posts[self.posted]
        self.posted += 1
        self.send_post(h, post)
        sent.append(post["id"])


def send_json(h: BaseHTTPRequestHandler, status: int, body: Any,
              headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
    raw = orjson.dumps(body)
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(raw)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(raw)
