"""``activation.digests``: which team gets a digest, how often, and where."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crisiswatch.worker.config import DigestConfig

_DIGEST = DigestConfig("", ())  # the worker's defaults are the settings'


class DigestSettings(BaseModel):
    """``worker.config.DigestConfig`` as the file writes it."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, description="the name the digest and GET /digest use")
    every_hours: float = Field(_DIGEST.every_hours, gt=0, le=24 * 7,
                               description="the period: a shift, a day")
    destinations: list[str] = Field(min_length=1, description="destinations of the playbook "
                                    "file (slack, teams, email or json) the digest goes to")
    playbooks: list[str] = Field([], description="the team's incidents are those these "
                                 "playbooks handled; none: every incident")
