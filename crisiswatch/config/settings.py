"""Settings: a YAML file (``configs/default.yaml`` unless told otherwise), then the
environment on top (``CRISISWATCH_WINDOW__MINUTES=1``, ``REDIS_URL=...``).

Errors name the file and the field, because a config mistake found at 3 a.m. during an
incident must be fixable without reading the source.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from crisiswatch.config.api import ObservabilitySettings, SecuritySettings
from crisiswatch.config.digests import DigestSettings
from crisiswatch.config.ingest import IngestSettings
from crisiswatch.config.sources import SourcesSettings
from crisiswatch.config.topics import TopicSettings
from crisiswatch.detectors.brand import DetectorConfig, ReachConfig, routine_term
from crisiswatch.detectors.brands import BrandMatcher
from crisiswatch.detectors.incidents import IncidentConfig
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.sensitivity import Sensitivity
from crisiswatch.detectors.sentiment_shift import SentimentConfig
from crisiswatch.detectors.terms import TermConfig
from crisiswatch.detectors.types import Severity
from crisiswatch.detectors.volume import VolumeConfig
from crisiswatch.detectors.watchlist import WatchTerm
from crisiswatch.flows.config import SentimentScoring
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.worker.config import DeliveryConfig, WorkerConfig

# the repository's configs/, linked into the package so that a wheel carries it
CONFIG_DIR = (Path(__file__).parents[1] / "configs").resolve()
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"

# The defaults are the runtime parts' own (a detector's config, the worker's, the
# parser's), so that the file, the code and ``eval --nab`` cannot disagree; the sections
# copy them into ``Field``s for the validation and the descriptions.
_VOLUME, _TERMS, _SHIFT, _REACH = VolumeConfig(), TermConfig(), SentimentConfig(), ReachConfig()
_INCIDENTS, _DETECTOR = IncidentConfig(), DetectorConfig(window_s=_VOLUME.window_s)
_WATCH, _PARSER, _SCORING = WatchTerm(""), Parser(BrandMatcher({})), SentimentScoring()
_STAFFING, _DELIVERY, _WORKER = StaffingConfig(), DeliveryConfig(), WorkerConfig()


class WindowSettings(BaseModel):
    minutes: float = Field(5, gt=0, description="tumbling window length")
    lateness_minutes: float = Field(10, ge=0, description="how late an event may arrive")


class ParserSettings(BaseModel):
    max_text_chars: int = Field(_PARSER.max_text_chars, gt=0)


class DedupSettings(BaseModel):
    horizon_hours: float = Field(
        6, gt=0, description="event time a closed window's ids are remembered (8 bytes an id)")
    max_ids: int = Field(1_000_000, gt=0,
                         description="closed windows' ids remembered at most, per brand")


class VolumeSettings(BaseModel):
    """``detectors.volume.VolumeConfig`` as the file writes it."""

    horizons: list[int] = list(_VOLUME.horizons)
    half_life_windows: float = Field(_VOLUME.half_life_windows, gt=0)
    hourly_rate: float = Field(_VOLUME.hourly_rate, gt=0, le=1)
    weekly_rate: float = Field(_VOLUME.weekly_rate, ge=0, le=1)
    warmup_windows: int = Field(_VOLUME.warmup_windows, ge=0)
    cold_start_windows: int = Field(_VOLUME.cold_start_windows, ge=1)
    local_half_life: float = Field(_VOLUME.local_half_life, gt=0)
    young_p_factor: float = Field(_VOLUME.young_p_factor, gt=0, le=1)
    gap_reset_windows: int = Field(_VOLUME.gap_reset_windows, gt=0)
    shift_windows: int = Field(_VOLUME.shift_windows, gt=0)
    p_threshold: float = Field(_VOLUME.p_threshold, gt=0, lt=1)
    min_lift: float = Field(_VOLUME.min_lift, ge=1)
    min_excess: float = Field(_VOLUME.min_excess, ge=0)
    min_log_z: float = Field(_VOLUME.min_log_z, ge=0)
    log_var_prior: float = Field(_VOLUME.log_var_prior, gt=0)
    log_var_half_life: float = Field(_VOLUME.log_var_half_life, gt=0)
    log_var_prior_windows: float = Field(_VOLUME.log_var_prior_windows, ge=0)
    record_days: int = Field(_VOLUME.record_days, ge=0)
    record_margin: float = Field(_VOLUME.record_margin, ge=0)
    rearm_windows: int = Field(_VOLUME.rearm_windows, ge=0)
    detect_drops: bool = _VOLUME.detect_drops
    max_dispersion: float = Field(_VOLUME.max_dispersion, ge=1)


class TermSettings(BaseModel):
    horizons: list[int] = list(_TERMS.horizons)
    half_life_windows: float = Field(_TERMS.half_life_windows, gt=0)
    capacity: int = Field(_TERMS.capacity, gt=0, description="terms tracked per brand at most")
    p_threshold: float = Field(_TERMS.p_threshold, gt=0, lt=1)
    min_lift: float = Field(_TERMS.min_lift, ge=1)
    min_support: int = Field(_TERMS.min_support, ge=1)
    hashtag_floor: float = Field(_TERMS.hashtag_floor, gt=0)
    watch_floor: float = Field(_TERMS.watch_floor, gt=0)
    watch_p_threshold: float = Field(_TERMS.watch_p_threshold, gt=0, lt=1)
    min_history_windows: int = Field(_TERMS.min_history_windows, ge=0, description="windows "
                                     "of a brand learnt before its terms are tested")
    young_windows: int = Field(_TERMS.young_windows, ge=0, description="a brand's term "
                               "baseline is young this long (stricter thresholds)")
    gap_reset_windows: int = Field(_TERMS.gap_reset_windows, gt=0,
                                   description="silence that makes it young again")
    young_p_threshold: float = Field(_TERMS.young_p_threshold, gt=0, lt=1)
    young_min_support: int = Field(_TERMS.young_min_support, ge=1)
    young_hashtag_floor: float = Field(_TERMS.young_hashtag_floor, gt=0)
    young_watch_floor: float = Field(_TERMS.young_watch_floor, gt=0)
    recurring_factor: float = Field(_TERMS.recurring_factor, ge=1, description="a burst at "
                                    "most this much larger than one at the same time of day "
                                    "is recurring")
    recurring_tolerance_windows: int = Field(_TERMS.recurring_tolerance_windows, ge=0)
    recurring_days: int = Field(_TERMS.recurring_days, ge=1)
    episodes_kept: int = Field(_TERMS.episodes_kept, ge=1)


class SentimentSettings(BaseModel):
    model: Literal["complaint", "vader"] = Field(
        _SCORING.model, description="complaint: the linear model that reads complaints (shipped "
        "prior, learns from labels); vader: VADER's compound score")
    weights: Path | None = Field(None, description="weights from `crisiswatch "
                                 "train-sentiment` (default: the shipped prior)")
    learn_from_labels: bool = Field(_SCORING.learn_from_labels, description="learn online "
                                    "from POST /mentions/{id}/label")
    refresh_seconds: float = Field(_SCORING.refresh_s, gt=0,
                                   description="how often new labels are read")


class SentimentShiftSettings(BaseModel):
    horizons: list[int] = list(_SHIFT.horizons)
    half_life_windows: float = Field(_SHIFT.half_life_windows, gt=0)
    warmup_mentions: int = Field(_SHIFT.warmup_mentions, ge=0)
    overdispersion: float = Field(_SHIFT.overdispersion, ge=1)
    p_threshold: float = Field(_SHIFT.p_threshold, gt=0, lt=1)
    min_mentions: int = Field(_SHIFT.min_mentions, ge=1)
    min_rise: float = Field(_SHIFT.min_rise, gt=0, lt=1)


class ReachSettings(BaseModel):
    min_followers: int = Field(_REACH.min_followers, ge=1)
    critical_followers: int = Field(_REACH.critical_followers, ge=1)


class WatchTermSettings(BaseModel):
    term: str = Field(min_length=1)
    severity: Severity = _WATCH.severity
    min_count: int = Field(_WATCH.min_count, ge=1)
    brands: list[str] = []
    support_mentions: int = Field(_WATCH.support_mentions, ge=1, description="the term's "
                                  "severity needs this many mentions from support_authors "
                                  "distinct authors, or support_reach followers reached")
    support_authors: int = Field(_WATCH.support_authors, ge=1)
    support_reach: int = Field(_WATCH.support_reach, ge=1)
    unsupported: Severity | None = Field(
        None, description="severity short of support (default: one level lower)")


class IncidentSettings(BaseModel):
    cooldown_windows: int = Field(_INCIDENTS.cooldown_windows, ge=1)
    escalate_kinds: int = Field(_INCIDENTS.escalate_kinds, ge=2)
    critical_surprise: float = _DETECTOR.critical_surprise
    critical_lift: float = _DETECTOR.critical_lift


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)


class StoreSettings(BaseModel):
    prefix: str = "cw"
    records_kept: int = Field(
        10_000, gt=0, description="dead letters and late records kept for inspection, each"
    )


class WebhookSettings(BaseModel):
    """``worker.config.DeliveryConfig`` as the file writes it."""

    allowed_hosts: list[str] = Field(
        list(_DELIVERY.allowed_hosts),
        description="hosts webhooks may be sent to; '*.example.com' allows subdomains")
    timeout_seconds: float = Field(_DELIVERY.timeout_seconds, gt=0,
                                   description="per phase of one request")
    max_attempts: int = Field(_DELIVERY.max_attempts, ge=1,
                              description="then the message is dead-lettered")
    backoff_base_seconds: float = Field(_DELIVERY.backoff_base_seconds, gt=0)
    backoff_max_seconds: float = Field(_DELIVERY.backoff_max_seconds, gt=0)
    lease_seconds: float = Field(_DELIVERY.lease_seconds, gt=0, description="a claimed "
                                 "message comes due again after this if its worker died")
    concurrency: int = Field(_DELIVERY.concurrency, ge=1, le=64,
                             description="requests in flight at once")

    @model_validator(mode="after")
    def _deliverable(self) -> WebhookSettings:
        """The delivery's own checks (the lease outlasts a request), at load time."""
        DeliveryConfig(**{**self.model_dump(), "allowed_hosts": tuple(self.allowed_hosts)})
        return self


class StaffingSettings(BaseModel):
    reply_fraction: float = Field(_STAFFING.reply_fraction, gt=0, le=1,
                                  description="share of mentions that need a reply")
    aht_seconds: float = Field(_STAFFING.aht_seconds, gt=0,
                               description="average handle time of a reply")
    service_level: float = Field(_STAFFING.service_level, gt=0, lt=1)
    answer_within_seconds: float = Field(_STAFFING.answer_within_seconds, gt=0)
    horizon_hours: int = Field(_STAFFING.horizon_hours, ge=1, le=48)
    max_occupancy: float = Field(_STAFFING.max_occupancy, gt=0, le=1)


class ActivationSettings(BaseModel):
    playbooks: Path | None = Field(None, description="playbook file; None: the shipped "
                                   "configs/playbooks.yaml")
    poll_seconds: float = Field(_WORKER.poll_seconds, gt=0, description="how often clocks "
                                "and the outbox are checked")
    sla_lease_seconds: float = Field(_WORKER.sla_lease_seconds, gt=0)
    digests: list[DigestSettings] = Field([], description="teams' shift or daily digests")

    @property
    def playbooks_path(self) -> Path:
        """A bare file name not in the working directory is one of the shipped configs
        (``playbooks: playbooks.production.yaml`` works from anywhere, wheel included)."""
        path = self.playbooks or CONFIG_DIR / "playbooks.yaml"
        return CONFIG_DIR / path if path.parent == Path(".") and not path.exists() else path


class BrandQuerySettings(BaseModel):
    # A misspelt key (``sensitivty: more``) must stop the start, not leave the brand at
    # the global sensitivity without a word.
    model_config = ConfigDict(extra="forbid")

    handles: list[str] = []
    keywords: list[str] = []
    hashtags: list[str] = []
    sensitivity: Sensitivity | None = Field(
        None, description="fewer | balanced | more alerts for this brand (default: the "
        "global `sensitivity`)")
    routine: list[str] = Field(
        [], description="hashtags (with '#') and watch terms whose bursts are routine for "
        "this brand (a daily reply tag, a weekly show): reported as info, never paged")
    owned: list[str] | None = Field(
        None, description="handles of the brand's own accounts (default: `handles`): a "
        "burst of their posts, or of retweets of them, is the brand's content being "
        "shared, reported as info")

    def routine_terms(self) -> frozenset[str]:
        return frozenset(routine_term(t) for t in self.routine if t.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CRISISWATCH_", env_nested_delimiter="__", extra="forbid"
    )

    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_URL", "CRISISWATCH_REDIS_URL", "redis_url")
    )
    window: WindowSettings = WindowSettings()
    parser: ParserSettings = ParserSettings()
    dedup: DedupSettings = DedupSettings()
    sensitivity: Sensitivity = Field(
        "balanced", description="fewer | balanced | more alerts, for every brand without "
        "its own `brands.<name>.sensitivity`; balanced = the thresholds as written")
    volume: VolumeSettings = VolumeSettings()
    terms: TermSettings = TermSettings()
    sentiment: SentimentSettings = SentimentSettings()
    sentiment_shift: SentimentShiftSettings = SentimentShiftSettings()
    reach: ReachSettings = ReachSettings()
    watchlist: list[WatchTermSettings] = []
    incidents: IncidentSettings = IncidentSettings()
    api: ApiSettings = ApiSettings()
    store: StoreSettings = StoreSettings()
    webhooks: WebhookSettings = WebhookSettings()
    staffing: StaffingSettings = StaffingSettings()
    activation: ActivationSettings = ActivationSettings()
    topics: TopicSettings = TopicSettings()
    security: SecuritySettings = SecuritySettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    ingest: IngestSettings = IngestSettings()
    sources: SourcesSettings = SourcesSettings()
    brands: dict[str, BrandQuerySettings] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment overrides the file

    @property
    def window_s(self) -> int:
        return round(self.window.minutes * 60)

    @property
    def dedup_horizon_windows(self) -> int:
        """Closed windows whose ids the duplicate filter keeps (``dedup.horizon_hours``)."""
        return math.ceil(self.dedup.horizon_hours * 3600 / self.window_s)

    def sensitivity_of(self, brand: str | None) -> Sensitivity:
        query = self.brands.get(brand) if brand is not None else None
        return query.sensitivity if query and query.sensitivity else self.sensitivity


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and why."""


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
