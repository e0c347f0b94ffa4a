"""What the activation worker is built from: a plain config (no settings file, no
environment: the composition root, ``crisiswatch.config.runtime``, reads those and fills
this in; a test writes one by hand). The defaults here are the product's defaults: the
settings take theirs from these classes."""

from __future__ import annotations

from dataclasses import dataclass, field

from crisiswatch.response.staffing import StaffingConfig


@dataclass(frozen=True)
class DeliveryConfig:
    """How the outbox is delivered (``worker/webhooks.py``; e-mail as well)."""

    # hosts messages may be sent to; '*.example.com' allows subdomains (``worker/hosts.py``)
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "hooks.slack.com",
                                      "events.pagerduty.com")
    timeout_seconds: float = 5.0  # per phase of one request (connect, write, read, pool)
    max_attempts: int = 8  # then the message is dead-lettered
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0  # a claimed message comes due again after this
    concurrency: int = 4  # requests in flight at once

    def __post_init__(self) -> None:
        # httpx applies the timeout to each phase (connect, write, read, pool): a lease
        # shorter than that lets a second worker send while the first still waits.
        if self.lease_seconds < 4 * self.timeout_seconds:
            raise ValueError(f"lease_seconds ({self.lease_seconds:g}) must be at least 4x "
                             f"timeout_seconds ({self.timeout_seconds:g})")


@dataclass(frozen=True)
class DigestConfig:
    """A team's shift or daily digest, sent at the end of each period (periods are
    aligned to midnight UTC: ``every_hours=8`` sends at 00:00, 08:00 and 16:00 UTC)."""

    team: str
    destinations: tuple[str, ...]  # destinations of the playbook file it goes to
    every_hours: float = 24.0
    playbooks: tuple[str, ...] = ()  # the team's incidents are those these handled; (): all


@dataclass(frozen=True)
class WorkerConfig:
    poll_seconds: float = 0.5  # how often clocks and the outbox are checked
    sla_lease_seconds: float = 30.0  # a clock claimed by a worker that died fires again
    staffing: StaffingConfig = field(default_factory=StaffingConfig)
    digests: tuple[DigestConfig, ...] = ()
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
