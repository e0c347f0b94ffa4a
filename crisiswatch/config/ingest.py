"""The ``ingest`` section: how mentions come in through ``POST /mentions``, wait for the
flow in the Redis input streams, and how many the flow reads at a time."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from crisiswatch.detectors.brands import BrandMatcher
from crisiswatch.detectors.parse import Invalid, Parser, parse_ts
from crisiswatch.flows.sources import BATCH_LINES
from crisiswatch.store import DEFAULT_PARTITIONS

_PARSER = Parser(BrandMatcher({}))  # the parser's own bounds are the settings' defaults


class IngestSettings(BaseModel):
    partitions: int = Field(
        DEFAULT_PARTITIONS, ge=1, le=99, description="input streams, the most flow processes "
        "that share the reading; fixed once the streams exist (a brand's mentions stay in "
        "one stream)")
    max_records: int = Field(10_000, ge=1, description="records in one POST /mentions")
    max_body_bytes: int = Field(
        1_048_576, ge=1, description="bytes in one POST /mentions (security.body_limit_bytes "
        "applies to every request as well)")
    batch_records: int = Field(
        BATCH_LINES, ge=1, description="records the flow reads at a time from a file or an "
        "input stream: per-batch costs are paid once a batch (flows/sources.py)")
    earliest_ts: float = Field(
        _PARSER.earliest_ts, description="records stamped before this (ISO-8601 with a "
        "zone, or epoch seconds) are dead-lettered; 0 = 1970-01-01T00:00:00Z")
    max_future_s: float | None = Field(
        _PARSER.max_future_s, ge=0, description="records stamped more than this ahead of "
        "the wall clock are dead-lettered (a wrong clock or zone); null = no bound")
    max_jump_s: float | None = Field(
        21_600, gt=0, description="a mention more than this ahead of its brand's newest "
        "event time is held as suspect until jump_confirm mentions confirm the jump; null = "
        "no hold")
    jump_confirm: int = Field(
        8, ge=2, description="suspect mentions within max_jump_s of each other that confirm "
        "a jump (3 in-order mentions after a suspect dead-letter it: a short run of wrong "
        "stamps is outvoted before it could confirm)")
    max_lead_s: float | None = Field(
        60, ge=0, description="how far a brand's event time may lead the wall clock: a "
        "mention stamped further ahead waits in its own window without making the honest "
        "ones after it late (keep it below window.lateness_minutes); null = no bound")

    max_brands: int | None = Field(
        20_000, ge=1, description="brands one flow process keeps windows and detectors "
        "for (about 17 KiB each while active, 2 KiB quiet); a mention of a further brand "
        "is dead-lettered with the reason; null = no bound")
    snapshot_interval_s: int = Field(
        10, ge=1, description="seconds between the flow's state snapshots with a recovery "
        "directory (and acknowledgements of the input streams); `flow "
        "--snapshot-interval` overrides it. Without recovery nothing is snapshotted")

    @field_validator("earliest_ts", mode="before")
    @classmethod
    def _timestamp(cls, value: object) -> float:
        try:
            return parse_ts(value)
        except Invalid as e:
            raise ValueError(str(e)) from None
