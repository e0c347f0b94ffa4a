"""The one place where ``Settings`` become what each runtime part is built from.

``flows/``, ``worker/`` and ``connectors/`` never see ``Settings``, the settings file or
the environment: they take plain configs (``FlowConfig``, ``WorkerConfig``, each
connector's config), which a test can write by hand. Every command, evaluation and
benchmark builds them here, so a field of the file reaches its part by one path:

- the flow: ``flow_config`` (with ``detector_config`` per brand and the ``parser``),
  ``build_flow``;
- the worker: ``worker_config``, ``playbooks``, ``staffing``;
- the live connectors: ``connectors``, ``live_runners``;
- the API: ``api_config`` (``POST /mentions`` checks records with the flow's own
  ``parser``, so an accepted record is one the flow will not dead-letter);
- the store: ``open_store`` (REDIS_URL's, or an embedded server), ``store_at``.

A section whose fields carry the names of its config's fields is copied whole
(``_plain``): a field added to one and not the other fails at the first build instead
of being dropped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, Literal, NamedTuple, TypeVar

from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from pydantic import BaseModel

from crisiswatch import __version__
from crisiswatch.api.config import ApiConfig, IngestConfig, SecurityConfig
from crisiswatch.config.playbooks import load_playbooks
from crisiswatch.config.settings import ConfigError, Settings
from crisiswatch.config.topics import Backend, TopicSettings
from crisiswatch.connectors.live import Connector, LiveRunner
from crisiswatch.detectors.brand import DetectorConfig, ReachConfig
from crisiswatch.detectors.brands import BrandMatcher, BrandQuery
from crisiswatch.detectors.embeddings import Embedder
from crisiswatch.detectors.incidents import IncidentConfig
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.sensitivity import apply as apply_sensitivity
from crisiswatch.detectors.sentiment_shift import SentimentConfig
from crisiswatch.detectors.targeting import BrandNames, Lenses
from crisiswatch.detectors.terms import TermConfig
from crisiswatch.detectors.topics import TopicConfig
from crisiswatch.detectors.volume import VolumeConfig
from crisiswatch.detectors.watchlist import Watchlist, WatchTerm
from crisiswatch.flows import dataflow
from crisiswatch.flows.config import FlowConfig, SentimentScoring
from crisiswatch.models import sentiment_weights
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.worker.config import DeliveryConfig, DigestConfig, WorkerConfig

T = TypeVar("T")


def _plain(cls: type[T], section: BaseModel, exclude: tuple[str, ...] = (),
           **given: Any) -> T:
    """``cls`` from the section's fields of the same names (lists as tuples), but for
    ``exclude`` (what the section holds for the composition root alone) and ``given``."""
    fields = section.model_dump(exclude={*exclude, *given})
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()},
               **given)


# -- the flow and its detectors ------------------------------------------------------

def detector_config(settings: Settings, topics: bool = False, brand: str | None = None
                    ) -> DetectorConfig:
    """The detectors' settings for ``brand`` (its own sensitivity, else the global one;
    no brand: the global one); ``topics`` when an embedder is there to cluster with."""
    cfg = apply_sensitivity(_thresholds(settings, topics), settings.sensitivity_of(brand))
    query = settings.brands.get(brand) if brand is not None else None
    return replace(cfg, routine=query.routine_terms()) if query and query.routine else cfg


def brand_detector_configs(settings: Settings, topics: bool = False
                           ) -> dict[str, DetectorConfig]:
    """The brands whose sensitivity is not the global one, or that declare routine
    terms, with their settings: the flow gives every other brand
    ``detector_config(settings, topics)``."""
    return {name: detector_config(settings, topics, name)
            for name, q in settings.brands.items()
            if q.sensitivity not in (None, settings.sensitivity) or q.routine}


def _thresholds(settings: Settings, topics: bool) -> DetectorConfig:
    """The detectors' settings as the file writes them (sensitivity ``balanced``)."""
    s, w = settings, settings.window_s
    return DetectorConfig(
        window_s=w,
        volume=volume_config(settings, w),
        terms=_plain(TermConfig, s.terms, window_s=w, horizons=tuple(sorted(s.terms.horizons))),
        sentiment=_plain(SentimentConfig, s.sentiment_shift,
                         horizons=tuple(sorted(s.sentiment_shift.horizons))),
        reach=_plain(ReachConfig, s.reach),
        incidents=_plain(IncidentConfig, s.incidents, ("critical_surprise", "critical_lift"),
                         term_hold_windows=max(s.terms.horizons)),
        watchlist=watchlist(settings),
        topics=topic_config(s.topics, w) if topics and s.topics.enabled else None,
        critical_surprise=s.incidents.critical_surprise,
        critical_lift=s.incidents.critical_lift,
        lenses=lenses(settings),
    )


def volume_config(settings: Settings, window_s: int) -> VolumeConfig:
    """The volume detector's settings for windows of ``window_s`` (``eval --nab`` runs
    it on the benchmark's own windows)."""
    return _plain(VolumeConfig, settings.volume, window_s=window_s,
                  horizons=tuple(sorted(settings.volume.horizons)))


def topic_config(topics: TopicSettings, window_s: int, backend: Backend | None = None
                 ) -> TopicConfig:
    """The clustering's settings for ``backend`` (default: the configured one)."""
    backend = backend or topics.backend
    return _plain(TopicConfig, topics, ("enabled", "backend", "device", "models_dir",
                                        "max_texts_per_window"), window_s=window_s,
                  join_similarity=getattr(topics.join_similarity, backend),
                  merge_similarity=getattr(topics.merge_similarity, backend))


def watchlist(settings: Settings) -> Watchlist:
    return Watchlist(tuple(_plain(WatchTerm, w) for w in settings.watchlist))


def lenses(settings: Settings) -> Lenses:
    """How each configured brand is named and which accounts are its own: what tells
    the brand a post is aimed at, and the brand's own content."""
    return Lenses({
        name: BrandNames(tuple(q.handles), tuple(q.keywords), tuple(q.hashtags),
                         tuple(q.handles if q.owned is None else q.owned))
        for name, q in settings.brands.items()})


def brand_queries(settings: Settings) -> dict[str, BrandQuery]:
    return {name: BrandQuery(tuple(q.handles), tuple(q.keywords), tuple(q.hashtags))
            for name, q in settings.brands.items()}


def parser(settings: Settings) -> Parser:
    """The parser of the flow, of ``POST /mentions`` and of the live connectors (one,
    so that a record accepted on the way in is one the flow takes)."""
    return Parser(BrandMatcher(brand_queries(settings)), settings.parser.max_text_chars,
                  earliest_ts=settings.ingest.earliest_ts,
                  max_future_s=settings.ingest.max_future_s)


def flow_config(settings: Settings, topics: bool = False, snapshots: bool = True
                ) -> FlowConfig:
    """``topics``: an embedder is there to cluster window texts with; ``snapshots``:
    the flow runs with recovery (False only where it certainly does not)."""
    ingest = settings.ingest
    return FlowConfig(
        parser=parser(settings),
        detector=detector_config(settings, topics),
        brand_detectors=brand_detector_configs(settings, topics),
        sentiment=_plain(SentimentScoring, settings.sentiment, ("refresh_seconds",),
                         refresh_s=settings.sentiment.refresh_seconds),
        lateness_s=settings.window.lateness_minutes * 60,
        dedup_horizon_windows=settings.dedup_horizon_windows,
        dedup_max_ids=settings.dedup.max_ids,
        max_texts_per_window=settings.topics.max_texts_per_window,
        max_jump_s=ingest.max_jump_s, jump_confirm=ingest.jump_confirm,
        max_lead_s=ingest.max_lead_s, max_brands=ingest.max_brands,
        store_prefix=settings.store.prefix,
        records_kept=settings.store.records_kept,
        snapshots=snapshots,
    )


def build_flow(settings: Settings, source: Source, redis_url: str,
               flow_id: str = "crisiswatch", embedder: Embedder | None = None,
               snapshots: bool = True) -> Dataflow:
    """``flows.dataflow.build_flow`` configured by ``settings``; with an ``embedder``
    (and ``topics.enabled``), each brand's window texts are clustered into topics.
    ``snapshots=False`` for a flow run without recovery (``FlowConfig.snapshots``)."""
    return dataflow.build_flow(flow_config(settings, embedder is not None, snapshots), source,
                               redis_url, flow_id, embedder,
                               load_sentiment=sentiment_weights.load)


# -- the activation worker -----------------------------------------------------------

def staffing(settings: Settings) -> StaffingConfig:
    return _plain(StaffingConfig, settings.staffing)


def worker_config(settings: Settings) -> WorkerConfig:
    a = settings.activation
    return WorkerConfig(
        poll_seconds=a.poll_seconds, sla_lease_seconds=a.sla_lease_seconds,
        staffing=staffing(settings), digests=tuple(_plain(DigestConfig, d) for d in a.digests),
        delivery=_plain(DeliveryConfig, settings.webhooks))


def playbooks(settings: Settings) -> PlaybookSet:
    """The playbooks the settings point at (``ConfigError`` with file and line)."""
    return load_playbooks(settings.activation.playbooks_path, settings.webhooks.allowed_hosts)


# -- the live connectors -------------------------------------------------------------

def _bluesky(settings: Settings, matcher: BrandMatcher) -> list[Connector]:
    from crisiswatch.connectors.bluesky import Jetstream, JetstreamConfig

    return [Jetstream(_plain(JetstreamConfig, settings.sources.bluesky), matcher)]


def _mastodon(settings: Settings, matcher: BrandMatcher) -> list[Connector]:
    """One connector per instance and stream: each hashtag (the brand queries' unless
    listed), and the federated timeline when asked for."""
    from crisiswatch.connectors.mastodon import Mastodon, MastodonConfig, MastodonStream

    cfg = settings.sources.mastodon
    tags = cfg.hashtags or sorted({t for q in settings.brands.values() for t in q.hashtags})
    streams: list[str | None] = [t.lstrip("#").lower() for t in tags]
    if cfg.public:
        streams.append(None)
    config = _plain(MastodonConfig, cfg, ("instances", "hashtags", "public"))
    return [Mastodon(MastodonStream(i.url.rstrip("/"), tag, os.environ.get(i.token_env)),
                     config)
            for i in cfg.instances for tag in dict.fromkeys(streams)]


def _x(settings: Settings, matcher: BrandMatcher) -> list[Connector]:
    from crisiswatch.connectors.x import XConfig, XStream

    cfg = settings.sources.x
    config = _plain(XConfig, cfg, ("token_env",), token=os.environ.get(cfg.token_env))
    stream = XStream(config, brand_queries(settings))
    return [stream] if stream.rules else []


def _reddit(settings: Settings, matcher: BrandMatcher) -> list[Connector]:
    from crisiswatch.connectors.reddit import Reddit, RedditConfig

    cfg = settings.sources.reddit
    if not cfg.subreddits:
        return []
    config = _plain(RedditConfig, cfg, ("listings", "client_id_env", "client_secret_env"),
                    subreddits=tuple(s.removeprefix("r/") for s in cfg.subreddits),
                    client_id=os.environ.get(cfg.client_id_env),
                    client_secret=os.environ.get(cfg.client_secret_env),
                    api=cfg.api.rstrip("/"), auth=cfg.auth.rstrip("/"))
    return [Reddit(config, listing) for listing in dict.fromkeys(cfg.listings)]


# the sources `--source NAME` and `crisiswatch connect NAME` know
CONNECTORS: dict[str, Callable[[Settings, BrandMatcher], list[Connector]]] = {
    "bluesky": _bluesky,
    "mastodon": _mastodon,
    "x": _x,
    "reddit": _reddit,
}


def connectors(settings: Settings, name: str) -> list[Connector]:
    """What source ``name`` reads as configured (none: it is configured to read nothing)."""
    return CONNECTORS[name](settings, BrandMatcher(brand_queries(settings)))


def live_runners(settings: Settings, store: Store, name: str) -> list[LiveRunner]:
    """The connectors of source ``name`` writing into ``store`` (not started). Records
    are checked by the flow's parser, as ``POST /mentions`` checks them."""
    store.inputs.pin(settings.ingest.partitions)
    check = replace(parser(settings), source=name)
    retry = settings.sources.retry
    return [LiveRunner(c, store, check, retry.backoff_base_seconds, retry.backoff_max_seconds)
            for c in CONNECTORS[name](settings, check.matcher)]


# -- the store -----------------------------------------------------------------------

class OpenedStore(NamedTuple):
    store: Store
    url: str  # where the flow's workers and the API's own client connect to it


Embedded = Literal["never", "unless_url", "always"]


def store_at(settings: Settings, url: str, fast: bool = False) -> Store:
    """The store at ``url`` under the settings' prefix; ``fast``: the API's client,
    which answers 503 at once during an outage (``store.connect``)."""
    return Store(connect(url, fast=fast), settings.store.prefix, settings.store.records_kept)


@contextlib.contextmanager
def open_store(settings: Settings, embedded: Embedded = "unless_url"
               ) -> Iterator[OpenedStore]:
    """The store the settings point at, for as long as the block runs: REDIS_URL's
    (pinged: a ``StoreError``, or ``ValueError`` for a malformed URL, when it cannot be
    used), or an embedded Redis of its own, started here and gone after: ``unless_url``
    when REDIS_URL is unset, ``always`` for a replay that must start empty. ``never``:
    ``ConfigError`` without REDIS_URL (a production process shares its server)."""
    if settings.redis_url and embedded != "always":
        store = store_at(settings, settings.redis_url)
        store.ping()
        yield OpenedStore(store, settings.redis_url)
        return
    if embedded == "never":
        raise ConfigError("REDIS_URL is not set")
    with EmbeddedRedis() as server:
        yield OpenedStore(store_at(settings, server.url), server.url)


# -- the API ----------------------------------------------------------------------

def api_config(settings: Settings, host: str, playbooks: PlaybookSet) -> ApiConfig:
    """The API as ``settings`` configure it, serving ``host`` (its name is one the Host
    header may carry), with the ``playbooks`` the worker beside it loaded."""
    ingest = settings.ingest
    return ApiConfig(
        security=_security(settings, host),
        stale_after_s=settings.observability.stale_after_seconds,
        version=__version__,
        playbooks=playbooks,
        staffing=staffing(settings),
        digest_teams=tuple(Team(d.team, tuple(d.playbooks))
                           for d in settings.activation.digests),
        ingest=IngestConfig(parser(settings).parse, ingest.max_records,
                            ingest.max_body_bytes))


def _security(settings: Settings, host: str) -> SecurityConfig:
    sec = settings.security
    return SecurityConfig(
        anonymous_read=sec.anonymous_read, rate_per_second=sec.rate_limit.per_second,
        burst=sec.rate_limit.burst, anonymous_rate_per_second=sec.anonymous_rate_limit.per_second,
        anonymous_burst=sec.anonymous_rate_limit.burst, body_limit_bytes=sec.body_limit_bytes,
        cors_origins=tuple(sec.cors_origins), allowed_hosts=sec.hosts_for(host))
