"""What the API is built from, besides its store: one plain value, ``ApiConfig``.

``create_app(store, config)`` sets it on the app once and every route reads it through
``api/deps.py``; nothing else writes ``app.state``. The composition root makes it from
the settings (``crisiswatch.config.runtime.api_config``); a test or an embedding
program writes one by hand. The defaults are the local demo's, without playbooks or
ingestion: the routes that need those answer 503 saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crisiswatch.detectors.types import DeadLetter, Mention
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.response.staffing import StaffingConfig

Parse = Callable[[bytes, int], Mention | DeadLetter]


@dataclass(frozen=True)
class SecurityConfig:
    """Who may call what (``api/security.py``); the defaults are the demo's."""

    anonymous_read: bool = True
    rate_per_second: float | None = 20.0
    burst: float = 100.0
    anonymous_rate_per_second: float | None = 10.0
    anonymous_burst: float = 50.0
    body_limit_bytes: int = 1_048_576
    cors_origins: tuple[str, ...] = ()
    # Host header values answered ('*' any, '*.example.com' subdomains): DNS rebinding
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class IngestConfig:
    """``POST /mentions`` (``api/ingest.py``): the flow's own parser, configured like the
    flow's, so that an accepted record is one the flow will not dead-letter; and the
    size limits of one request."""

    parse: Parse
    max_records: int = 10_000
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True)
class ApiConfig:
    """Everything the app needs besides the store, as plain values."""

    security: SecurityConfig = field(default_factory=SecurityConfig)
    # a heartbeat older than this while its component says it runs: stalled (GET /health)
    stale_after_s: float = 60.0
    # a live connector that wrote lately without getting further this long: stalled
    connector_stall_s: float = 300.0
    version: str | None = None  # the OpenAPI document's; None: the installed package's
    playbooks: PlaybookSet | None = None  # None: lifecycle routes that need them say 503
    staffing: StaffingConfig = field(default_factory=StaffingConfig)
    digest_teams: tuple[Team, ...] = ()  # GET /digest?team=
    ingest: IngestConfig | None = None  # None: POST /mentions says 503
