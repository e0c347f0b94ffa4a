"""The ``ingest`` section: how mentions come in through ``POST /mentions``, wait for the
flow in the Redis input streams, and how many the flow reads at a time."""

from __future__ import annotations

from pydantic import BaseModel, Field

from crisiswatch.store import DEFAULT_PARTITIONS
from flows.sources import BATCH_LINES


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
