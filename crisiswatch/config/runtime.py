"""Settings become the runtime parts' plain configs here, and nowhere else.

``api_config``: the API's ``ApiConfig``. The API checks ``POST /mentions`` with the
flow's own parser, configured from the same settings as the flow's, so an accepted
record is one the flow will not dead-letter.
"""

from __future__ import annotations

from crisiswatch import __version__
from crisiswatch.api.config import ApiConfig, IngestConfig, SecurityConfig
from crisiswatch.config.settings import Settings
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import PlaybookSet


def api_config(settings: Settings, host: str, playbooks: PlaybookSet) -> ApiConfig:
    """The API as ``settings`` configure it, serving ``host`` (its name is one the Host
    header may carry), with the ``playbooks`` the worker beside it loaded."""
    ingest = settings.ingest
    return ApiConfig(
        security=_security(settings, host),
        stale_after_s=settings.observability.stale_after_seconds,
        version=__version__,
        playbooks=playbooks,
        staffing=settings.staffing.model(),
        digest_teams=tuple(Team(d.team, tuple(d.playbooks))
                           for d in settings.activation.digests),
        ingest=IngestConfig(settings.make_parser().parse, ingest.max_records,
                            ingest.max_body_bytes))


def _security(settings: Settings, host: str) -> SecurityConfig:
    sec = settings.security
    return SecurityConfig(
        anonymous_read=sec.anonymous_read, rate_per_second=sec.rate_limit.per_second,
        burst=sec.rate_limit.burst, anonymous_rate_per_second=sec.anonymous_rate_limit.per_second,
        anonymous_burst=sec.anonymous_rate_limit.burst, body_limit_bytes=sec.body_limit_bytes,
        cors_origins=tuple(sec.cors_origins), allowed_hosts=sec.hosts_for(host))
