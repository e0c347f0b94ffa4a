"""The ``sources`` section: the live connectors (``crisiswatch run --source NAME``,
``crisiswatch connect NAME``). Credentials never live in the file: each connector that
needs one names the environment variable it reads it from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from crisiswatch.connectors.bluesky import JetstreamConfig
from crisiswatch.connectors.mastodon import MastodonConfig
from crisiswatch.connectors.reddit import RedditConfig
from crisiswatch.connectors.x import XConfig


class BlueskySettings(BaseModel):
    url: str = Field("wss://jetstream2.us-east.bsky.network/subscribe",
                     description="a Jetstream instance's /subscribe endpoint (ws:// or wss://)")
    rewind_seconds: float = Field(3.0, ge=0, description="rewound on every reconnect for "
                                  "gapless playback; what is read twice counts as duplicate")
    batch_frames: int = Field(500, ge=1, description="frames committed at a time at most")
    flush_seconds: float = Field(0.2, gt=0, description="or after this long")
    cache_entries: int = Field(100_000, ge=1, description="handles and matched posts "
                               "remembered (handles for authors, texts for reposts)")
    max_frame_bytes: int = Field(1_048_576, ge=1, description="larger frames are refused "
                                 "unread (counted, with the reason) and the cursor moves "
                                 "past them")
    read_limit_bytes: int = Field(64 * 1_048_576, ge=1, description="the WebSocket's own "
                                  "frame limit: a larger frame closes the connection")

    def model(self) -> JetstreamConfig:
        return JetstreamConfig(**self.model_dump())


class MastodonInstance(BaseModel):
    url: str = Field(description="the instance, e.g. https://mastodon.social")
    token_env: str = Field("CRISISWATCH_MASTODON_TOKEN", description="environment variable "
                           "holding a user access token with read:statuses (streaming needs "
                           "one since Mastodon 4.2)")


class MastodonSettings(BaseModel):
    instances: list[MastodonInstance] = []
    hashtags: list[str] = Field([], description="hashtag streams; empty: every hashtag of "
                                "the brand queries")
    public: bool = Field(False, description="also the federated timeline, matched here by "
                         "the brand queries' handles and keywords (heavy: every public post)")
    rewind_seconds: float = Field(60.0, ge=0, description="the REST backfill after a "
                                  "reconnect starts this long before the cursor")
    batch_statuses: int = Field(200, ge=1)
    flush_seconds: float = Field(0.2, gt=0)
    read_timeout_seconds: float = Field(40.0, gt=0, description="a stream silent this long "
                                        "(no heartbeat) is reconnected")

    def model(self) -> MastodonConfig:
        return MastodonConfig(self.rewind_seconds, self.batch_statuses, self.flush_seconds,
                              self.read_timeout_seconds)


class XSettings(BaseModel):
    api: str = Field("https://api.x.com", description="the API's base URL")
    token_env: str = Field("CRISISWATCH_X_BEARER_TOKEN", description="environment variable "
                           "holding the app's bearer token (filtered stream and recent search)")
    rule_suffix: str = Field("", description="appended to every brand rule, e.g. "
                             "'-is:retweet lang:en'")
    max_rule_chars: int = Field(512, ge=16, description="longest rule the plan allows "
                                "(512 basic; longer brands are split over several rules)")
    rewind_seconds: float = Field(30.0, ge=0, description="recent search after a reconnect "
                                  "starts this long before the cursor")
    backfill_hours: float = Field(0.0, ge=0, le=168, description="on a first start, read "
                                  "this much recent search first (at most 7 days)")
    search_page: int = Field(100, ge=10, le=100)
    batch_tweets: int = Field(200, ge=1)
    flush_seconds: float = Field(0.2, gt=0)
    read_timeout_seconds: float = Field(30.0, gt=0, description="a stream silent this long "
                                        "(keep-alives come every 20 s) is reconnected")

    def model(self, token: str | None) -> XConfig:
        fields = self.model_dump(exclude={"token_env"})
        return XConfig(token=token, **fields)


class RedditSettings(BaseModel):
    subreddits: list[str] = Field([], description="subreddits to read, without r/")
    listings: list[Literal["comments", "submissions"]] = Field(
        ["comments", "submissions"], description="comments, "
                                "submissions, or both (one connector and cursor each)")
    client_id_env: str = Field("CRISISWATCH_REDDIT_CLIENT_ID", description="environment "
                               "variable holding the app's client id")
    client_secret_env: str = Field("CRISISWATCH_REDDIT_CLIENT_SECRET", description="and "
                                   "its secret")
    user_agent: str = Field("crisiswatch/0.1 (brand crisis monitoring)", description="Reddit "
                            "asks for <platform>:<app id>:<version> (by /u/<username>)")
    api: str = "https://oauth.reddit.com"
    auth: str = "https://www.reddit.com"
    poll_seconds: float = Field(5.0, gt=0, description="per listing; the free tier allows "
                                "100 requests a minute")
    max_pages: int = Field(10, ge=1, le=10, description="pages of 100 read back to the cursor")
    rewind_ids: int = Field(0, ge=0, description="ids re-read behind the cursor after a "
                            "reconnect (late approvals), counted as duplicates")

    def model(self, client_id: str | None, client_secret: str | None) -> RedditConfig:
        return RedditConfig(tuple(s.removeprefix("r/") for s in self.subreddits), client_id,
                            client_secret, self.user_agent, self.api.rstrip("/"),
                            self.auth.rstrip("/"), self.poll_seconds, self.max_pages,
                            self.rewind_ids)


class ConnectorRetrySettings(BaseModel):
    backoff_base_seconds: float = Field(1.0, gt=0, description="first reconnect delay; "
                                        "doubles on every failure in a row (with jitter)")
    backoff_max_seconds: float = Field(120.0, gt=0, description="longest delay, also the "
                                       "most a platform's Retry-After is waited for")


class SourcesSettings(BaseModel):
    retry: ConnectorRetrySettings = ConnectorRetrySettings()
    bluesky: BlueskySettings = BlueskySettings()
    mastodon: MastodonSettings = MastodonSettings()
    x: XSettings = XSettings()
    reddit: RedditSettings = RedditSettings()
