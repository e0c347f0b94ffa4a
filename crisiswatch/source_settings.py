"""The ``sources`` section: the live connectors (``crisiswatch run --source NAME``,
``crisiswatch connect NAME``). Credentials never live in the file: each connector that
needs one names the environment variable it reads it from."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.bluesky import JetstreamConfig


class BlueskySettings(BaseModel):
    url: str = Field("wss://jetstream2.us-east.bsky.network/subscribe",
                     description="a Jetstream instance's /subscribe endpoint (ws:// or wss://)")
    rewind_seconds: float = Field(3.0, ge=0, description="rewound on every reconnect for "
                                  "gapless playback; what is read twice counts as duplicate")
    batch_frames: int = Field(500, ge=1, description="frames committed at a time at most")
    flush_seconds: float = Field(0.2, gt=0, description="or after this long")
    cache_entries: int = Field(100_000, ge=1, description="handles and matched posts "
                               "remembered (handles for authors, texts for reposts)")

    def model(self) -> JetstreamConfig:
        return JetstreamConfig(**self.model_dump())


class ConnectorRetrySettings(BaseModel):
    backoff_base_seconds: float = Field(1.0, gt=0, description="first reconnect delay; "
                                        "doubles on every failure in a row (with jitter)")
    backoff_max_seconds: float = Field(120.0, gt=0, description="longest delay, also the "
                                       "most a platform's Retry-After is waited for")


class SourcesSettings(BaseModel):
    retry: ConnectorRetrySettings = ConnectorRetrySettings()
    bluesky: BlueskySettings = BlueskySettings()
