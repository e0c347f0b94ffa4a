"""The built-in demo stream: three brands over four days with daily cycles, and one
telecom outage that a crisis team should hear about.

The airline sample may not be shipped (CC BY-NC-SA), so the first command of the README
replays this instead. It is deterministic for a seed, and it carries the things a real
stream has: mentions without a brand field (matched by brand queries), retweets, a few
broken records and repeated ids, so that every counter of the dashboard moves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
DAYS = 4
OUTAGE_START = START + timedelta(days=2, hours=9, minutes=30)
OUTAGE_HOURS = 2.0

BRANDS: dict[str, dict[str, Any]] = {
    "Northwind Telecom": {
        "handle": "@NorthwindTel", "per_hour": 80,
        "texts": [
            "{h} my bill doubled this month, why?",
            "{h} thanks for sorting out my upgrade so quickly",
            "switched to northwind mobile last week, coverage is decent",
            "{h} is the 5G rollout coming to Leeds soon?",
            "{h} support chat kept me waiting 40 minutes again",
            "loving the new {h} family plan #northwind",
        ],
    },
    "Skyways": {
        "handle": "@Skyways", "per_hour": 50,
        "texts": [
            "{h} flight delayed 2 hours with no updates, not impressed",
            "{h} great crew on the Lisbon flight today",
            "anyone else flying skyways to Rome tomorrow?",
            "{h} lost my bag at the transfer, please help",
            "{h} seat upgrade was worth it #skyways",
        ],
    },
    "Harbor Bank": {
        "handle": "@HarborBank", "per_hour": 30,
        "texts": [
            "{h} app keeps logging me out",
            "{h} mortgage advisor was really helpful",
            "harbor bank branch on Main St closing?",
            "{h} card declined abroad, called and fixed in minutes",
        ],
    },
}

OUTAGE_TEXTS = [
    "{h} no signal at all in Manchester since this morning #NorthwindDown",
    "{h} is the network down? can't call or text #NorthwindDown",
    "still no mobile data, third hour now, useless {h} #NorthwindDown",
    "{h} outage again?? I work from my phone #NorthwindDown #outage",
    "northwind mobile down for everyone here, any ETA? #NorthwindDown",
]


def _diurnal(hour: float) -> float:
    """Relative volume by hour of day: quiet at night, peak early afternoon."""
    return 0.12 + 0.88 * math.exp(-((hour - 13.5) ** 2) / (2 * 4.0**2))


def mentions(seed: int = 7) -> Iterator[dict[str, Any]]:
    """Demo mentions in event-time order, plus a few broken records and repeats."""
    rng = np.random.default_rng(seed)
    records: list[tuple[float, dict[str, Any]]] = []
    minutes = DAYS * 24 * 60
    outage_from = (OUTAGE_START - START).total_seconds() / 60
    seq = 0
    for brand, spec in BRANDS.items():
        for minute in range(minutes):
            t = START + timedelta(minutes=minute)
            rate = spec["per_hour"] / 60 * _diurnal(t.hour + t.minute / 60)
            outage_minute = 0 <= minute - outage_from < 60 * OUTAGE_HOURS
            n_outage = rng.poisson(6.0) if brand == "Northwind Telecom" and outage_minute else 0
            for k in range(rng.poisson(rate) + n_outage):
                seq += 1
                outage = k < n_outage
                texts = OUTAGE_TEXTS if outage else spec["texts"]
                text = texts[int(rng.integers(len(texts)))].format(h=spec["handle"])
                retweet = outage and rng.random() < 0.35
                if retweet:
                    text = f"RT @user{int(rng.integers(20))}: {text}"
                ts = t + timedelta(seconds=float(rng.uniform(0, 60)))
                rec: dict[str, Any] = {
                    "id": f"demo-{seq}",
                    "ts": ts.isoformat(),
                    "text": text,
                    "platform": "twitter",
                    "author": {"handle": f"user{int(rng.integers(100_000))}",
                               "followers": int(rng.lognormal(5.0, 1.5))},
                }
                if rng.random() > 0.1:  # 10 % arrive without a brand: brand queries match
                    rec["brand"] = brand
                records.append((ts.timestamp(), rec))
    records.sort(key=lambda tr: tr[0])
    for i, (_, rec) in enumerate(records):
        yield rec
        if i % 1500 == 1499:  # a collector that re-sends a record now and then
            yield rec
    yield {"id": "demo-bad-1", "ts": "yesterday", "text": "@Skyways hello"}
    yield {"id": "demo-bad-2", "ts": (START + timedelta(days=DAYS)).isoformat()}


def write(path: Path, seed: int = 7) -> int:
    """Write the demo stream as JSON lines (with one line that is not JSON at all)."""
    n = 0
    with path.open("wb") as f:
        for rec in mentions(seed):
            f.write(orjson.dumps(rec) + b"\n")
            n += 1
        f.write(b"this line is not json\n")
    return n + 1
