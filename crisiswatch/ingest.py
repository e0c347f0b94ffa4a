"""Wiring ``POST /mentions`` (``api/ingest.py``): the API checks records with the flow's
own parser, configured from the same settings as the flow's, so an accepted record is
one the flow will not dead-letter; and it appends to as many input streams as the flow
reads (the count is pinned in Redis: ``Store.inputs.pin``)."""

from __future__ import annotations

from fastapi import FastAPI

from api.ingest import IngestConfig
from crisiswatch.settings import Settings
from store import Store


def attach(app: FastAPI, settings: Settings) -> None:
    """Give the app its ingestion; raises ``LayoutMismatch`` when the input streams were
    set up with another partition count than ``ingest.partitions``."""
    store: Store = app.state.store
    store.inputs.pin(settings.ingest.partitions)
    parser = settings.make_parser()
    app.state.ingest = IngestConfig(parser.parse, settings.ingest.max_records,
                                    settings.ingest.max_body_bytes)
