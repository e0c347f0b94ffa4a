"""What a route may ask for, as typed FastAPI dependencies (``store: StoreDep``).

``create_app`` puts the store, the ``ApiConfig`` and the process's shared objects (the
store's circuit breaker, the metrics registry, the event fan-out) on ``app.state`` once;
routes name what they need here instead of reaching into ``request.app.state``, so a
route's signature says what it reads, and a missing part (an API built without
playbooks or ingestion) is refused in one place with one message. They are coroutines
because they only look things up: a plain function would take a thread of the pool that
the routes' store calls share for each of them, on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry

from crisiswatch.api.breaker import StoreBreaker
from crisiswatch.api.config import ApiConfig, IngestConfig, SecurityConfig
from crisiswatch.api.fanout import Fanout
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_config(request: Request) -> ApiConfig:
    return request.app.state.config


async def get_breaker(request: Request) -> StoreBreaker:
    return request.app.state.breaker


async def get_fanout(request: Request) -> Fanout:
    return request.app.state.fanout


async def get_metrics(request: Request) -> CollectorRegistry:
    return request.app.state.metrics


StoreDep = Annotated[Store, Depends(get_store)]
ConfigDep = Annotated[ApiConfig, Depends(get_config)]
BreakerDep = Annotated[StoreBreaker, Depends(get_breaker)]
FanoutDep = Annotated[Fanout, Depends(get_fanout)]
MetricsDep = Annotated[CollectorRegistry, Depends(get_metrics)]


async def get_security(config: ConfigDep) -> SecurityConfig:
    return config.security


async def get_playbooks(config: ConfigDep) -> PlaybookSet:
    if config.playbooks is None:
        raise HTTPException(503, "this API was started without playbooks (crisiswatch api "
                            "and run load them from activation.playbooks)")
    return config.playbooks


async def get_staffing(config: ConfigDep) -> StaffingConfig:
    return config.staffing


async def get_ingest(config: ConfigDep) -> IngestConfig:
    if config.ingest is None:
        raise HTTPException(503, "this API was started without ingestion (crisiswatch api "
                            "and run set it up from the ingest settings)")
    return config.ingest


async def get_digest_teams(config: ConfigDep) -> dict[str, Team]:
    return {team.name: team for team in config.digest_teams}


SecurityDep = Annotated[SecurityConfig, Depends(get_security)]
PlaybooksDep = Annotated[PlaybookSet, Depends(get_playbooks)]
StaffingDep = Annotated[StaffingConfig, Depends(get_staffing)]
IngestDep = Annotated[IngestConfig, Depends(get_ingest)]
DigestTeamsDep = Annotated[dict[str, Team], Depends(get_digest_teams)]
