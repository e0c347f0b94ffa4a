"""X (Twitter) API v2: the filtered stream, with its rules built from the brand
queries, and recent search to fill every gap behind a reconnect.

Protocol (developer.x.com: filtered stream, recent search)
    Rules live on the app: ``GET/POST /2/tweets/search/stream/rules`` (``add``: value
    and tag; ``delete``: ids). ``GET /2/tweets/search/stream`` then answers one JSON
    message a line (``\\r\\n``; an empty line every 20 s keeps the connection alive):
    ``{"data": tweet, "includes": {"users": [...]}, "matching_rules": [{"id", "tag"}]}``.
    ``GET /2/tweets/search/recent?query=…&since_id=…`` returns the last 7 days, newest
    first, ``max_results`` up to 100 a page with ``meta.next_token``. Everything takes
    an app's bearer token (``Authorization: Bearer``). Limits answer 429 with
    ``x-rate-limit-reset`` (epoch seconds); one connection to the stream at a time.

Filter
    Each brand is one rule, ``(@handle OR "keyword" OR #tag)`` plus ``rule_suffix``
    (``-is:retweet lang:en``, say), tagged ``crisiswatch:BRAND``; a brand whose rule is
    longer than ``max_rule_chars`` (512 on the basic tiers) is split over several rules
    of the same tag. At every connect the app's rules are brought in line: ours that
    are no longer wanted are deleted, missing ones added, rules of other tags left
    alone. A tweet that matched the rules of one brand carries that brand; one that
    matched several is matched again by the brand queries.

Resume
    The cursor is the newest tweet id committed. The stream cannot replay (its
    ``backfill_minutes`` needs an enterprise plan), so after every reconnect the stream
    is opened first and recent search then reads each rule's tweets after the cursor,
    rewound by ``rewind_seconds`` (tweet ids carry their time: milliseconds << 22), page
    by page, before the stream is read: nothing posted meanwhile is missed, what both
    deliver is dropped by the flow as a duplicate. Search answers newest first; the gap
    is gathered and handed on oldest first, so that the flow's watermark does not pass
    its older tweets (a gap of days is held in memory while it is read: 7 days at most).
    On a first start, ``backfill_hours`` of recent search come first (0: live only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from crisiswatch.connectors.live import Batch, Batcher, Connector, RateLimited
from crisiswatch.connectors.x_api import EXPANSIONS, TWEET_FIELDS, USER_FIELDS, page_mentions
from crisiswatch.detectors.brands import BrandQuery

TAG_PREFIX = "crisiswatch:"
SNOWFLAKE_SHIFT = 22
FIELDS = {"tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS, "expansions": EXPANSIONS}


@dataclass(frozen=True)
class XConfig:
    api: str = "https://api.x.com"
    token: str | None = None
    rule_suffix: str = ""
    max_rule_chars: int = 512
    rewind_seconds: float = 30.0
    backfill_hours: float = 0.0
    search_page: int = 100
    batch_tweets: int = 200
    flush_seconds: float = 0.2
    read_timeout_seconds: float = 30.0  # keep-alives come every 20 s


def _term(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "handle":
        return "@" + value.lstrip("@")
    if kind == "hashtag":
        return "#" + value.lstrip("#")
    return f'"{value}"' if " " in value else value


def brand_rules(queries: dict[str, BrandQuery], suffix: str = "", max_chars: int = 512
                ) -> list[dict[str, str]]:
    """The filtered-stream rules of the brand queries: ``[{"value", "tag"}]``."""
    rules = []
    for brand, q in sorted(queries.items()):
        terms = ([_term("handle", h) for h in q.handles]
                 + [_term("keyword", k) for k in q.keywords]
                 + [_term("hashtag", t) for t in q.hashtags])
        tail = f" {suffix.strip()}" if suffix.strip() else ""
        group: list[str] = []
        for term in terms:
            candidate = [*group, term]
            if group and len(f"({' OR '.join(candidate)}){tail}") > max_chars:
                rules.append({"value": f"({' OR '.join(group)}){tail}",
                              "tag": TAG_PREFIX + brand})
                candidate = [term]
            group = candidate
        if group:
            rules.append({"value": f"({' OR '.join(group)}){tail}", "tag": TAG_PREFIX + brand})
    return rules


class XStream(Connector):
    name = "x"

    def __init__(self, config: XConfig, queries: dict[str, BrandQuery]) -> None:
        self.config = config
        self.rules = brand_rules(queries, config.rule_suffix, config.max_rule_chars)

    def batches(self, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        headers = {"User-Agent": "crisiswatch"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        timeout = httpx.Timeout(10.0, read=self.config.read_timeout_seconds)
        with httpx.Client(base_url=self.config.api, headers=headers, timeout=timeout,
                          trust_env=False) as client:
            self._sync_rules(client)
            with client.stream("GET", "/2/tweets/search/stream", params=FIELDS) as live:
                _check(live)
                newest = cursor
                for batch in self._search(client, cursor, stop):
                    newest = batch.cursor or newest
                    yield batch
                yield from self._live(live, newest, stop)

    def _sync_rules(self, client: httpx.Client) -> None:
        r = client.get("/2/tweets/search/stream/rules")
        _check(r)
        have = [x for x in r.json().get("data") or []
                if str(x.get("tag", "")).startswith(TAG_PREFIX)]
        want = {(x["value"], x["tag"]) for x in self.rules}
        stale = [x["id"] for x in have if (x.get("value"), x.get("tag")) not in want]
        missing = [x for x in self.rules
                   if (x["value"], x["tag"]) not in {(h.get("value"), h.get("tag")) for h in have}]
        if stale:
            _check(client.post("/2/tweets/search/stream/rules",
                               json={"delete": {"ids": stale}}))
        if missing:
            r = client.post("/2/tweets/search/stream/rules", json={"add": missing})
            _check(r)
            errors = r.json().get("errors")
            if errors:
                raise ValueError(f"X refused stream rules: {errors}")

    def _search(self, client: httpx.Client, cursor: str | None,
                stop: threading.Event) -> Iterator[Batch]:
        """Recent search after the cursor (rewound), or the first ``backfill_hours``."""
        params: dict[str, Any] = {**FIELDS, "max_results": self.config.search_page}
        if cursor is not None:
            params["since_id"] = _rewound(cursor, self.config.rewind_seconds)
        elif self.config.backfill_hours > 0:
            start = datetime.now(UTC) - timedelta(hours=self.config.backfill_hours)
            params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            return
        found: dict[str, dict[str, Any]] = {}
        for rule in self.rules:
            token: str | None = None
            while not stop.is_set():
                page_params = {**params, "query": rule["value"]}
                if token:
                    page_params["next_token"] = token
                r = client.get("/2/tweets/search/recent", params=page_params)
                _check(r)
                page = r.json()
                for mention in page_mentions(page):
                    mention["brand"] = rule["tag"][len(TAG_PREFIX):]
                    found.setdefault(f"{mention.get('id')}|{mention['brand']}", mention)
                token = (page.get("meta") or {}).get("next_token")
                if not token:
                    break
        if stop.is_set() or not found:
            return
        # Search pages come newest first; the flow wants event time in order (a newest
        # first gap would put its older half behind the watermark, late), so the gap is
        # handed on oldest first, the cursor moving only with its last batch.
        ordered = sorted(found.values(), key=lambda m: _order(str(m.get("id"))))
        size = self.config.batch_tweets
        for i in range(0, len(ordered), size):
            chunk = ordered[i:i + size]
            last = i + size >= len(ordered)
            yield Batch(cursor=_newest(cursor, str(ordered[-1].get("id"))) if last else cursor,
                        records=chunk, frames=len(chunk))

    def _live(self, response: httpx.Response, cursor: str | None,
              stop: threading.Event) -> Iterator[Batch]:
        batcher = Batcher(self.config.batch_tweets, self.config.flush_seconds, cursor)
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.strip():
                self._message(line, batcher.batch)
            if (batch := batcher.due()) is not None:
                yield batch
        if (rest := batcher.rest()) is not None:
            yield rest

    def _message(self, line: str, batch: Batch) -> None:
        message = batch.frame_object(line, "a stream message")
        if message is None:
            return
        data = message.get("data")
        if not isinstance(data, dict):
            if message.get("errors"):  # operational messages: X is about to disconnect
                batch.ignored["error message"] += 1
            else:
                batch.refuse("stream message without 'data'", line)
            return
        if not isinstance(data.get("id"), str):
            batch.refuse("tweet without a string 'id'", line)
            return
        (mention,) = page_mentions(message)
        brands = {str(r.get("tag", ""))[len(TAG_PREFIX):]
                  for r in message.get("matching_rules") or []
                  if isinstance(r, dict) and str(r.get("tag", "")).startswith(TAG_PREFIX)}
        if len(brands) == 1:
            mention["brand"] = brands.pop()
        batch.records.append(mention)
        batch.cursor = _newest(batch.cursor, data["id"])


def _check(r: httpx.Response) -> None:
    if 200 <= r.status_code < 300:
        return
    if r.status_code == 429:
        reset = r.headers.get("x-rate-limit-reset")
        wait = max(float(reset) - time.time(), 0.0) if reset and reset.isdigit() else None
        raise RateLimited(f"{r.request.url.path}: 429 Too Many Requests", wait)
    detail = r.read()[:300].decode(errors="replace")
    raise httpx.HTTPStatusError(f"{r.request.url.path}: HTTP {r.status_code}: {detail}",
                                request=r.request, response=r)


def _order(tweet_id: str | None) -> int:
    try:
        return int(tweet_id) if tweet_id is not None else -1
    except ValueError:
        return -1


def _newest(a: str | None, b: str) -> str:
    return b if a is None or _order(b) > _order(a) else a


def _rewound(cursor: str, seconds: float) -> str:
    return str(max(_order(cursor) - (int(seconds * 1000) << SNOWFLAKE_SHIFT), 0))
