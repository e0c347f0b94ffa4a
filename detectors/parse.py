"""Raw record -> Mention or DeadLetter, with a reason a person can act on.

The parser never raises on bad input: whatever a collector sends, the flow keeps
running and the record is accounted for. Reasons name the field and show the value,
because "invalid record" helps nobody fix a collector.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from crisiswatch.detectors.brands import BrandMatcher
from crisiswatch.detectors.text import extract_hashtags, is_retweet_text, normalise_hashtag
from crisiswatch.detectors.timefmt import iso_z
from crisiswatch.detectors.types import RAW_KEPT, DeadLetter, Mention

EPOCH_MS_ABOVE = 1e11  # seconds past this are in year 5138: the value was milliseconds
BRAND_CHARS = 200  # a brand is a name in URLs, keys and reports, not a text
ID_CHARS = 512  # ids are keys of the duplicate filter and the store, not texts
DOT_BRANDS = (".", "..")  # path segments that clients normalise away: /brands/../series
MAX_FOLLOWERS = 10**10  # more than people on Earth; sums of larger ones overflowed the store


class Invalid(Exception):
    """A record that breaks the contract; its message is the dead letter's reason."""


@dataclass
class Parser:
    """``earliest_ts`` and ``max_future_s`` bound event time: a record stamped before the
    first or more than the second ahead of ``clock`` (the wall clock) is refused. The
    lower bound is a stated epoch, not relative to now, so that history (the 2015 airline
    sample) replays; the upper one is relative to now because no mention is written in
    the future: a stamp hours ahead is a wrong clock or zone, and one at year 9999 would
    push the brand's watermark past every later mention (and out of ``datetime``)."""

    matcher: BrandMatcher
    max_text_chars: int = 10_000
    source: str = "input"
    earliest_ts: float = 0.0
    max_future_s: float | None = 3600.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def parse(self, raw: bytes | str | dict, position: int = 0) -> Mention | DeadLetter:
        try:
            return self._parse(raw)
        except Invalid as e:
            return DeadLetter(str(e), _preview(raw), self.source, position)
        except Exception as e:  # a bug must not stop the flow either: keep it visible
            return DeadLetter(f"internal error: {type(e).__name__}: {e}", _preview(raw),
                              self.source, position)

    def _parse(self, raw: bytes | str | dict) -> Mention:
        # Checks test the common case first (``type(x) is str``) and leave the rest to
        # the general helpers: every record of a firehose passes through here.
        obj = _load(raw)
        mid = obj.get("id")
        if type(mid) is not str:
            if mid is None:
                raise Invalid("missing field 'id'")
            if isinstance(mid, int) and not isinstance(mid, bool):
                mid = str(mid)  # numeric ids (Twitter's) are common and unambiguous
            mid = _string(mid, "id")
        if not mid or mid.isspace():
            raise Invalid("field 'id' is empty")
        if len(mid) > ID_CHARS:
            raise Invalid(f"field 'id' is {len(mid):,} characters, over the limit of "
                          f"{ID_CHARS}")
        text = obj.get("text")
        if type(text) is not str:
            if text is None:
                raise Invalid("missing field 'text'")
            text = _string(text, "text")
        if not text or text.isspace():
            raise Invalid("field 'text' is empty")
        if len(text) > self.max_text_chars:
            raise Invalid(
                f"field 'text' is {len(text)} characters, over the limit of "
                f"{self.max_text_chars}"
            )
        ts = obj.get("ts")
        if ts is None:
            raise Invalid("missing field 'ts'")
        ts = parse_ts(ts)
        if ts < self.earliest_ts:
            raise Invalid(f"ts {iso_z(ts)} is before the earliest accepted time "
                          f"{iso_z(self.earliest_ts)} (ingest.earliest_ts)")
        if self.max_future_s is not None and ts > (now := self.clock()) + self.max_future_s:
            raise Invalid(f"ts {iso_z(ts)} is {ts - now:,.0f} s ahead of the clock, more than "
                          f"ingest.max_future_s ({self.max_future_s:,.0f} s): a wrong clock "
                          "or time zone?")

        hashtags = _hashtags(obj.get("hashtags"), text)
        brand = obj.get("brand")
        if brand is not None and not (isinstance(brand, str) and brand.strip()):
            if isinstance(brand, str):
                raise Invalid("field 'brand' is empty")
            raise Invalid(f"field 'brand' must be a string, got {_type(brand)}")
        if brand is not None:
            brand = brand.strip()
            if len(brand) > BRAND_CHARS or not brand.isprintable():
                raise Invalid(f"field 'brand' must be at most {BRAND_CHARS} printable "
                              f"characters, got {_clip(repr(brand))}")
            if brand in DOT_BRANDS:
                raise Invalid(f"field 'brand' cannot be {brand!r}: clients that normalise "
                              "paths could never reach /brands/{brand}/...")
        brands = (brand,) if brand else self.matcher.match(text, hashtags)
        if not brands:
            raise Invalid("no brand: field 'brand' is absent and no brand query matches")

        author = obj.get("author")
        author_id = handle = None
        followers = 0
        if author is not None:
            if not isinstance(author, dict):
                raise Invalid(f"field 'author' must be an object, got {_type(author)}")
            author_id = _opt_string(author.get("id"), "author.id", allow_int=True)
            handle = _opt_string(author.get("handle"), "author.handle")
            followers = _count(author.get("followers"), "author.followers")
            if followers > MAX_FOLLOWERS:
                raise Invalid(f"field 'author.followers' is {followers:,}, more than the "
                              f"{MAX_FOLLOWERS:,} any account can have")

        retweet_of = _opt_string(obj.get("retweet_of"), "retweet_of", allow_int=True)
        flag = obj.get("is_retweet")
        if flag is not None and not isinstance(flag, bool):
            raise Invalid(f"field 'is_retweet' must be true or false, got {_type(flag)}")
        is_retweet = bool(flag) or retweet_of is not None or is_retweet_text(text)

        return Mention(
            id=mid,
            ts=ts,
            brands=brands,
            text=text,
            hashtags=hashtags,
            author_id=author_id,
            handle=handle,
            followers=followers,
            is_retweet=is_retweet,
            retweet_of=retweet_of,
            platform=_opt_string(obj.get("platform"), "platform"),
            lang=_opt_string(obj.get("lang"), "lang"),
            url=_opt_string(obj.get("url"), "url"),
        )


def parse_ts(value: Any) -> float:
    """Event time as epoch seconds from ISO-8601 with a zone, or from epoch seconds.

    A timestamp without a zone is refused rather than guessed: a guessed zone shifts
    every window of a brand by hours and silently breaks daily baselines. An ISO string
    whose instant lies outside ``datetime``'s range (``9999-12-31T10:30:00-14:00`` is in
    UTC year 10000) is refused here, not found later by whatever formats it.
    """
    if isinstance(value, bool):
        raise Invalid(f"ts not a timestamp: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise Invalid(f"ts not a timestamp: {value!r}")
        if value >= EPOCH_MS_ABOVE:
            raise Invalid(
                f"ts {value!r} is too large for epoch seconds (epoch milliseconds? divide "
                "by 1000)"
            )
        return float(value)
    if not isinstance(value, str):
        raise Invalid(f"ts must be an ISO-8601 string or epoch seconds, got {_type(value)}")
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"ts not a timestamp: {_clip(value)!r}") from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise Invalid(
            f"ts has no time zone: {_clip(value)!r} (add 'Z' or an offset such as '+00:00')"
        )
    try:
        ts = dt.timestamp()
        datetime.fromtimestamp(ts, UTC)
    except (OverflowError, ValueError, OSError):
        raise Invalid(f"ts out of range: {_clip(value)!r} (its UTC instant is outside "
                      "years 1-9999)") from None
    if ts < 0:
        raise Invalid(f"ts not a timestamp: {_clip(value)!r} (before 1970)")
    return ts


def _load(raw: bytes | str | dict) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        if not raw.strip():
            raise Invalid("empty record") from None
        if isinstance(raw, bytes):  # orjson's message for bad bytes does not say where
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as u:
                raise Invalid(
                    f"not valid UTF-8: byte 0x{raw[u.start]:02x} at offset {u.start}"
                ) from None
        raise Invalid(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise Invalid(f"not a JSON object: got {_type(obj)}")
    return obj


def _hashtags(value: Any, text: str) -> tuple[str, ...]:
    if value is None:
        return extract_hashtags(text)
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Invalid(f"field 'hashtags' must be a list of strings, got {_type(value)}")
    return tuple(dict.fromkeys(filter(None, map(normalise_hashtag, value))))


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"field '{name}' must be a string, got {_type(value)}")
    return value


def _opt_string(value: Any, name: str, allow_int: bool = False) -> str | None:
    if value is None or type(value) is str:
        return value
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(value, name)


def _count(value: Any, name: str) -> int:
    if type(value) is int and value >= 0:
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"field '{name}' must be a non-negative integer, got {_clip(repr(value))}")
    return value


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _preview(raw: bytes | str | dict) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, dict):
        raw = orjson.dumps(raw, default=str).decode()
    return raw[:RAW_KEPT]
