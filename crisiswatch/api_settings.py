"""Settings of the API's guard and of what it tells operators: the ``security`` and
``observability`` sections of the configuration.

The embedded demo (``configs/default.yaml``) lets anyone on the machine read without a
key; writes always need one. Anonymous read on an address other people can reach is
refused at start (``exposure_error``), because an incident list is not public data.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, Field


class RateLimit(BaseModel):
    per_second: float | None = Field(
        20, gt=0, description="sustained requests per second; null = no limit")
    burst: float = Field(100, ge=1, description="requests allowed at once after a quiet spell")


class SecuritySettings(BaseModel):
    anonymous_read: bool = Field(
        True, description="requests without a key may read (never write); refused unless "
        "the API listens on loopback only")
    cors_origins: list[str] = Field(
        [], description="browser origins allowed to call the API ('*' = any); none = no CORS")
    body_limit_bytes: int = Field(1_048_576, ge=1, description="largest request body accepted")
    rate_limit: RateLimit = Field(RateLimit(), description="per API key (a key may carry "
                                  "its own: crisiswatch keys create --rate)")
    anonymous_rate_limit: RateLimit = Field(RateLimit(per_second=10, burst=50),
                                            description="per client address, without a key")

    def exposure_error(self, host: str) -> str | None:
        """Why the API must not listen on ``host`` with these settings, or None."""
        if not self.anonymous_read or is_loopback(host):
            return None
        return (f"anonymous read is on (security.anonymous_read) and the API would listen on "
                f"{host}, reachable from other machines. Turn it off "
                "(CRISISWATCH_SECURITY__ANONYMOUS_READ=false) and give clients keys "
                "(crisiswatch keys create), or listen on 127.0.0.1 behind a proxy.")


class ObservabilitySettings(BaseModel):
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object a line, for log collectors")
    stale_after_seconds: float = Field(
        60, gt=0, description="a flow or worker heartbeat older than this is 'stalled'")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything
