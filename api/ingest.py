"""``POST /mentions``: collectors hand mentions in; the flow reads them from Redis.

The body is a JSON array of mentions (``Content-Type: application/json``) or one
mention a line (``application/x-ndjson``). Each record is checked against the mention
contract by the flow's own parser, so a rejection gives the same reason the flow would
have dead-lettered it with; the valid ones are appended to the input streams
(``Store.inputs``) all at once, or none when the store fails (503: send the batch
again). The answer (202) counts what was accepted and lists why each rejected record
was, by its index, so that a collector can fix its output.

Sending a batch again is safe: the flow drops a mention id it has already counted for
the brand and counts it as a duplicate (as late once its window closed more than
``dedup.horizon_hours`` ago: never counted twice either way). Deduplicating here
instead would need a Redis key per mention id for the whole horizon (about 130 million
at a firehose's 6,000 mentions/s over six hours), for a guarantee the flow gives
anyway.

A key may be limited to some brands (``crisiswatch keys create --brand``): a partner's
key then cannot flood another brand's stream. Each record is matched as the flow will
match it (its ``brand`` field, or the brand queries on its text), and one that names a
brand outside the key's list is refused with the reason (``brand_refusal``), counted
and listed like an invalid record, never queued.

Size: at most ``ingest.max_body_bytes`` (counted as the body streams in, so a large
body never sits in memory) and ``ingest.max_records`` records; beyond either, 413.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crisiswatch.api.config import Parse
from crisiswatch.api.deps import IngestDep, StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import Principal, require
from crisiswatch.detectors.types import DeadLetter
from crisiswatch.store import Store

router = APIRouter(tags=["ingest"])

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
ERRORS_LISTED = 1000  # reasons listed in one answer; ``rejected`` counts them all
BRANDS_NAMED = 5  # of a key's brands, in a reason: a partner's key may hold hundreds

class Rejected(BaseModel):
    index: int = Field(description="the record's position: its index in the array, or its "
                       "line (counted from 0) in NDJSON")
    reason: str = Field(description="why, as the flow's dead letters say it, or the brand "
                        "a key limited to its brands may not ingest")


class IngestOut(BaseModel):
    accepted: int = Field(description="records appended to the input streams")
    rejected: int = Field(description="records refused; the first "
                          f"{ERRORS_LISTED:,} are listed in errors")
    errors: list[Rejected]


_BODY = {"required": True, "content": {
    # any item: each record is checked on its own and a bad one listed in ``errors``
    "application/json": {"schema": {"anyOf": [
        {"type": "array", "items": {}, "description": "mentions (JSON objects)"},
        {"type": "object", "description": "one mention"}]}},
    "application/x-ndjson": {"schema": {"type": "string",
                                        "description": "one mention (JSON) a line"}},
}}


@router.post("/mentions", status_code=202, response_model=IngestOut,
             openapi_extra={"requestBody": _BODY},
             responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut},
                        415: {"model": ErrorOut}, 503: {"model": ErrorOut}})
async def ingest(caller: Annotated[Principal, Depends(require("ingest"))],
                 request: Request, config: IngestDep, store: StoreDep) -> IngestOut:
    """Validate a batch of mentions and queue the valid ones for the flow (the key is
    checked first: a caller without one learns nothing of how this API is set up)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in JSON_TYPES + NDJSON_TYPES:
        raise HTTPException(415, f"Content-Type {kind or '(none)'!r} is not accepted: send "
                            "application/json (an array of mentions) or "
                            "application/x-ndjson (one mention a line)")
    body = await _read(request, config.max_body_bytes)
    records = _split(body, ndjson=kind in NDJSON_TYPES)
    if len(records) > config.max_records:
        raise HTTPException(413, f"{len(records):,} records, more than the "
                            f"{config.max_records:,} one request may carry: split the batch")
    return await run_in_threadpool(_accept, store, config.parse, records, caller.brands)


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body larger than {limit:,} bytes: split the batch")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body larger than {limit:,} bytes: split the "
                                "batch")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise HTTPException(400, "empty body: send a JSON array of mentions, or one mention "
                            "a line as application/x-ndjson")
    return body


def _split(body: bytes, ndjson: bool) -> list[tuple[int, bytes]]:
    """The body's records as (index, raw JSON); a record that is not JSON stays raw, for
    the parser to reject with its reason."""
    if ndjson:
        return [(i, line.rstrip(b"\r")) for i, line in enumerate(body.split(b"\n"))
                if line.strip()]
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HTTPException(400, f"body is not JSON: {e} (one mention a line? send it as "
                            "application/x-ndjson)") from None
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise HTTPException(400, "the body must be a JSON array of mentions (or one "
                            f"mention object), not {type(doc).__name__}")
    return [(i, orjson.dumps(rec)) for i, rec in enumerate(doc)]


def _accept(store: Store, parse: Parse, records: list[tuple[int, bytes]],
            allowed: frozenset[str] | None) -> IngestOut:
    valid: list[tuple[str, bytes]] = []
    errors: list[Rejected] = []
    rejected = 0
    for index, raw in records:
        parsed = parse(raw, index)
        if isinstance(parsed, DeadLetter):
            reason = parsed.reason
        else:
            refused = brand_refusal(parsed.brands, allowed)
            if refused is None:
                valid.append((parsed.brands[0], raw))
                continue
            reason = refused
        rejected += 1
        if len(errors) < ERRORS_LISTED:
            errors.append(Rejected(index=index, reason=reason))
    if valid:
        store.inputs.append(valid)
    return IngestOut(accepted=len(valid), rejected=rejected, errors=errors)


def brand_refusal(named: tuple[str, ...], allowed: frozenset[str] | None) -> str | None:
    """Why a key limited to the brands ``allowed`` may not push a mention that names the
    brands ``named``; None when it may (every key without a list may).

    A mention that names one of the key's brands *and* another is refused whole, not
    queued for the key's brands alone: the input streams carry the record as sent and
    the flow finds its brands again from it, so it would count the other brand too.
    Narrowing it would mean rewriting the collector's record, and the contract's
    ``brand`` field holds one brand, so a record naming two of the key's brands could
    not be narrowed at all. The reason says what the collector can do instead: send it
    again with ``brand`` set to one of its brands."""
    if allowed is None:
        return None
    outside = [b for b in named if b not in allowed]
    if not outside:
        return None
    refusal = f"this API key may not ingest {_brands(outside)}"
    if own := [b for b in named if b in allowed]:
        refusal += (f", which the record names besides {_names(own)} (a record is counted "
                    "for every brand it names, so it is refused whole: set field 'brand' to "
                    "one of the key's brands to send it for that brand alone)")
    return f"{refusal}; it may ingest only {_names(sorted(allowed))}"


def _brands(names: list[str]) -> str:
    return f"brand{'' if len(names) == 1 else 's'} {_names(names)}"


def _names(names: Iterable[str]) -> str:
    listed = list(names)
    shown = ", ".join(repr(n) for n in listed[:BRANDS_NAMED])
    more = len(listed) - BRANDS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown
