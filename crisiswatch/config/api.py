"""Settings of the API's guard and of what it tells operators: the ``security`` and
``observability`` sections of the configuration.

The embedded demo (``configs/default.yaml``) lets anyone on the machine read without a
key; writes always need one. Anonymous read on an address other people can reach is
refused at start (``exposure_error``), because an incident list is not public data.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

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
    trusted_proxies: list[str] = Field(
        [], description="addresses of reverse proxies whose X-Forwarded-For / "
        "X-Forwarded-Proto are believed (the client address rate limits go by); none = "
        "the peer's own address, whatever headers it sends")
    allowed_hosts: list[str] = Field(
        [], description="Host header values served ('*.example.com' = subdomains, '*' = "
        "any); none = the loopback names and the bind address. Stops DNS rebinding: a web "
        "page whose name resolves to 127.0.0.1 cannot read the local API")

    def exposure_error(self, host: str) -> str | None:
        """Why the API must not listen on ``host`` with these settings, or None."""
        if self.anonymous_read and not is_loopback(host):
            return (f"anonymous read is on (security.anonymous_read) and the API would listen "
                    f"on {host}, reachable from other machines. Turn it off "
                    "(CRISISWATCH_SECURITY__ANONYMOUS_READ=false) and give clients keys "
                    "(crisiswatch keys create), or listen on 127.0.0.1 behind a proxy.")
        if not self.allowed_hosts and host in WILDCARDS:
            return (f"the API would listen on {host} (every address) but security."
                    "allowed_hosts names none of the names clients use: list them "
                    "(CRISISWATCH_SECURITY__ALLOWED_HOSTS='[\"api.example.com\"]'), or '*'")
        return None

    def hosts_for(self, host: str) -> tuple[str, ...]:
        """The Host values the API answers when it listens on ``host``."""
        if self.allowed_hosts:
            return tuple(self.allowed_hosts)
        own = () if host in WILDCARDS or host in LOOPBACK_NAMES else (host,)
        return LOOPBACK_NAMES + own

    def proxy_options(self) -> dict[str, Any]:
        """uvicorn's: forwarded headers believed from the trusted proxies only (uvicorn
        otherwise believes any client on loopback, so one rate limit per fake address)."""
        if not self.trusted_proxies:
            return {"proxy_headers": False}
        return {"proxy_headers": True, "forwarded_allow_ips": list(self.trusted_proxies)}


class ObservabilitySettings(BaseModel):
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object a line, for log collectors")
    stale_after_seconds: float = Field(
        60, gt=0, description="a flow or worker heartbeat older than this is 'stalled' (or "
        "'dead', when the flow's process is gone)")
    heartbeat_seconds: float = Field(
        5, gt=0, description="how often a flow with nothing to read says it is alive; keep "
        "it well under stale_after_seconds")


WILDCARDS = ("0.0.0.0", "::", "")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything
