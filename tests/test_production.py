"""The production path as written: the README's production section (its shell block
through bash) and compose.yaml's services (their commands and environment), with only
the Redis address, the recovery directory and the port made this test's own. The flow,
the API and the worker agree on brands and playbooks (``configs/production.yaml``): the
demo stream posted to ``POST /mentions`` is accepted, read by the flow, and its outage
opens an incident that a playbook takes; SIGTERM stops each cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from crisiswatch.connectors import demo
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # child processes; see pyproject's markers

ROOT = Path(__file__).resolve().parents[1]


def production_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Production\n"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_production_commands_start_and_accept_the_demo_stream(
        tmp_path: Path) -> None:
    port = free_port()
    block = production_block()
    for placeholder in ("redis://redis.internal:6379/0", "/var/lib/crisiswatch/recovery",
                        "--port 8000"):
        assert placeholder in block
    env = _clean_env()
    with EmbeddedRedis(port=free_port()) as redis:
        script = (block.replace("redis://redis.internal:6379/0", redis.url)
                  .replace("/var/lib/crisiswatch/recovery", str(tmp_path / "recovery"))
                  .replace("--port 8000", f"--port {port}"))
        out, log = tmp_path / "stdout", tmp_path / "stderr"
        with out.open("wb") as o, log.open("wb") as e:
            shell = subprocess.Popen(["bash", "-e", "-c", script + "wait\n"], cwd=ROOT,
                                     env=env, stdout=o, stderr=e, start_new_session=True)
        try:
            tokens = wait_for(lambda: _tokens(out), 120, "the two keys", shell, log)
            accepts_the_demo_end_to_end(f"http://127.0.0.1:{port}", tokens[0], tokens[1],
                                        tmp_path, shell, log)
        finally:  # SIGTERM to all: each command stops cleanly
            os.killpg(shell.pid, signal.SIGTERM)
            shell.wait(timeout=60)
            wait_for(lambda: not _group_alive(shell.pid), 60, "every command to stop")
        _stopped_cleanly(log.read_text())


def test_compose_services_started_as_compose_starts_them(tmp_path: Path) -> None:
    """compose.yaml's flow, api and worker: their commands and environment (defaults
    taken), the image's CRISISWATCH_CONFIG pointing at this checkout's configs/ (the
    image copies it to /app/configs), and only Redis, the volume and the port made this
    test's own; then SIGTERM, as ``docker compose stop`` sends."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    port = free_port()
    with EmbeddedRedis(port=free_port()) as redis:
        env = _clean_env()
        for key, value in services["api"]["environment"].items():
            default = re.fullmatch(r"\$\{\w+:-(.*)\}", str(value))
            env[key] = default.group(1) if default else str(value)
        env.update(REDIS_URL=redis.url,
                   CRISISWATCH_CONFIG=str(ROOT / "configs" / "production.yaml"))
        keys = [subprocess.run(["crisiswatch", "keys", "create", "--name", name,
                                *(f"--scope={s}" for s in scopes)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.strip()
                for name, scopes in (("oncall", ("read", "operate")),
                                     ("collector", ("ingest",)))]
        log = tmp_path / "services.log"
        procs = []
        with log.open("wb") as out:
            for name in ("flow", "api", "worker"):
                args = [a.replace("/var/lib/crisiswatch", str(tmp_path)).replace(
                    "8000", str(port)) for a in services[name]["command"]]
                procs.append(subprocess.Popen(args, env=env, cwd=tmp_path, stdout=out,
                                              stderr=subprocess.STDOUT))
        try:
            accepts_the_demo_end_to_end(f"http://127.0.0.1:{port}", keys[0], keys[1],
                                        tmp_path, procs[1], log)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            codes = [p.wait(timeout=60) for p in procs]
        assert codes == [0, 0, 0], log.read_text()
        _stopped_cleanly(log.read_text())


def accepts_the_demo_end_to_end(api: str, oncall_token: str, collector_token: str,
                                tmp_path: Path, proc: subprocess.Popen[bytes],
                                log: Path) -> None:
    """The demo stream posted to POST /mentions is accepted (the API's brand queries are
    the flow's), read by the flow, and its outage opens an incident a playbook takes (the
    worker's playbooks)."""
    oncall = {"Authorization": f"Bearer {oncall_token}"}
    collector = {"Authorization": f"Bearer {collector_token}",
                 "Content-Type": "application/x-ndjson"}
    wait_for(lambda: _answers(f"{api}/health", oncall), 120, "the API", proc, log)
    lines = _demo_lines(tmp_path)
    accepted = rejected = 0
    reasons: set[str] = set()
    for i in range(0, len(lines), 2000):
        r = httpx.post(f"{api}/mentions", headers=collector, timeout=60,
                       content=b"\n".join(lines[i:i + 2000]))
        assert r.status_code == 202, r.text
        accepted += r.json()["accepted"]
        rejected += r.json()["rejected"]
        reasons |= {e["reason"].split(":")[0] for e in r.json()["errors"]}
    assert accepted + rejected == len(lines)
    assert rejected <= 3 and not any(r.startswith("no brand") for r in reasons), reasons

    def taken() -> list[dict]:
        stats = httpx.get(f"{api}/stats", headers=oncall).json()
        if stats["read"] < accepted:
            return []
        alerts = httpx.get(f"{api}/alerts", headers=oncall).json()
        full = [httpx.get(f"{api}/alerts/{a['id']}", headers=oncall).json() for a in alerts]
        return [a for a in full if a.get("playbooks")]

    incidents = wait_for(taken, 180, "the flow to read all and a playbook to run", proc, log,
                         every=1)
    stats = httpx.get(f"{api}/stats", headers=oncall).json()
    assert stats["read"] == accepted and stats["dead_lettered"] == 0
    assert {p["name"] for a in incidents for p in a["playbooks"]} & {"outage", "critical"}
    assert {b["brand"] for b in httpx.get(f"{api}/brands", headers=oncall).json()} \
        == {"Northwind Telecom", "Skyways", "Harbor Bank"}


def _stopped_cleanly(text: str) -> None:
    assert "Traceback" not in text and "panicked" not in text, text
    for closing in ("flow stopped:", "api stopped", "worker stopped"):
        assert closing in text, text


def _clean_env() -> dict[str, str]:
    """This environment without crisiswatch's settings, the CLI on the PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRISISWATCH_") and k != "REDIS_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _tokens(out: Path) -> list[str] | None:
    tokens = [t for t in out.read_text().split() if t.startswith("cw_")]
    return tokens if len(tokens) == 2 else None


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _demo_lines(tmp_path: Path) -> list[bytes]:
    path = tmp_path / "demo.jsonl"
    demo.write(path)
    return [line for line in path.read_bytes().splitlines() if line.strip()]
