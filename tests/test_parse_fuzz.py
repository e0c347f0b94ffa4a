"""The parser fuzzed: whatever bytes or JSON a collector sends, it returns a mention or
a dead letter with a reason, and never raises."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisiswatch.detectors.types import DeadLetter, Mention
from tests.helpers.parsing import PARSER

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries({}, optional={
    "id": JSON | st.text(min_size=1), "ts": JSON | st.integers(0, 2_000_000_000),
    "brand": JSON | st.sampled_from(["Delta", "", " "]), "text": JSON | st.text(),
    "hashtags": JSON, "author": JSON | st.fixed_dictionaries({}, optional={
        "id": JSON, "handle": JSON, "followers": JSON}),
    "is_retweet": JSON, "retweet_of": JSON, "lang": JSON,
})
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(out: Mention | DeadLetter) -> None:
    assert isinstance(out, Mention | DeadLetter)
    if isinstance(out, DeadLetter):
        assert out.reason and not out.reason.startswith("internal error"), out.reason
    else:
        assert out.id.strip() and out.text.strip() and out.brands


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(PARSER.parse(raw, 1))


@FUZZ
@given(FIELDS)
def test_arbitrary_records(record: dict) -> None:
    try:
        raw = orjson.dumps(record)
    except (TypeError, orjson.JSONEncodeError):
        return  # not representable as JSON: a collector could not send it either
    check(PARSER.parse(raw, 1))
