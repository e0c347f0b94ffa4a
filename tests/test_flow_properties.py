"""Property: any record that ``POST /mentions`` accepts goes through the whole flow (parse,
enrich, windows, detectors, store) without raising, and is accounted for.

Records are generated wide: timestamps across and beyond ``datetime``'s range in any
offset, epoch numbers of every size, texts with any characters, huge follower counts,
brands that are odd names. They reach the parser as the API's body splitting hands them
over (``api.ingest._split``), with the parser the API is given (``runtime.parser``).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from bytewax.testing import run_main
from fastapi import HTTPException
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crisiswatch.api.ingest import _split
from crisiswatch.config import runtime
from crisiswatch.config.runtime import build_flow
from crisiswatch.detectors.types import DeadLetter
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import settings_for

NOW = time.time()
offsets = st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m)))
iso = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                   timezones=offsets).map(datetime.isoformat)
recent = st.floats(NOW - 400 * 86400, NOW + 7200)
finite = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN
recent_iso = recent.map(lambda t: datetime.fromtimestamp(t, UTC).isoformat())
# mostly valid (st.one_of picks a branch uniformly), so that most records get through
timestamps = st.one_of(*[recent] * 4, *[recent_iso] * 4, iso, st.integers(-10**15, 10**15),
                       finite, st.text(max_size=30))
words = st.sampled_from(["down", "outage", "#acmedown", "@acme", "love", "hate", "refund",
                         "cancel", "RT @x:", "http://t.co/x", "🙂", "\u0000", "\u202e", " "])
phrases = st.lists(words, min_size=1, max_size=12).map(" ".join)
texts = st.one_of(phrases, phrases, st.text(max_size=80))
known = st.sampled_from(["Acme", "Globex", "AT&T/Mobile", '=HYPERLINK("x")', "Ünï ✈"])
names = st.one_of(*[known] * 6, st.text(min_size=1, max_size=20), st.none())
followers = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2**70))  # orjson: u64
numbers = st.one_of(*[followers] * 6, st.integers(-5, 0), finite, st.text(max_size=5),
                    st.none())
records = st.fixed_dictionaries(
    {"id": st.one_of(st.uuids().map(str), st.uuids().map(str), st.text(max_size=12),
                     st.integers(-2**70, 2**70)), "ts": timestamps,
     "brand": names, "text": texts},
    optional={"author": st.fixed_dictionaries(
                  {}, optional={"id": st.one_of(st.text(max_size=8), st.integers()),
                                "handle": st.one_of(st.text(max_size=8), st.none()),
                                "followers": numbers}),
              "hashtags": st.lists(st.text(max_size=12), max_size=5),
              "retweet_of": st.one_of(st.text(max_size=8), st.integers(), st.none()),
              "is_retweet": st.one_of(st.booleans(), st.none()),
              "lang": st.one_of(st.text(max_size=4), st.none()),
              "platform": st.one_of(st.text(max_size=8), st.none()),
              "url": st.one_of(st.text(max_size=20), st.none())})


@given(batch=st.lists(records, min_size=5, max_size=60))
@pytest.mark.slow
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_whatever_post_mentions_accepts_goes_through_the_flow(
        batch: list[dict], redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    prefix = f"hy{uuid.uuid4().hex[:10]}"
    config = settings_for(prefix)
    parse = runtime.parser(config).parse
    body = json.dumps(batch).encode()  # stdlib JSON: integers of any size, as sent
    try:
        split = _split(body, ndjson=False)
    except HTTPException as e:  # the whole body refused (a lone surrogate is not JSON)
        assert e.status_code == 400
        split = []
    accepted = [raw for i, raw in split if not isinstance(parse(raw, i), DeadLetter)]
    event(f"records accepted: {min(len(accepted), 10)}{'+' if len(accepted) >= 10 else ''}")
    path = tmp_path / f"{prefix}.jsonl"
    path.write_bytes(b"".join(raw + b"\n" for raw in accepted))
    run_main(build_flow(config, ReplaySource([path]), redis_server.url))  # never raises
    s = Store(connect(redis_server.url), prefix).stats()
    assert s["read"] == len(accepted)
    assert s["read"] + s["fanout"] == s["processed"] + s["duplicate"] + s["late"] + \
        s["dead_lettered"], s
