"""A local Jetstream on 127.0.0.1: ``/subscribe`` as Bluesky's Jetstream serves it
(WebSocket, one JSON event a message, ``wantedCollections`` and ``cursor`` in the
query), replaying a list of frames, with the faults a client meets in the wild: a
rate-limit answer to the handshake (HTTP 429 with ``Retry-After``), a connection
dropped mid-stream without a close frame, malformed frames. It records what it sent on
every connection, so a test can account for each frame."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from crisiswatch.store.embedded import free_port


@dataclass
class Frame:
    time_us: int  # where it sits in the stream (a malformed frame borrows its neighbour's)
    payload: bytes
    collection: str | None = None  # commits only: what wantedCollections filters on


def frame(event: dict[str, Any]) -> Frame:
    commit = event.get("commit") or {}
    return Frame(int(event.get("time_us", 0)), orjson.dumps(event), commit.get("collection"))


@dataclass
class Connection:
    cursor: int | None
    collections: list[str]
    sent: list[Frame] = field(default_factory=list)


class JetstreamServer:
    """``reject`` handshakes are answered 429 first; connection ``k`` (counted from 0
    among those accepted) is cut after ``drops[k]`` frames when listed there."""

    def __init__(self, frames: list[Frame], reject: int = 0, drops: dict[int, int] | None = None,
                 retry_after: str = "1") -> None:
        self.frames = sorted(frames, key=lambda f: f.time_us)
        self.reject = reject
        self.drops = drops or {}
        self.retry_after = retry_after
        self.port = free_port()
        self.rejected = 0
        self.connections: list[Connection] = []
        self.lock = threading.Lock()
        self.server = serve(self._handle, "127.0.0.1", self.port,
                            process_request=self._process_request)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def _process_request(self, connection: ServerConnection, request: Request
                         ) -> Response | None:
        if urlsplit(request.path).path != "/subscribe":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        with self.lock:
            if self.rejected < self.reject:
                self.rejected += 1
                response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "slow down\n")
                response.headers["Retry-After"] = self.retry_after
                return response
        return None

    def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)  # type: ignore[union-attr]
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        conn = Connection(cursor, query.get("wantedCollections", []))
        with self.lock:
            number = len(self.connections)
            self.connections.append(conn)
        cut = self.drops.get(number)
        for f in self.selected(conn):
            if cut is not None and len(conn.sent) >= cut:
                ws.socket.shutdown(socket.SHUT_RDWR)  # a network drop: no close frame
                return
            ws.send(f.payload.decode())
            conn.sent.append(f)
        for _ in ws:  # live tail: nothing new; wait for the client to leave
            pass

    def selected(self, conn: Connection) -> list[Frame]:
        """The frames a connection asks for: from its cursor on, of its collections
        (every subscriber gets identity and account events)."""
        return [f for f in self.frames
                if (conn.cursor is None or f.time_us >= conn.cursor)
                and (f.collection is None or not conn.collections
                     or f.collection in conn.collections)]

    def start(self) -> JetstreamServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def __enter__(self) -> JetstreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
