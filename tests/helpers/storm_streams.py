"""Synthetic streams for the failures of issue 12, each laid over a brand's ordinary
traffic at a known time: a storm of retweeted handle lists (on a brand with a day of
history, and on one whose stream began two hours before), a single speculative
watch-term post and the same term corroborated by several authors, and a reply hashtag
that bursts every morning, and a stream whose first hour holds a tenfold spike.

Ordinary traffic is a few readable mentions a window (a third complaints, some thanks,
questions), from many authors, so that every baseline has something true to learn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import write_jsonl

T0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday, midnight UTC
WINDOW = 300
HOUR, DAY = 3600, 86400

ORDINARY = (
    "my bill doubled this month and nobody answers the phone",
    "waited two hours on hold and still no refund, terrible",
    "the app keeps crashing every time I try to log in",
    "thanks for the quick help today, great service",
    "love the new plan, so much cheaper than before",
    "the engineer was lovely and fixed everything in minutes",
    "what time does the shop on the high street open",
    "how do I change my address on my account",
    "is the new tariff available in scotland yet",
)
STORM_TEXT = ("RT @fedupcustomer: @{handle} @{handle}Help @ofcom @bbcnews @guardian "
              "#dump{tag} #{tag}lies")  # no watch term: the tone alone decides
STORM_PER_WINDOW = 60
SPECULATION = "@{handle} I think you may have had a data breach? got a weird email today"
REPORT = "@{handle} my card was used abroad after your data breach, nobody picks up"
REPLIES = (
    "#ask{tag} still waiting for my refund, this is terrible",
    "#ask{tag} my order is late again, really annoyed",
    "#ask{tag} why was I charged twice, nobody replies",
)
REPLIES_PER_DAY = 30

# the cases: brand -> (handle, what happens, when)
MATURE_STORM = "Northwind"  # a storm 30 h into a stream that began at T0
YOUNG_STORM = "Eastwind"  # the same storm 2 h after its stream began
SPECULATIVE = "Harbor Bank"  # one "data breach" post, 30 h in
CORROBORATED = "Quay Bank"  # a data breach told by four authors within the hour, 30 h in
WONDERING = "Pier Bank"  # three customers asking whether there was a data breach
RECURRING = "Skyways"  # a reply hashtag every morning 09:00-10:00 for five days
FIRST_HOUR = "Westwind"  # a stream that begins 20 min before its volume goes tenfold
STORM_AT = T0 + 30 * HOUR
YOUNG_START = STORM_AT - 2 * HOUR
RECURRING_DAYS = 5
FIRST_HOUR_START = STORM_AT - 20 * 60


def ordinary(brand: str, handle: str, start: float, end: float, per_window: float,
             rng: np.random.Generator, texts: tuple[str, ...] = ORDINARY
             ) -> list[dict[str, Any]]:
    out = []
    for w in range(int((end - start) // WINDOW)):
        for _ in range(int(rng.poisson(per_window))):
            ts = start + w * WINDOW + float(rng.uniform(0, WINDOW))
            text = texts[int(rng.integers(len(texts)))]
            out.append(mention(brand, ts, f"@{handle} {text}", f"u{int(rng.integers(10**6))}"))
    return out


def mention(brand: str, ts: float, text: str, author: str, **extra: Any) -> dict[str, Any]:
    return {"brand": brand, "ts": round(ts, 3), "text": text,
            "author": {"id": author, "handle": author, "followers": 150}, **extra}


def storm(brand: str, handle: str, start: float, rng: np.random.Generator
          ) -> list[dict[str, Any]]:
    """Two hours of retweets of one post that is nothing but handles and hashtags."""
    text = STORM_TEXT.format(handle=handle, tag=handle.lower())
    return [mention(brand, start + w * WINDOW + float(rng.uniform(0, WINDOW)), text,
                    f"s{w}-{i}", is_retweet=True, retweet_of="storm-original")
            for w in range(24) for i in range(STORM_PER_WINDOW)]


def write(path: Path, seed: int = 12) -> Path:
    """All the cases in one stream (each brand's state is its own), in time order."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    end = STORM_AT + 4 * HOUR
    for brand in (MATURE_STORM, SPECULATIVE, CORROBORATED, WONDERING):
        records += ordinary(brand, brand.replace(" ", ""), T0, end, 8, rng)
    records += storm(MATURE_STORM, MATURE_STORM, STORM_AT, rng)
    records += ordinary(YOUNG_STORM, YOUNG_STORM, YOUNG_START, end, 8, rng)
    records += storm(YOUNG_STORM, YOUNG_STORM, STORM_AT, rng)
    records.append(mention(SPECULATIVE, STORM_AT + 60, SPECULATION.format(
        handle="HarborBank"), "worried-1"))
    records += [mention(CORROBORATED, STORM_AT + 60 + i * 600, REPORT.format(
        handle="QuayBank"), f"victim-{i}") for i in range(4)]
    records += [mention(WONDERING, STORM_AT + 60 + i * 600, SPECULATION.format(
        handle="PierBank"), f"worried-{i}") for i in range(3)]
    records += ordinary(FIRST_HOUR, FIRST_HOUR, FIRST_HOUR_START, end, 5, rng)
    records += ordinary(FIRST_HOUR, FIRST_HOUR, STORM_AT, STORM_AT + 40 * 60, 45, rng,
                        texts=ORDINARY[:3])  # complaints: an outage
    records += recurring(rng)
    return _numbered(path, records)


def recurring(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The brand with a reply hashtag that bursts every morning."""
    records = ordinary(RECURRING, RECURRING, T0, T0 + RECURRING_DAYS * DAY, 8, rng)
    for day in range(RECURRING_DAYS):
        for i in range(REPLIES_PER_DAY):
            ts = T0 + day * DAY + 9 * HOUR + i * HOUR / REPLIES_PER_DAY
            text = f"@{RECURRING} " + REPLIES[i % len(REPLIES)].format(tag=RECURRING.lower())
            records.append(mention(RECURRING, ts, text, f"r{day}-{i}"))
    return records


def write_recurring(path: Path, seed: int = 12) -> Path:
    """Only the recurring brand's stream."""
    return _numbered(path, recurring(np.random.default_rng(seed)))


def _numbered(path: Path, records: list[dict[str, Any]]) -> Path:
    records.sort(key=lambda r: r["ts"])
    for i, r in enumerate(records):
        r["id"] = str(i)
    return write_jsonl(path, records)
