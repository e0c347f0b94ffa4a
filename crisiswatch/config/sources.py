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

# the connectors' own defaults are the settings'
_BLUESKY, _MASTODON, _X = JetstreamConfig(), MastodonConfig(), XConfig()
_REDDIT = RedditConfig((), None, None)


class BlueskySettings(BaseModel):
    url: str = Field(_BLUESKY.url,
                     description="a Jetstream instance's /subscribe endpoint (ws:// or wss://)")
    rewind_seconds: float = Field(
        _BLUESKY.rewind_seconds, ge=0, description="rewound on every reconnect for gapless "
        "playback; what is read twice counts as duplicate")
    batch_frames: int = Field(_BLUESKY.batch_frames, ge=1,
                              description="frames committed at a time at most")
    flush_seconds: float = Field(_BLUESKY.flush_seconds, gt=0, description="or after this long")
    cache_entries: int = Field(
        _BLUESKY.cache_entries, ge=1, description="handles and matched posts remembered "
        "(handles for authors, texts for reposts)")
    max_frame_bytes: int = Field(
        _BLUESKY.max_frame_bytes, ge=1, description="larger frames are refused unread "
        "(counted, with the reason) and the cursor moves past them")
    read_limit_bytes: int = Field(
        _BLUESKY.read_limit_bytes, ge=1, description="the WebSocket's own frame limit: a "
        "larger frame closes the connection")


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
    rewind_seconds: float = Field(
        _MASTODON.rewind_seconds, ge=0, description="the REST backfill after a reconnect "
        "starts this long before the cursor")
    batch_statuses: int = Field(_MASTODON.batch_statuses, ge=1)
    flush_seconds: float = Field(_MASTODON.flush_seconds, gt=0)
    read_timeout_seconds: float = Field(
        _MASTODON.read_timeout_seconds, gt=0, description="a stream silent this long (no "
        "heartbeat) is reconnected")


class XSettings(BaseModel):
    api: str = Field(_X.api, description="the API's base URL")
    token_env: str = Field("CRISISWATCH_X_BEARER_TOKEN", description="environment variable "
                           "holding the app's bearer token (filtered stream and recent search)")
    rule_suffix: str = Field(_X.rule_suffix, description="appended to every brand rule, e.g. "
                             "'-is:retweet lang:en'")
    max_rule_chars: int = Field(
        _X.max_rule_chars, ge=16, description="longest rule the plan allows (512 basic; "
        "longer brands are split over several rules)")
    rewind_seconds: float = Field(
        _X.rewind_seconds, ge=0, description="recent search after a reconnect starts this "
        "long before the cursor")
    backfill_hours: float = Field(
        _X.backfill_hours, ge=0, le=168, description="on a first start, read this much "
        "recent search first (at most 7 days)")
    search_page: int = Field(_X.search_page, ge=10, le=100)
    batch_tweets: int = Field(_X.batch_tweets, ge=1)
    flush_seconds: float = Field(_X.flush_seconds, gt=0)
    read_timeout_seconds: float = Field(
        _X.read_timeout_seconds, gt=0, description="a stream silent this long (keep-alives "
        "come every 20 s) is reconnected")


class RedditSettings(BaseModel):
    subreddits: list[str] = Field([], description="subreddits to read, without r/")
    listings: list[Literal["comments", "submissions"]] = Field(
        ["comments", "submissions"], description="comments, "
                                "submissions, or both (one connector and cursor each)")
    client_id_env: str = Field("CRISISWATCH_REDDIT_CLIENT_ID", description="environment "
                               "variable holding the app's client id")
    client_secret_env: str = Field("CRISISWATCH_REDDIT_CLIENT_SECRET", description="and "
                                   "its secret")
    user_agent: str = Field(_REDDIT.user_agent, description="Reddit "
                            "asks for <platform>:<app id>:<version> (by /u/<username>)")
    api: str = _REDDIT.api
    auth: str = _REDDIT.auth
    poll_seconds: float = Field(_REDDIT.poll_seconds, gt=0, description="per listing; the "
                                "free tier allows 100 requests a minute")
    max_pages: int = Field(_REDDIT.max_pages, ge=1, le=10,
                           description="pages of 100 read back to the cursor")
    rewind_ids: int = Field(_REDDIT.rewind_ids, ge=0, description="ids re-read behind the "
                            "cursor after a reconnect (late approvals), counted as duplicates")


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
