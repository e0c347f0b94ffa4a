"""Reddit: the newest comments or submissions of chosen subreddits, polled through the
OAuth API (Reddit has no push stream; ``praw``'s streams poll the same listings).

Protocol (reddit.com/dev/api, and its OAuth2 wiki)
    An app's client id and secret get a bearer token (``POST /api/v1/access_token``,
    ``grant_type=client_credentials``, HTTP Basic; it expires after ``expires_in``
    seconds); ``GET https://oauth.reddit.com/r/A+B/comments`` (or ``/new`` for
    submissions) answers a Listing, newest first: ``{"kind": "Listing", "data":
    {"children": [{"kind": "t1", "data": {...}}], "after": "t1_…"}}``, 100 at most a
    page, older pages by ``after``. Every request needs a descriptive ``User-Agent``;
    ``X-Ratelimit-Remaining`` / ``X-Ratelimit-Reset`` (seconds) say how much of the
    quota is left, and beyond it the answer is 429.

Filter
    The subreddits are chosen in the configuration (``sources.reddit.subreddits``),
    all read in one listing (``r/A+B+C``); the brand queries are matched here.

Resume
    Ids are base-36 counters, so "newer" is "larger". The cursor is the largest id
    committed: each poll reads pages until it meets the cursor (a burst larger than a
    page is read to its start; listings reach about 1,000 items back, so a connector
    down longer than that loses what fell off, and says so in the log), and hands them
    on oldest first. Reddit lists a comment held by its spam filter only once a
    moderator approves it, with its old id: one approved after the cursor passed it is
    not read (the platform's limit; ``rewind_ids`` re-reads that many ids behind the
    cursor after every reconnect, the repeats counted as duplicates by the flow).

Mapping
    ``id`` the fullname (``t1_…``, ``t3_…``), ``ts`` ``created_utc``, ``text`` the body
    (a submission: title, then its text), ``author`` (``author_fullname``, ``u/NAME``;
    Reddit shows no follower counts), ``reply_to`` ``parent_id``, ``url`` the
    permalink. Deleted and removed items (``[deleted]``, ``[removed]``) are ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from crisiswatch.connectors.live import Batch, Connector, RateLimited, retry_after

log = logging.getLogger("crisiswatch.connectors")
GONE = {"[deleted]", "[removed]"}
PAGE = 100


@dataclass(frozen=True)
class RedditConfig:
    subreddits: tuple[str, ...]
    client_id: str | None
    client_secret: str | None
    user_agent: str = "crisiswatch/0.1 (brand crisis monitoring)"
    api: str = "https://oauth.reddit.com"
    auth: str = "https://www.reddit.com"
    poll_seconds: float = 5.0
    max_pages: int = 10  # 1,000 items: as far back as a listing goes
    rewind_ids: int = 0


class Reddit(Connector):
    """One listing (``comments`` or ``submissions``) of the configured subreddits."""

    def __init__(self, config: RedditConfig, listing: str) -> None:
        self.config = config
        self.listing = listing
        self.name = f"reddit:{listing}"
        self.path = (f"/r/{'+'.join(config.subreddits)}/"
                     + ("comments" if listing == "comments" else "new"))
        self.token: str | None = None
        self.token_until = 0.0

    def batches(self, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        with httpx.Client(base_url=self.config.api, timeout=15.0, trust_env=False,
                          headers={"User-Agent": self.config.user_agent}) as client:
            rewind = self.config.rewind_ids  # once a connection: late approvals
            while not stop.is_set():
                batch = self._poll(client, cursor, rewind)
                cursor, rewind = batch.cursor or cursor, 0
                yield batch
                stop.wait(self.config.poll_seconds)

    def _authorize(self) -> str:
        if self.token is None or time.time() > self.token_until - 60:
            r = httpx.post(f"{self.config.auth}/api/v1/access_token",
                           data={"grant_type": "client_credentials"},
                           auth=(self.config.client_id or "", self.config.client_secret or ""),
                           headers={"User-Agent": self.config.user_agent}, timeout=15.0,
                           trust_env=False)
            _check(r)
            doc = r.json()
            self.token = str(doc["access_token"])
            self.token_until = time.time() + float(doc.get("expires_in", 3600))
        return self.token

    def _poll(self, client: httpx.Client, cursor: str | None, rewind: int) -> Batch:
        """Newest first, page by page, until the cursor less ``rewind`` ids (on a first
        start, one page); handed on oldest first."""
        low = _order(cursor) - rewind if cursor else None
        items: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(self.config.max_pages):
            params = {"limit": PAGE, "raw_json": 1, **({"after": after} if after else {})}
            r = client.get(self.path, params=params,
                           headers={"Authorization": f"bearer {self._authorize()}"})
            if r.status_code == 401:  # the token expired early (revoked, rotated)
                self.token = None
                r = client.get(self.path, params=params,
                               headers={"Authorization": f"bearer {self._authorize()}"})
            _check(r)
            data = (r.json() or {}).get("data") or {}
            children = data.get("children") or []
            newer = _newer(children, low)
            items += newer
            after = data.get("after")
            if low is None or len(newer) < len(children) or not after:
                break
        else:
            log.warning("%s: more than %d pages since cursor %s: older items not read",
                        self.name, self.config.max_pages, cursor)
        batch = Batch(cursor=cursor)
        for child in sorted(items, key=lambda c: _order(_id(c))):
            self._item(child, batch)
        return batch

    def _item(self, child: Any, batch: Batch) -> None:
        batch.frames += 1
        data = child.get("data") if isinstance(child, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            batch.refuse("listing child without 'data.id'", repr(child))
            return
        batch.cursor = _newest(batch.cursor, data["id"])
        kind = child.get("kind")
        if kind == "t1":
            text = data.get("body")
        elif kind == "t3":
            text = "\n\n".join(x for x in (data.get("title"), data.get("selftext"))
                               if isinstance(x, str) and x)
        else:
            batch.ignored[f"kind {kind}"] += 1
            return
        if not isinstance(text, str):
            batch.refuse(f"{kind} without text", repr(child))
            return
        if text.strip() in GONE:
            batch.ignored["deleted"] += 1
            return
        if not text.strip():
            batch.ignored["without text"] += 1
            return
        author = data.get("author")
        mention = {
            "id": data.get("name") or f"{kind}_{data['id']}", "ts": data.get("created_utc"),
            "text": text, "platform": "reddit",
            "author": {"id": data.get("author_fullname"),
                       "handle": f"u/{author}" if isinstance(author, str) else None},
            "reply_to": data.get("parent_id"),
            "url": f"https://www.reddit.com{data['permalink']}" if data.get("permalink")
            else None,
        }
        batch.records.append({k: v for k, v in mention.items() if v is not None})


def _check(r: httpx.Response) -> None:
    if r.status_code == 200:
        return
    if r.status_code == 429:
        raise RateLimited(f"{r.request.url.path}: 429 Too Many Requests",
                          retry_after(r.headers.get("X-Ratelimit-Reset")))
    raise httpx.HTTPStatusError(f"{r.request.url.path}: HTTP {r.status_code}: "
                                f"{r.text[:200]}", request=r.request, response=r)


def _newer(children: list[Any], low: int | None) -> list[Any]:
    """The children above ``low``, newest first, up to the first one at or below it. A
    child without an id (malformed) has no place of its own: it is read with the older
    neighbour it is listed above, so once, when that one is new, and refused then."""
    out: list[Any] = []
    waiting: list[Any] = []
    for child in children:
        if _id(child) is None:
            waiting.append(child)
            continue
        if low is not None and _order(_id(child)) <= low:
            return out
        out += waiting
        waiting = []
        out.append(child)
    return out + waiting


def _id(child: Any) -> str | None:
    data = child.get("data") if isinstance(child, dict) else None
    return data.get("id") if isinstance(data, dict) else None


def _order(item_id: str | None) -> int:
    try:
        return int(item_id, 36) if item_id else -1
    except ValueError:
        return -1


def _newest(a: str | None, b: str) -> str:
    return b if a is None or _order(b) > _order(a) else a
