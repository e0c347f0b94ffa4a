"""``activation.digests``: which team gets a digest, how often, and where."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DigestSettings(BaseModel):
    """A team's shift or daily digest, sent at the end of each period (periods are
    aligned to midnight UTC: ``every_hours: 8`` sends at 00:00, 08:00 and 16:00 UTC)."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, description="the name the digest and GET /digest use")
    every_hours: float = Field(24, gt=0, le=24 * 7, description="the period: a shift, a day")
    destinations: list[str] = Field(min_length=1, description="destinations of the playbook "
                                    "file (slack, teams, email or json) the digest goes to")
    playbooks: list[str] = Field([], description="the team's incidents are those these "
                                 "playbooks handled; none: every incident")
