"""Shared fixtures: a real Redis server per test session, real HTTP, real flows.

Every test writes under a key prefix of its own, so tests never read data they did not
create, even though they share one server.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from bytewax.testing import run_main

from crisiswatch.api.app import create_app
from crisiswatch.api.config import ApiConfig, SecurityConfig
from crisiswatch.config.runtime import api_config, build_flow
from crisiswatch.config.settings import Settings, load_settings
from crisiswatch.connectors.importers import airline_rows, sorted_by_time
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port


class _OneNamespace(importlib.abc.MetaPathFinder):
    """Refuses ``flows``, ``store``, ... as top-level names, as an installed crisiswatch
    does. From the repository root they would import (the folders are there), as second
    copies of ``crisiswatch.flows`` and its siblings, and a name spelt the old way
    (``importlib.resources.files("store")``) would pass the tests and fail every install."""

    FOLDERS = frozenset({"api", "flows", "store", "response", "detectors", "worker",
                         "connectors", "evaluation", "models"})

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if path is None and name in self.FOLDERS:
            raise ModuleNotFoundError(f"No module named {name!r} (it is crisiswatch.{name})",
                                      name=name)
        return None


sys.meta_path.insert(0, _OneNamespace())

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AIRLINE_CSV = SHARED_DATA / "airline" / "Tweets.csv"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(port=free_port()) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(redis_server: EmbeddedRedis, prefix: str) -> Store:
    return Store(connect(redis_server.url), prefix)


def settings_for(prefix: str, **overrides: object) -> Settings:
    settings = load_settings()
    settings.store.prefix = prefix
    for dotted, value in overrides.items():
        section, field = dotted.split("__")
        setattr(getattr(settings, section), field, value)
    return settings


def write_jsonl(path: Path, records: list[dict | bytes | str]) -> Path:
    with path.open("wb") as f:
        for r in records:
            if isinstance(r, dict):
                r = orjson.dumps(r)
            elif isinstance(r, str):
                r = r.encode()
            f.write(r + b"\n")
    return path


def replay(settings: Settings, paths: list[Path], url: str) -> None:
    run_main(build_flow(settings, ReplaySource(paths), url))


# The guard as tests meet it unless they test the guard: no rate limits to trip over.
UNLIMITED = SecurityConfig(rate_per_second=None, anonymous_rate_per_second=None)
API = ApiConfig(security=UNLIMITED)


def with_ingest(store: Store, settings: Settings, config: ApiConfig = API) -> ApiConfig:
    """``config`` with ``POST /mentions`` as the CLI sets it up from ``settings`` (the
    input streams' partition count pinned first)."""
    store.inputs.pin(settings.ingest.partitions)
    return replace(config, ingest=api_config(settings, "127.0.0.1", PlaybookSet()).ingest)


class LiveAPI:
    """The real FastAPI app served by uvicorn on a free loopback port. Its client sends
    an admin key (``key=False``: none, to test what anonymous callers get)."""

    def __init__(self, store: Store, config: ApiConfig = API, key: bool = True) -> None:
        self.port = free_port()
        self.headers: dict[str, str] = {}
        if key:
            token, _ = store.api_keys.create("tests", ["admin"])
            self.headers["Authorization"] = f"Bearer {token}"
        # forwarded headers believed from no one, as the CLI serves it by default
        self.server = uvicorn.Server(uvicorn.Config(create_app(store, config),
                                                    host="127.0.0.1", port=self.port,
                                                    log_level="warning", proxy_headers=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=10, headers=self.headers)
        return self.client

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def api(store: Store) -> Iterator[httpx.Client]:
    with LiveAPI(store) as client:
        yield client


@pytest.fixture(scope="session")
def airline_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not AIRLINE_CSV.is_file():
        pytest.skip(f"airline data not found at {AIRLINE_CSV}")
    path = tmp_path_factory.mktemp("airline") / "airline.jsonl"
    return write_jsonl(path, sorted_by_time(airline_rows(AIRLINE_CSV)))


@pytest.fixture(scope="session")
def airline_store(redis_server: EmbeddedRedis, airline_jsonl: Path) -> Store:
    """The airline file replayed once through the real flow, shared by read-only tests."""
    prefix = f"air{uuid.uuid4().hex[:8]}"
    replay(settings_for(prefix), [airline_jsonl], redis_server.url)
    return Store(connect(redis_server.url), prefix)
