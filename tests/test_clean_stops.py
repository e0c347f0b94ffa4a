"""Clean stops, through real processes: SIGTERM (what a container runtime sends) and
Ctrl-C (SIGINT) end ``crisiswatch flow``, ``api``, ``worker``, ``connect`` and ``run``
with exit status 0 and one closing line, never a Rust panic or a traceback; a stopped flow has
snapshotted its state, and its restart publishes what an uninterrupted run does."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from crisiswatch.config.settings import DEFAULT_CONFIG
from crisiswatch.flows.replay_shards import line_brand
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.helpers.cli import CLI
from tests.helpers.flow_runs import (
    cli_env,
    flow_process,
    lines_of,
    published,
    replayed,
    run_flow,
    two_days,
)
from tests.helpers.jetstream_server import JetstreamServer
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow  # child processes; see pyproject's markers


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_days(tmp_path_factory.mktemp("stops") / "synth.jsonl", seed=5, incidents=2)


@pytest.fixture(scope="module")
def reference(redis_server: EmbeddedRedis, synth: Path) -> dict[str, Any]:
    return replayed(redis_server.url, synth)


def stopped_cleanly(proc: subprocess.Popen[bytes], sig: int, log: Path) -> str:
    """Send ``sig``, wait for the end, and return the last line, having checked the
    exit status and that nothing in the output is a panic or a traceback."""
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    text = log.read_text()
    assert rc == 0, text
    for noise in ("Traceback", "panicked", "Error", "Aborted"):
        assert noise not in text, text
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize(("source", "sig"), [("files", signal.SIGINT),
                                             ("stream", signal.SIGTERM),
                                             ("cluster", signal.SIGTERM)])
def test_a_stopped_flow_snapshots_and_its_restart_publishes_an_uninterrupted_run(
        source: str, sig: int, redis_server: EmbeddedRedis, synth: Path,
        reference: dict[str, Any], tmp_path: Path) -> None:
    prefix = f"s{uuid.uuid4().hex[:8]}"
    store = Store(connect(redis_server.url), prefix)
    lines = lines_of(synth)
    recovery = tmp_path / "recovery"
    common = ["--recovery-dir", str(recovery), "--snapshot-interval", "1"]
    if source == "stream":
        for i in range(0, len(lines), 5000):
            store.inputs.append([(line_brand(x), x) for x in lines[i:i + 5000]])
        first, restart = ["--from-stream", *common], ["--from-stream", "--drain", *common]
    else:  # a cluster's processes get the signal from the command, and stop the same way
        processes = ["--processes", "2"] if source == "cluster" else []
        first = restart = [str(synth), *processes, *common]
    env, log = cli_env(redis_server.url, prefix), tmp_path / "flow.log"

    with flow_process(first, env, log) as proc:
        wait_for(lambda: store.stats()["read"] >= 0.3 * len(lines), 90,
                 "30% of the input read", proc, log)
        last = stopped_cleanly(proc, sig, log)
    read = store.stats()["read"]
    assert read < len(lines), "stopped too late to test anything"
    assert last == f"flow stopped: {read:,} records read; state snapshotted in {recovery}, " \
        "the same command resumes"
    assert store.stats()["status"]["state"] == "stopped"

    assert run_flow(restart, env, log) == 0, log.read_text()
    assert "recovery: resuming" in log.read_text()
    assert published(store) == reference


def _bluesky_config(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["sources"] = {"bluesky": {"url": url}}
    path = tmp_path / "bluesky.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_api_worker_and_connector_stop_with_one_line_and_status_0(
        sig: int, redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    env = cli_env(redis_server.url, f"c{uuid.uuid4().hex[:8]}")
    port = free_port()
    with JetstreamServer([]) as js:
        commands: dict[str, tuple[list[str], str, str]] = {  # args, started, closing line
            "api": (["api", "--port", str(port)], "", "api stopped"),
            "worker": (["worker"], "activation worker:", "worker stopped"),
            "connect": (["connect", "bluesky", "-c", str(_bluesky_config(tmp_path, js.url))],
                        "reading into", "bluesky connector stopped"),
        }
        for name, (args, started, closing) in commands.items():
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen([*CLI, *args], env=env, stdout=out,
                                        stderr=subprocess.STDOUT)
            try:
                if name == "api":
                    wait_for(lambda: _answers(port), 60, "the API", proc, log)
                else:
                    wait_for(lambda: started in log.read_text(), 60,  # noqa: B023
                             f"{name} started", proc, log)
                assert stopped_cleanly(proc, sig, log).startswith(closing)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_stops_cleanly_in_the_middle_of_a_replay(sig: int, synth: Path,
                                                      tmp_path: Path) -> None:
    env = cli_env("", "cw")
    del env["REDIS_URL"]  # the embedded store
    port, log = free_port(), tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*CLI, "run", str(synth), "--port", str(port), "--speed",
                                 "600"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _read(port), 60, "the replay under way", proc, log)
        assert stopped_cleanly(proc, sig, log) == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _read(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1).json()["read"]
    except (httpx.HTTPError, KeyError, ValueError):
        return 0
