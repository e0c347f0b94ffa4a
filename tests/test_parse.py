"""The mention contract: every bad input becomes a dead letter with a reason to act on."""

from __future__ import annotations

import pytest

from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.types import DeadLetter, Mention
from tests.helpers.parsing import MATCHER, PARSER

GOOD = b'{"id":"1","ts":"2015-02-23T10:00:00-08:00","brand":"Delta","text":"hi #Fleek"}'


def parse(raw: bytes | str) -> Mention | DeadLetter:
    return PARSER.parse(raw.encode() if isinstance(raw, str) else raw, position=7)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"not json at all", "not JSON: "),
    (b'["a", "list"]', "not a JSON object: got array"),
    (b'"a string"', "not a JSON object: got string"),
    (b"   ", "empty record"),
    (b'{"ts": 1424714400, "brand": "Delta", "text": "x"}', "missing field 'id'"),
    (b'{"id": "", "ts": 1424714400, "brand": "Delta", "text": "x"}', "field 'id' is empty"),
    (b'{"id": "  ", "ts": 1424714400, "brand": "Delta", "text": "x"}', "field 'id' is empty"),
    (b'{"id": ["1"], "ts": 1424714400, "brand": "Delta", "text": "x"}',
     "field 'id' must be a string, got array"),
    (b'{"id": true, "ts": 1424714400, "brand": "Delta", "text": "x"}',
     "field 'id' must be a string, got boolean"),
    (b'{"id": "1", "ts": 1424714400, "brand": "Delta"}', "missing field 'text'"),
    (b'{"id": "1", "ts": 1424714400, "brand": "Delta", "text": null}', "missing field 'text'"),
    (b'{"id": "1", "ts": 1424714400, "brand": "Delta", "text": "  "}', "field 'text' is empty"),
    (b'{"id": "1", "ts": 1424714400, "brand": "Delta", "text": 42}',
     "field 'text' must be a string, got integer"),
    (b'{"id": "1", "ts": 1424714400, "brand": "Delta", "text": "' + b"x" * 51 + b'"}',
     "field 'text' is 51 characters, over the limit of 50"),
    (b'{"id": "1", "brand": "Delta", "text": "x"}', "missing field 'ts'"),
    (b'{"id": "1", "ts": "yesterday", "brand": "Delta", "text": "x"}',
     "ts not a timestamp: 'yesterday'"),
    (b'{"id": "1", "ts": "2015-02-23T10:00:00", "brand": "Delta", "text": "x"}',
     "ts has no time zone: '2015-02-23T10:00:00' (add 'Z' or an offset such as '+00:00')"),
    (b'{"id": "1", "ts": 1424714400000, "brand": "Delta", "text": "x"}',
     "ts 1424714400000 is too large for epoch seconds (epoch milliseconds? divide by 1000)"),
    (b'{"id": "1", "ts": -5, "brand": "Delta", "text": "x"}', "ts not a timestamp: -5"),
    # instants outside datetime's range, and before the epoch: refused here, not found
    # later by whatever formats them (the year 10000 one stopped the flow once)
    (b'{"id": "1", "ts": "9999-12-31T10:30:00-14:00", "brand": "Delta", "text": "x"}',
     "ts out of range: '9999-12-31T10:30:00-14:00' (its UTC instant is outside years"),
    (b'{"id": "1", "ts": "0001-01-01T00:00:00+01:00", "brand": "Delta", "text": "x"}',
     "ts out of range: '0001-01-01T00:00:00+01:00'"),
    (b'{"id": "1", "ts": "0001-01-01T00:00:00Z", "brand": "Delta", "text": "x"}',
     "ts not a timestamp: '0001-01-01T00:00:00Z' (before 1970)"),
    (b'{"id": "1", "ts": "2099-01-01T00:00:00Z", "brand": "Delta", "text": "x"}',
     "ts 2099-01-01T00:00:00Z is "),
    (b'{"id": "1", "ts": 1424714400, "brand": "a\\nb", "text": "x"}',
     "field 'brand' must be at most 200 printable characters, got 'a\\nb'"),
    (b'{"id": "1", "ts": 1424714400, "brand": "' + b"b" * 201 + b'", "text": "x"}',
     "field 'brand' must be at most 200 printable characters"),
    (b'{"id": "1", "ts": true, "brand": "Delta", "text": "x"}', "ts not a timestamp: True"),
    (b'{"id": "1", "ts": {"t": 1}, "brand": "Delta", "text": "x"}',
     "ts must be an ISO-8601 string or epoch seconds, got object"),
    (b'{"id": "1", "ts": 1424714400, "text": "nothing to see"}',
     "no brand: field 'brand' is absent and no brand query matches"),
    (b'{"id": "1", "ts": 1424714400, "brand": "", "text": "x"}', "field 'brand' is empty"),
    (b'{"id": "1", "ts": 1424714400, "brand": 3, "text": "x"}',
     "field 'brand' must be a string, got integer"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "hashtags": "fleek"}',
     "field 'hashtags' must be a list of strings, got string"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "author": "bob"}',
     "field 'author' must be an object, got string"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "author": {"followers": "12k"}}',
     "field 'author.followers' must be a non-negative integer, got '12k'"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "author": {"followers": -1}}',
     "field 'author.followers' must be a non-negative integer, got -1"),
    # summed into a window's reach, it overflowed 64 bits and stopped the store sink
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "author": {"followers": '
     b'18446744073709551615}}', "field 'author.followers' is 18,446,744,073,709,551,615, more "
     "than the 10,000,000,000 any account can have"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x", "is_retweet": "yes"}',
     "field 'is_retweet' must be true or false, got string"),
    (b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "caf\xe9"}',
     "not valid UTF-8: byte 0xe9 at offset 56"),
])
def test_bad_input_becomes_a_dead_letter_with_its_reason(raw: bytes, reason: str) -> None:
    out = parse(raw)
    assert isinstance(out, DeadLetter)
    assert out.reason.startswith(reason), out.reason
    assert out.source == "test.jsonl" and out.position == 7
    assert out.key == "test.jsonl:7"


def test_dead_letter_keeps_the_raw_record_readable_even_when_it_is_not_utf8() -> None:
    out = parse(b'{"id": "1", "text": "caf\xe9"}')
    assert isinstance(out, DeadLetter)
    assert out.raw == '{"id": "1", "text": "caf\ufffd"}'


def test_a_valid_mention_with_every_optional_field() -> None:
    out = parse(
        b'{"id": 570306133677760513, "ts": "2015-02-23T10:00:00-08:00", "brand": "Delta",'
        b' "text": "RT @x: our fleet is on #Fleek #fleek", "author": {"id": 9, "handle": "bob",'
        b' "followers": 1200}, "platform": "twitter", "lang": "en", "url": "https://t.co/x"}'
    )
    assert isinstance(out, Mention)
    assert out.id == "570306133677760513"  # numeric ids are taken as strings
    assert out.ts == 1424714400.0
    assert out.brands == ("Delta",)
    assert out.hashtags == ("fleek",)  # extracted, lower-cased, deduplicated
    assert out.is_retweet  # "RT @" prefix
    assert (out.author_id, out.handle, out.followers) == ("9", "bob", 1200)


def test_epoch_seconds_and_zulu_time_are_the_same_instant() -> None:
    a = parse(b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x"}')
    b = parse(b'{"id": "1", "ts": "2015-02-23T18:00:00Z", "brand": "D", "text": "x"}')
    assert isinstance(a, Mention) and isinstance(b, Mention)
    assert a.ts == b.ts


def test_given_hashtags_win_over_extraction() -> None:
    out = parse(b'{"id": "1", "ts": 1, "brand": "D", "text": "#a", "hashtags": ["#B", "b", ""]}')
    assert isinstance(out, Mention)
    assert out.hashtags == ("b",)


def test_brand_queries_assign_brands_to_mentions_without_one() -> None:
    by_tag = parse(b'{"id": "1", "ts": 1, "text": "300 pages of dismay #UniSuper"}')
    by_handle = parse(b'{"id": "2", "ts": 1, "text": "@jetblue on fleek"}')
    by_keyword = parse(b'{"id": "3", "ts": 1, "text": "ACME Corp lost my parcel"}')
    both = parse(b'{"id": "4", "ts": 1, "text": "@JetBlue and acme corp, both down"}')
    not_a_handle = parse(b'{"id": "5", "ts": 1, "text": "@JetBlueFan says hi"}')
    assert isinstance(by_tag, Mention) and by_tag.brands == ("UniSuper",)
    assert isinstance(by_handle, Mention) and by_handle.brands == ("Delta",)
    assert isinstance(by_keyword, Mention) and by_keyword.brands == ("Acme",)
    assert isinstance(both, Mention) and both.brands == ("Acme", "Delta")
    assert isinstance(not_a_handle, DeadLetter)


def test_the_parser_never_raises_on_arbitrary_bytes() -> None:
    for raw in (b"\x00", b"{", b"[]", b"null", b"1e999", b'{"id": 1e999}', b"\xff\xfe",
                b'{"id":"1","ts":1e308,"brand":"D","text":"x"}'):
        assert isinstance(PARSER.parse(raw), DeadLetter | Mention)
    assert isinstance(PARSER.parse(GOOD), Mention)


def test_event_time_is_bounded_by_a_stated_epoch_and_by_the_clock_not_by_history() -> None:
    now = 1_800_000_000.0
    bounded = Parser(MATCHER, earliest_ts=1_000_000_000, max_future_s=3600,
                     clock=lambda: now)
    history = bounded.parse(b'{"id": "1", "ts": 1424714400, "brand": "D", "text": "x"}')
    assert isinstance(history, Mention)  # 2015: years behind the clock, and fine
    assert isinstance(bounded.parse(
        f'{{"id": "1", "ts": {now + 3600}, "brand": "D", "text": "x"}}'), Mention)
    ahead = bounded.parse(f'{{"id": "1", "ts": {now + 3601}, "brand": "D", "text": "x"}}')
    assert isinstance(ahead, DeadLetter)
    assert ahead.reason == ("ts 2027-01-15T09:00:01Z is 3,601 s ahead of the clock, more "
                            "than ingest.max_future_s (3,600 s): a wrong clock or time zone?")
    early = bounded.parse(b'{"id": "1", "ts": 999999999, "brand": "D", "text": "x"}')
    assert isinstance(early, DeadLetter)
    assert early.reason == ("ts 2001-09-09T01:46:39Z is before the earliest accepted time "
                            "2001-09-09T01:46:40Z (ingest.earliest_ts)")
