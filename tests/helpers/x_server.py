"""A local X API v2 on 127.0.0.1, as far as a listening app sees it: stream rules
(``GET/POST /2/tweets/search/stream/rules``), the filtered stream (``GET
/2/tweets/search/stream``: one JSON message a line, ``\\r\\n`` keep-alives) and recent
search (``GET /2/tweets/search/recent`` with ``query``, ``since_id``, ``max_results``
and ``next_token``, newest first), behind a bearer token, with X's rate-limit answer
(429 with ``x-rate-limit-reset``, epoch seconds).

Tweets are "posted" as the script goes; the stream delivers only what is posted while
it is connected. The script: the first stream request is answered 429 (too many
connections); the second delivers ``first`` tweets (with a malformed line and an
operational error message among them), then ``gap`` more are posted and the connection
is cut; the first search request is answered 429; a later stream waits until a
client has searched up to the newest tweet, then delivers the rest."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.helpers.local_http import ScriptedStream, send_json


class XServer(ScriptedStream):
    content_type = "application/json"
    heartbeat = b"\r\n"

    def __init__(self, tweets: list[dict[str, Any]], users: list[dict[str, Any]], token: str,
                 first: int, gap: int, rules: list[dict[str, str]] | None = None) -> None:
        super().__init__(sorted(tweets, key=lambda t: int(t["id"])), first, gap)
        self.tweets = self.posts
        self.users = {u["id"]: u for u in users}
        self.token = token
        self.rules: list[dict[str, str]] = list(rules or [])  # rules already on the app
        self.searches: list[dict[str, str]] = []
        self.rule_posts: list[dict[str, Any]] = []

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return send_json(h, 401, {"title": "Unauthorized", "type": "about:blank",
                                      "status": 401, "detail": "Unauthorized"})
        if url.path == "/2/tweets/search/stream/rules":
            return self._rules(h, h.command)
        if url.path == "/2/tweets/search/stream":
            return self._stream(h, query)
        if url.path == "/2/tweets/search/recent":
            return self._search(h, query)
        return send_json(h, 404, {"title": "Not Found Error", "status": 404})

    def _rules(self, h: BaseHTTPRequestHandler, method: str) -> None:
        if method == "GET":
            return send_json(h, 200, {"data": self.rules, "meta": {"sent": "now",
                                                                 "result_count": len(self.rules)}}
                             if self.rules else {"meta": {"sent": "now", "result_count": 0}})
        body = orjson.loads(h.rfile.read(int(h.headers.get("Content-Length", 0))))
        self.rule_posts.append(body)
        if "delete" in body:
            ids = set(body["delete"]["ids"])
            self.rules = [r for r in self.rules if r["id"] not in ids]
            return send_json(h, 200, {"meta": {"sent": "now", "summary": {
                    "deleted": len(ids), "not_deleted": 0}}})
        added = []
        for rule in body.get("add", []):
            if len(rule["value"]) > 512:
                return send_json(h, 400, {"errors": [{"message": "rule too long"}]})
            added.append({**rule, "id": str(1_000_000 + len(self.rules) + len(added))})
        self.rules += added
        return send_json(h, 201, {"data": added, "meta": {"sent": "now", "summary": {
                "created": len(added), "not_created": 0, "valid": len(added), "invalid": 0}}})

    def _message(self, tweet: dict[str, Any]) -> bytes:
        rule = next(r for r in self.rules if r["tag"] == "crisiswatch:Skyways")
        return orjson.dumps({"data": tweet, "includes": {"users": [
            self.users[tweet["author_id"]]]}, "matching_rules": [
                {"id": rule["id"], "tag": rule["tag"]}]}) + b"\r\n"

    def _stream(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        assert "author_id" in query.get("expansions", "")
        self.stream(h)

    def refuse(self, h: BaseHTTPRequestHandler) -> None:
        send_json(h, 429, {"title": "ConnectionException", "detail": "This stream is "
                           "currently at the maximum allowed connection limit.",
                           "connection_issue": "TooManyConnections"},
                  {"x-rate-limit-reset": str(int(time.time()) + 1)})

    def send_post(self, h: BaseHTTPRequestHandler, post: dict[str, Any]) -> None:
        h.wfile.write(self._message(post))
        h.wfile.flush()

    def oddity(self, h: BaseHTTPRequestHandler, i: int) -> None:
        if i == 3:
            h.wfile.write(b"\r\n")  # keep-alive
            h.wfile.write(b'{"data": {"id": "17"\r\n')  # cut short
        if i == 6:
            h.wfile.write(orjson.dumps({"errors": [{
                "title": "operational-disconnect", "disconnect_type":
                "UpstreamOperationalDisconnect"}]}) + b"\r\n")

    def _search(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        self.searches.append(query)
        if len(self.searches) == 1:
            return send_json(h, 429, {"title": "Too Many Requests", "status": 429},
                             {"x-rate-limit-reset": str(int(time.time()) + 1)})
        low = int(query.get("since_id", "0"))
        size = int(query.get("max_results", "10"))
        found = [t for t in self.tweets[:self.posted] if int(t["id"]) > low][::-1]  # newest first
        start = int(query.get("next_token", "0"))
        page = found[start:start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + size < len(found):
            meta["next_token"] = str(start + size)
        else:
            self.caught_up.set()
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body["includes"] = {"users": list({t["author_id"]: self.users[t["author_id"]]
                                               for t in page}.values())}
        send_json(h, 200, body)


