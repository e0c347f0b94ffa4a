"""The flow as every process of a Bytewax cluster builds it:

    CRISISWATCH_FLOW_SPEC='{"source": "stream"}' REDIS_URL=redis://redis:6379/0 \\
        python -m bytewax.run crisiswatch.cli.cluster:flow -i 0 -a "host-a:2101;host-b:2101" \\
        -r /var/lib/crisiswatch/recovery -s 10 -b 0

``python -m bytewax.run`` imports a flow by name in each process, so what to read
travels in the environment: ``CRISISWATCH_FLOW_SPEC`` (a ``FlowSpec`` as JSON; the CLI's
``crisiswatch flow --processes N`` sets it for the processes it starts) beside the usual
settings (``REDIS_URL``, ``CRISISWATCH_*``, ``CRISISWATCH_CONFIG`` for a YAML file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import orjson
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from rich.console import Console

from crisiswatch.config.runtime import build_flow, store_at
from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.config.topics import topics_embedder
from crisiswatch.flows.gc_tuning import tune_gc
from crisiswatch.flows.redis_source import RedisStreamSource
from crisiswatch.flows.replay_shards import ShardedReplaySource
from crisiswatch.flows.sources import ProgressFn, ReplaySource
from crisiswatch.flows.stopping import stop_on_signals

SPEC_ENV = "CRISISWATCH_FLOW_SPEC"
CONFIG_ENV = "CRISISWATCH_CONFIG"


@dataclass(frozen=True)
class FlowSpec:
    """What the flow reads: ``stream``, the Redis input streams (until stopped, or with
    ``drain`` until they are empty), or ``files``, JSON lines split by brand into
    ``shards`` (one per process; see ``flows/replay_shards.py``)."""

    source: Literal["stream", "files"] = "stream"
    files: tuple[str, ...] = ()
    shards: int = 1
    speed: float | None = None
    drain: bool = False
    config: str | None = None

    def env(self) -> dict[str, str]:
        return {SPEC_ENV: orjson.dumps(asdict(self)).decode()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> FlowSpec:
        """The spec in ``CRISISWATCH_FLOW_SPEC`` (default: the input streams, until
        stopped); its config file, else ``CRISISWATCH_CONFIG``, else the default one."""
        data = orjson.loads(environ.get(SPEC_ENV, "{}"))
        data["files"] = tuple(data.get("files", ()))
        data["config"] = data.get("config") or environ.get(CONFIG_ENV)
        return cls(**data)

    def build_source(self, settings: Settings, redis_url: str,
                     progress: ProgressFn | None = None) -> Source:
        if self.source == "stream":
            partitions = store_at(settings, redis_url).inputs.pin(settings.ingest.partitions)
            return RedisStreamSource(redis_url, settings.store.prefix, partitions,
                                     settings.ingest.batch_records, drain=self.drain,
                                     heartbeat_s=settings.observability.heartbeat_seconds)
        paths = [Path(f) for f in self.files]
        batch = settings.ingest.batch_records
        if self.shards == 1:
            return ReplaySource(paths, batch, speed=self.speed, progress=progress)
        return ShardedReplaySource(paths, self.shards, batch, speed=self.speed,
                                   progress=progress)


def flow() -> Dataflow:
    """The flow of ``CRISISWATCH_FLOW_SPEC`` against the Redis at ``REDIS_URL``."""
    spec = FlowSpec.from_env(os.environ)
    settings = load_settings(spec.config)
    if not settings.redis_url:
        raise SystemExit("REDIS_URL is not set: every process of the flow writes to (and, "
                         "with the stream source, reads from) one Redis server")
    embedder = topics_embedder(settings.topics, Console(stderr=True))
    tune_gc()  # this process runs nothing but the flow
    stop_on_signals()  # SIGTERM from `crisiswatch flow --processes N` ends it with a snapshot
    return build_flow(settings, spec.build_source(settings, settings.redis_url),
                      settings.redis_url, embedder=embedder)
