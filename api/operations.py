"""``GET /health`` and ``GET /metrics``: is the pipeline alive, and how is it doing.

Liveness comes from heartbeats in the store: the flow writes ``status_heartbeat`` with
its totals (``StoreWriter.stats``), the activation worker ``seen`` every few seconds. A
heartbeat older than ``stale_after_s`` while the component says it runs is ``stalled``:
the process hangs, or died where this API cannot look. The flow beats while idle too
(``flows/redis_source.py``), so a quiet stream is not taken for a stalled flow.

The flow is ``dead`` when it said so on its way out (``stopped``, ``failed``), or when
its heartbeat is stale and the process its status names (``pid`` on ``host``) no longer
exists on this machine: ``kill -9`` leaves no last word. ``/health`` then corrects the
stored status (``Store.mark_flow_dead``), so that everything reading it agrees.

``/health`` needs no key (probes carry none) and says nothing but states; ``/metrics``
needs ``read``, and answers from this process while Redis is down.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Literal

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from crisiswatch.api.breaker import StoreDown
from crisiswatch.api.connectors import State as ConnectorState
from crisiswatch.api.connectors import states as connector_states
from crisiswatch.api.deps import BreakerDep, ConfigDep, MetricsDep, StoreDep
from crisiswatch.api.metrics import heartbeats
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require
from crisiswatch.store import StoreError

router = APIRouter(tags=["operations"])
State = Literal["running", "stalled", "dead", "finished", "unknown"]


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: Redis is unreachable, or the flow, the worker or a live "
        "connector stalled")
    redis: bool
    store: Literal["ok", "down", "hung"] = Field(
        description="down: Redis refuses or dropped the connection; hung: it took the "
        "connection and did not answer within the API's timeout (stopped, partitioned)")
    flow: dict[str, str] = Field(description="status fields the flow last wrote")
    flow_state: State = Field(description="running (fresh heartbeat), stalled (stale "
                              "heartbeat), dead (the process is gone), finished (a replay "
                              "that ended) or unknown (no heartbeat yet)")
    flow_heartbeat_age_s: float | None
    worker_state: State = Field(description="the activation worker (playbooks, webhooks)")
    worker_heartbeat_age_s: float | None
    connectors: dict[str, ConnectorState] = Field(
        {}, description="each live connector: running, stalled (reads without getting "
        "further) or idle; a stalled one makes the status degraded")


def _state(beat: float | None, now: float, stale_after_s: float,
           finished: bool = False) -> tuple[State, float | None]:
    age = None if beat is None else round(max(0.0, now - beat), 3)
    if finished:
        return "finished", age
    if age is None:
        return "unknown", None
    return ("running" if age <= stale_after_s else "stalled"), age


@router.get("/health", response_model=Health)
def health(store: StoreDep, config: ConfigDep, breaker: BreakerDep) -> Health:
    """Always 200 while the API runs; read ``status`` for the pipeline."""
    stale, now = config.stale_after_s, time.time()
    try:
        if breaker.is_open():
            raise StoreDown("the circuit breaker is open after a failed call")
        status, beats = store.stats()["status"], heartbeats(store)
        connectors = connector_states(store, config.connector_stall_s)
        flow, flow_age = _state(beats["flow"], now, stale, status.get("state") == "finished")
        if status.get("state") in ("dead", "stopped", "failed"):
            flow = "dead"
        elif flow == "stalled" and _gone(status):
            reason = (f"process {status['pid']} on {status['host']} is gone (found by "
                      f"GET /health {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))})")
            if store.mark_flow_dead(status["pid"], status["host"], reason):
                status = {**status, "state": "dead", "error": reason}
            flow = "dead"
    except StoreError as e:
        breaker.trip(e)
        return Health(status="degraded", redis=False, store=breaker.cause, flow={},
                      flow_state="unknown", flow_heartbeat_age_s=None,
                      worker_state="unknown", worker_heartbeat_age_s=None)
    worker, worker_age = _state(beats["worker"], now, stale)
    ok = not {"stalled", "dead"} & {flow, worker, *connectors.values()}
    return Health(status="ok" if ok else "degraded", redis=True, store="ok", flow=status,
                  flow_state=flow, flow_heartbeat_age_s=flow_age, worker_state=worker,
                  worker_heartbeat_age_s=worker_age, connectors=connectors)


def _gone(status: dict[str, str]) -> bool:
    """The flow's process, when it ran on this machine, no longer exists."""
    pid, host = status.get("pid", ""), status.get("host")
    if not pid.isdigit() or host != socket.gethostname():
        return False  # another machine's process: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, run by another user
    return False


@router.get("/metrics", response_class=Response,
            dependencies=[Depends(require("read", store_optional=True))],
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                             "description": "Prometheus text format"},
                       503: {"model": ErrorOut}})
def metrics(registry: MetricsDep) -> Response:
    """Records by outcome, window lag per brand, incidents by severity and state, webhook
    deliveries, heartbeats, request latency (this process)."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
