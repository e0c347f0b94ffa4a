"""Building the API process's app: the one place in the composition root that wires
``api/`` (the CLI's ``api`` and ``run`` commands call ``build_app``).

``attach_ingest`` wires ``POST /mentions`` (``api/ingest.py``): the API checks records
with the flow's own parser, configured from the same settings as the flow's, so an
accepted record is one the flow will not dead-letter; and it appends to as many input
streams as the flow reads (the count is pinned in Redis: ``Store.inputs.pin``)."""

from __future__ import annotations

from fastapi import FastAPI

from crisiswatch import __version__
from crisiswatch.api.app import create_app
from crisiswatch.api.ingest import IngestConfig
from crisiswatch.api.security import SecurityConfig
from crisiswatch.config import runtime
from crisiswatch.config.settings import Settings
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store
from crisiswatch.worker.activation import attach
from crisiswatch.worker.digests import attach_digests


def build_app(store: Store, settings: Settings, playbooks: PlaybookSet,
              host: str) -> FastAPI:
    """The API over ``store`` as ``settings`` configure it, serving ``host``; raises
    ``LayoutMismatch`` when the input streams were set up with another partition count."""
    sec = settings.security
    app = create_app(store, SecurityConfig(
        anonymous_read=sec.anonymous_read, rate_per_second=sec.rate_limit.per_second,
        burst=sec.rate_limit.burst, anonymous_rate_per_second=sec.anonymous_rate_limit.per_second,
        anonymous_burst=sec.anonymous_rate_limit.burst, body_limit_bytes=sec.body_limit_bytes,
        cors_origins=tuple(sec.cors_origins), allowed_hosts=sec.hosts_for(host)),
        settings.observability.stale_after_seconds, version=__version__)
    attach(app, playbooks, runtime.staffing(settings))
    attach_digests(app, runtime.worker_config(settings).digests)
    attach_ingest(app, settings)
    return app


def attach_ingest(app: FastAPI, settings: Settings) -> None:
    """Give the app its ingestion; raises ``LayoutMismatch`` when the input streams were
    set up with another partition count than ``ingest.partitions``."""
    store: Store = app.state.store
    store.inputs.pin(settings.ingest.partitions)
    parser = runtime.parser(settings)
    app.state.ingest = IngestConfig(parser.parse, settings.ingest.max_records,
                                    settings.ingest.max_body_bytes)

