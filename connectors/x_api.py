"""X API v2 objects onto the mention contract: what the filtered stream, recent search
and exported v2 JSON all share.

A v2 answer carries tweets in ``data`` (a list from search, one object per filtered
stream message) and their authors apart, in ``includes.users`` (with ``expansions=
author_id`` and ``user.fields=public_metrics,username``): followers and handles are
joined back by ``author_id``. A tweet maps to: ``id``, ``ts`` (``created_at``),
``text``, ``lang``, ``hashtags`` (``entities.hashtags[].tag``), ``author`` (id,
``@username``, ``public_metrics.followers_count``), ``retweet_of`` / ``reply_to`` (the
``referenced_tweets`` of type ``retweeted`` / ``replied_to``), ``url`` (x.com/USER/
status/ID) and ``metrics`` (likes; shares = retweets + quotes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

# What the connector asks for, so that every field above is there.
TWEET_FIELDS = "created_at,lang,author_id,entities,referenced_tweets,public_metrics"
USER_FIELDS = "username,public_metrics"
EXPANSIONS = "author_id"


def users_of(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    users = (page.get("includes") or {}).get("users") or []
    return {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)}


def tweet_mention(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One tweet as a mention record; fields it lacks are left out for the parser to
    judge (a tweet without ``text`` is dead-lettered with that reason, not dropped)."""
    user = users.get(str(tweet.get("author_id")), {})
    refs = {r.get("type"): r.get("id") for r in tweet.get("referenced_tweets") or []
            if isinstance(r, dict)}
    metrics = tweet.get("public_metrics") or {}
    tags = ((tweet.get("entities") or {}).get("hashtags")) or []
    username = user.get("username")
    record: dict[str, Any] = {
        "id": tweet.get("id"), "ts": tweet.get("created_at"), "text": tweet.get("text"),
        "platform": "x", "lang": tweet.get("lang"),
        "hashtags": [t["tag"] for t in tags if isinstance(t, dict) and "tag" in t] or None,
        "author": {"id": tweet.get("author_id"),
                   "handle": f"@{username}" if username else None,
                   "followers": (user.get("public_metrics") or {}).get("followers_count")},
        "retweet_of": refs.get("retweeted"), "reply_to": refs.get("replied_to"),
        "url": f"https://x.com/{username or 'i'}/status/{tweet.get('id')}",
        "metrics": {"likes": metrics.get("like_count", 0),
                    "shares": metrics.get("retweet_count", 0) + metrics.get("quote_count", 0)},
    }
    return {k: v for k, v in record.items() if v is not None}


def page_mentions(page: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tweet of a v2 answer (``data`` a list or one object) as mentions."""
    data = page.get("data")
    tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    users = users_of(page)
    return [tweet_mention(t, users) for t in tweets if isinstance(t, dict)]


def x_v2_rows(path: Path) -> Iterator[dict[str, Any] | bytes]:
    """An X API v2 export: one answer (``{"data": [...], "includes": {...}}``) or one
    answer a line (a paginated search dump, a filtered stream capture). A line that is
    not JSON is passed on as it is, for the flow to dead-letter with its reason."""
    raw = path.read_bytes()
    try:
        pages = [orjson.loads(raw)]
    except orjson.JSONDecodeError:
        pages = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                pages.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                yield line
    for page in pages:
        if isinstance(page, dict):
            yield from page_mentions(page)
