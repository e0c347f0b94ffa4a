"""Settings: a YAML file (``configs/default.yaml`` unless told otherwise), then the
environment on top (``CRISISWATCH_WINDOW__MINUTES=1``, ``REDIS_URL=...``).

Errors name the file and the field, because a config mistake found at 3 a.m. during an
incident must be fixable without reading the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from detectors.brands import BrandQuery
from detectors.incidents import IncidentConfig
from detectors.volume import VolumeConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


class WindowSettings(BaseModel):
    minutes: float = Field(5, gt=0, description="tumbling window length")
    lateness_minutes: float = Field(10, ge=0, description="how late an event may arrive")


class ParserSettings(BaseModel):
    max_text_chars: int = Field(10_000, gt=0)


class DedupSettings(BaseModel):
    horizon_hours: float = Field(24, gt=0, description="event time an id is remembered")
    max_ids: int = Field(2_000_000, gt=0, description="ids remembered at most, per process")


class VolumeSettings(BaseModel):
    horizons: list[int] = [1, 3, 12]
    half_life_windows: float = Field(72, gt=0)
    hourly_rate: float = Field(0.012, gt=0, le=1)
    weekly_rate: float = Field(0.002, ge=0, le=1)
    warmup_windows: int = Field(288, ge=0)
    gap_reset_windows: int = Field(72, gt=0)
    shift_windows: int = Field(72, gt=0)
    p_threshold: float = Field(1e-5, gt=0, lt=1)
    min_lift: float = Field(2.0, ge=1)
    min_excess: float = Field(10, ge=0)
    max_dispersion: float = Field(25, ge=1)

    def model(self, window_s: int) -> VolumeConfig:
        fields = {**self.model_dump(), "horizons": tuple(sorted(self.horizons))}
        return VolumeConfig(window_s=window_s, **fields)


class IncidentSettings(BaseModel):
    cooldown_windows: int = Field(6, ge=1)
    critical_surprise: float = 12.0
    critical_lift: float = 4.0

    def model(self) -> IncidentConfig:
        return IncidentConfig(**self.model_dump())


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)


class StoreSettings(BaseModel):
    prefix: str = "cw"
    records_kept: int = Field(
        10_000, gt=0, description="dead letters and late records kept for inspection, each"
    )


class BrandQuerySettings(BaseModel):
    handles: list[str] = []
    keywords: list[str] = []
    hashtags: list[str] = []


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
    volume: VolumeSettings = VolumeSettings()
    incidents: IncidentSettings = IncidentSettings()
    api: ApiSettings = ApiSettings()
    store: StoreSettings = StoreSettings()
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

    def brand_queries(self) -> dict[str, BrandQuery]:
        return {
            name: BrandQuery(tuple(q.handles), tuple(q.keywords), tuple(q.hashtags))
            for name, q in self.brands.items()
        }


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
