"""Deployment files checked without Docker (no engine runs on the development machines):
the image's Dockerfile, compose.yaml's services and the commands they run, and the
Grafana dashboard's series against what ``GET /metrics`` serves."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import click
import pytest
import typer
import yaml
from prometheus_client.parser import text_string_to_metric_families

from crisiswatch.cli.app import app
from crisiswatch.config.playbooks import expand_env, load_playbooks
from crisiswatch.config.settings import load_settings
from crisiswatch.store import Store
from crisiswatch.worker.hosts import host_allowed
from tests.conftest import LiveAPI
from tests.helpers.activation import incident, write

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def check_command(args: list[str]) -> None:
    """Parse ``args`` as the CLI would, options included (click raises a UsageError on
    an unknown command or option), without running it."""
    assert args[0] == "crisiswatch"
    group = typer.main.get_command(app)
    command = group.get_command(click.Context(group), args[1])  # type: ignore[attr-defined]
    assert command is not None, f"no command {args[1]!r}"
    command.make_context(args[1], list(args[2:])).close()


def test_the_image_builds_in_one_stage_and_runs_in_another_without_root_or_compilers() -> None:
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    assert len(stages) == 2 and stages[0].split()[2] == "build"
    run = stages[1]
    assert "build-essential" in stages[0] and "build-essential" not in run
    assert "COPY --from=build /opt/crisiswatch /opt/crisiswatch" in run
    user = re.search(r"^USER (\S+)", run, re.M)
    assert user and user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*localhost:8000/health", run, re.M | re.S)
    config = re.search(r"CRISISWATCH_CONFIG=(\S+)", run).group(1)
    assert config == "/app/configs/production.yaml" and "COPY configs /app/configs" in run
    check_command(json.loads(re.search(r"^CMD (.+)$", run, re.M).group(1)))
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_compose_starts_redis_with_aof_and_the_flow_api_worker_and_a_connector() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"redis", "flow", "api", "worker", "connector"}
    redis = services["redis"]
    assert redis["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert any(v.endswith(":/data") for v in redis["volumes"]) and "healthcheck" in redis
    assert services["connector"]["profiles"] == ["connector"]  # optional
    for name in ("flow", "api", "worker", "connector"):
        s = services[name]
        check_command(s["command"])
        assert s["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert s["depends_on"]["redis"]["condition"] == "service_healthy"
        assert s["stop_grace_period"]  # time for the clean stop on SIGTERM
    flow = services["flow"]["command"]
    recovery = flow[flow.index("--recovery-dir") + 1]
    assert any(v.endswith(":" + str(Path(recovery).parent)) for v in services["flow"]["volumes"])
    assert "--from-stream" in flow and "--drain" not in flow
    assert "--no-worker" in services["api"]["command"]  # the worker runs on its own
    assert services["api"]["ports"] == ["8000:8000"]
    assert set(COMPOSE["volumes"]) == {"redis-data", "recovery"}


def test_compose_defaults_pass_the_production_settings_checks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Started with nothing set, the services' environment gives receivers that the
    production settings allow, and the names the API answers include compose's own."""
    settings = load_settings(ROOT / "configs" / "production.yaml")
    assert {"localhost", "api"} <= set(settings.security.allowed_hosts)
    assert settings.security.exposure_error("0.0.0.0") is None
    for key, value in COMPOSE["services"]["api"]["environment"].items():
        default = re.fullmatch(r"\$\{\w+:-(.*)\}", str(value))
        monkeypatch.setenv(key, default.group(1) if default else str(value))
        if key.startswith("CRISISWATCH_HOOK_"):
            assert host_allowed(expand_env(f"${{{key}}}"), settings.webhooks.allowed_hosts)
    playbooks = load_playbooks(settings.activation.playbooks_path,
                               settings.webhooks.allowed_hosts)
    assert {p.name for p in playbooks.playbooks} == {"outage", "critical"}


def test_the_grafana_dashboard_reads_only_series_that_metrics_serves(store: Store) -> None:
    w = store.writer()
    w.window("Acme", time.time() - 600, {"window_start": time.time() - 600,
                                         "window_end": time.time() - 300, "count": 4})
    w.stats({"read": 5, "processed": 4, "dead_lettered": 1})
    w.execute()
    store.set_status(state="running", heartbeat=time.time())
    store.outbox.set_worker(seen=time.time())
    write(store, incident("a", severity="critical"))
    with LiveAPI(store) as api:
        api.get("/alerts").raise_for_status()
        with api.stream("GET", "/stream"):
            text = api.get("/metrics").text
    served: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            served.setdefault(s.name, set()).update(s.labels)

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "crisiswatch.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bcrisiswatch_\w+", e)}
    assert len(used) >= 10
    assert used <= set(served), used - set(served)
    for e in exprs:  # labels grouped by or matched on exist on the series read
        series = set(re.findall(r"\bcrisiswatch_\w+", e))
        labels = set(re.findall(r"(\w+)=\"", e))
        for group in re.findall(r"by \(([^)]*)\)", e):
            labels |= {x.strip() for x in group.split(",")}
        have = set().union(*(served[m] for m in series))
        assert labels <= have, (e, labels - have)
