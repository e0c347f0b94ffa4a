"""A local Reddit OAuth API on 127.0.0.1: ``POST /api/v1/access_token`` (client
credentials, HTTP Basic) and ``GET /r/A+B/comments`` (a Listing, newest first, 100 at
most a page, older pages by ``after``), with Reddit's answers to a client that
overdoes it (429 and ``X-Ratelimit-Reset`` in seconds), a token that stops working
before it expires (401), and a server error.

Comments are "posted" before each listing request by ``schedule`` (how many each
request finds new; the rest go out one request at a time), so a poll sees what
appeared since the last one, a burst larger than a page among them. Listing request
``rate_limited`` is answered 429, ``failing`` 500, ``revoked`` 401."""

from __future__ import annotations

import base64
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers.local_http import LocalServer, send_json


class RedditServer(LocalServer):
    def __init__(self, subreddits: str, comments: list[dict[str, Any]], client: tuple[str, str],
                 schedule: list[int], rate_limited: int, failing: int, revoked: int) -> None:
        super().__init__()
        self.path = f"/r/{subreddits}/comments"
        self.comments = comments  # oldest first
        self.client = client
        self.schedule = schedule
        self.rate_limited, self.failing, self.revoked = rate_limited, failing, revoked
        self.posted = 0
        self.listings: list[dict[str, str]] = []
        self.tokens: list[str] = []
        self.agents: set[str] = set()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        self.agents.add(h.headers.get("User-Agent", ""))
        if h.command == "POST" and url.path == "/api/v1/access_token":
            return self._token(h)
        if url.path != self.path:
            return _json(h, 404, {"message": "Not Found", "error": 404})
        with self.lock:
            return self._listing(h, {k: v[0] for k, v in parse_qs(url.query).items()})

    def _token(self, h: BaseHTTPRequestHandler) -> None:
        expected = base64.b64encode(":".join(self.client).encode()).decode()
        body = h.rfile.read(int(h.headers.get("Content-Length", 0)))
        if h.headers.get("Authorization") != f"Basic {expected}" \
                or b"grant_type=client_credentials" not in body:
            return _json(h, 401, {"message": "Unauthorized", "error": 401})
        self.tokens.append(f"token-{len(self.tokens)}")
        _json(h, 200, {"access_token": self.tokens[-1], "token_type": "bearer",
                       "expires_in": 86400, "scope": "*"})

    def _listing(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        n = len(self.listings)
        self.listings.append(query)
        if "after" not in query:  # a new poll: what was posted since the last one appears
            new = self.schedule[n] if n < len(self.schedule) else 1
            self.posted = min(self.posted + new, len(self.comments))
        if h.headers.get("Authorization") != f"bearer {self.tokens[-1] if self.tokens else ''}":
            return _json(h, 401, {"message": "Unauthorized", "error": 401})
        if n == self.revoked:
            self.tokens.append("revoked")  # the next call must get a new token
            return _json(h, 401, {"message": "Unauthorized", "error": 401})
        if n == self.rate_limited:
            return _json(h, 429, {"message": "Too Many Requests", "error": 429},
                         {"X-Ratelimit-Used": "100", "X-Ratelimit-Remaining": "0",
                          "X-Ratelimit-Reset": "1"})
        if n == self.failing:
            return _json(h, 500, {"message": "Internal Server Error", "error": 500})
        newest_first = self.comments[:self.posted][::-1]
        start = 0
        if "after" in query:
            start = next(i for i, c in enumerate(newest_first)
                         if c["data"]["name"] == query["after"]) + 1
        limit = min(int(query.get("limit", "25")), 100)
        page = newest_first[start:start + limit]
        after = page[-1]["data"]["name"] if start + limit < len(newest_first) and page else None
        _json(h, 200, {"kind": "Listing", "data": {"after": after, "dist": len(page),
                                                   "children": page, "before": None}},
              {"X-Ratelimit-Used": str(n), "X-Ratelimit-Remaining": str(100 - n),
               "X-Ratelimit-Reset": "60"})


def _json(h: BaseHTTPRequestHandler, status: int, body: Any,
          headers: dict[str, str] | None = None) -> None:
    send_json(h, status, body, headers, "application/json; charset=UTF-8")
