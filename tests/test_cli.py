"""The crisiswatch command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis, free_port
from tests.conftest import AIRLINE_CSV, write_jsonl
from tests.helpers.cli import cli

pytestmark = pytest.mark.slow  # see pyproject's markers


def test_import_airline_writes_sorted_mentions(tmp_path: Path) -> None:
    if not AIRLINE_CSV.is_file():
        pytest.skip(f"airline data not found at {AIRLINE_CSV}")
    r = cli("import", "airline", str(AIRLINE_CSV), "-o", "out.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "14,640 records" in r.stderr
    rows = [orjson.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert len(rows) == 14640
    assert rows[0]["ts"] <= rows[-1]["ts"] and rows[0]["ts"].startswith("2015-02-16T23:36")
    first = rows[0]
    assert set(first) >= {"id", "ts", "brand", "text"} and first["brand"] == "Delta"


def test_run_replays_detects_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [
        {"id": str(i), "ts": 1_700_000_000 + i, "brand": "Acme", "text": "hi"}
        for i in range(50)
    ] + ["oops"])
    scratch = tmp_path / "tmp"  # the command's temporary files go here, and must go away
    scratch.mkdir()
    r = cli("run", str(path), "--no-serve", "--port", str(free_port()), cwd=tmp_path,
            env={"TMPDIR": str(scratch)})
    assert r.returncode == 0, r.stderr
    assert "API and dashboard on http://127.0.0.1:" in r.stderr
    assert "51 records" in r.stderr and "1 dead-lettered" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "tmp"]  # no RDB or socket files
    assert os.listdir(scratch) == []  # the embedded Redis's folder is gone too


def test_flow_writes_to_the_redis_at_redis_url(tmp_path: Path, redis_server: EmbeddedRedis,
                                                prefix: str) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [
        {"id": str(i), "ts": 1_700_000_000 + i, "brand": "Acme", "text": "hi"} for i in range(9)
    ])
    r = cli("flow", str(path), cwd=tmp_path,
            env={"REDIS_URL": redis_server.url, "CRISISWATCH_STORE__PREFIX": prefix})
    assert r.returncode == 0, r.stderr
    assert Store(connect(redis_server.url), prefix).stats()["processed"] == 9


def test_clear_errors_for_a_missing_server_file_or_config(tmp_path: Path) -> None:
    r = cli("flow", "in.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and "no such input file" in r.stderr
    (tmp_path / "in.jsonl").write_text("")
    r = cli("flow", "in.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and "REDIS_URL is not set" in r.stderr
    (tmp_path / "bad.yaml").write_text("window:\n  minutes: -1\n")
    r = cli("run", "in.jsonl", "--config", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.yaml: window.minutes: Input should be greater than 0" in r.stderr
    port = free_port()
    r = cli("flow", "in.jsonl", cwd=tmp_path, env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert r.returncode == 1 and "cannot reach Redis" in r.stderr


def test_the_demo_stream_raises_the_outage_incident(tmp_path: Path) -> None:
    with EmbeddedRedis(port=free_port()) as server:
        r = cli("demo", "-o", "demo.jsonl", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        r = cli("flow", "demo.jsonl", cwd=tmp_path,
                env={"REDIS_URL": server.url, "COLUMNS": "200", "TZ": "UTC"})
        assert r.returncode == 0, r.stderr
        alerts = Store(connect(server.url)).alerts()
    assert [a["brand"] for a in alerts] == ["Northwind Telecom"]
    assert "northwinddown" in dict(alerts[0]["explanation"]["top_hashtags"])
    # the incident table says when (date, time, zone) and which (the id for GET /alerts/{id})
    first = datetime.fromtimestamp(alerts[0]["first_window"], UTC).strftime("%Y-%m-%d %H:%M")
    row = next(line for line in r.stderr.splitlines() if alerts[0]["id"] in line)
    assert f"{first} UTC" in row and "critical" in row and "Northwind Telecom" in row


def test_eval_prints_the_airline_backtest(tmp_path: Path) -> None:
    if not AIRLINE_CSV.is_file():
        pytest.skip(f"airline data not found at {AIRLINE_CSV}")
    r = cli("eval", cwd=tmp_path, env={"COLUMNS": "160"})
    assert r.returncode == 0, r.stderr
    for text in ("Labelled events", "pr_gaffe", "no_alert", "false alerts", "NAB-style score",
                 "standard", "reward_low_FN_rate", "evaluating the configuration `crisiswatch "
                 "run` runs: ", "default.yaml: sensitivity balanced; topics off"):
        assert text in r.stderr, text
    assert "FAIL" not in r.stderr
