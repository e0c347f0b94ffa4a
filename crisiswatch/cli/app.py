"""The ``crisiswatch`` command: the composition root that wires settings, store, flow
and API together.

``run`` is the demo and the single-machine mode: an embedded Redis (unless REDIS_URL is
set), the replay flow and the API in one process. ``flow`` and ``api`` run the halves
separately against a Redis server, for production.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from bytewax.testing import run_main
from fastapi import FastAPI
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from crisiswatch.api.stream import close_streams
from crisiswatch.cli.common import (
    ConfigOpt,
    LogFormatOpt,
    SpeedOpt,
    check_inputs,
    err,
    settings_or_exit,
    store_or_exit,
)
from crisiswatch.cli.connect import check_source, connect_command, run_live
from crisiswatch.cli.data import backtest, demo, eval_, import_
from crisiswatch.cli.keys import keys_app
from crisiswatch.cli.logs import json_handler, uvicorn_log_config
from crisiswatch.cli.refusals import refusal_lines
from crisiswatch.cli.sentiment import train_sentiment
from crisiswatch.cli.topics import models_app, print_topics
from crisiswatch.config import runtime
from crisiswatch.config.runtime import CONNECTORS
from crisiswatch.config.settings import ConfigError, Settings
from crisiswatch.config.topics import topics_embedder
from crisiswatch.evaluation.incident_table import incident_table
from crisiswatch.flows.stopping import stop_on_signals, stop_requested
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.store import LayoutMismatch, Store
from crisiswatch.worker.activation import Worker
from crisiswatch.worker.webhooks import SECRET_ENV, secret_from_env

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Detect brand crises in social media mention streams.")


@app.callback()
def _main() -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C: the embedded Redis and the temporary
    files go away with the command."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _replay(settings: Settings, store: Store, paths: list[Path], url: str,
            speed: float | None, quiet: bool = False) -> float:
    """Run the flow over the files to the end, with a progress bar; returns seconds."""
    from crisiswatch.flows.gc_tuning import tune_gc
    from crisiswatch.flows.sources import ReplaySource

    embedder = topics_embedder(settings.topics, err)  # may build the table: its own bar
    total = sum(p.stat().st_size for p in paths)
    progress = Progress(TextColumn("replay"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err,
                        disable=quiet or (not err.is_terminal and not sys.stderr.isatty()))
    task = progress.add_task("replay", total=total)
    source = ReplaySource(paths, settings.ingest.batch_records, speed=speed,
                          progress=lambda _path, n: progress.advance(task, n))
    store.set_status(state="running", source=",".join(str(p) for p in paths),
                     started=datetime.now(UTC).isoformat(timespec="seconds"))
    started = time.perf_counter()
    tune_gc()
    with progress:
        run_main(runtime.build_flow(settings, source, url, embedder=embedder,
                                    snapshots=False))
    elapsed = time.perf_counter() - started
    store.set_status(state="finished", finished=datetime.now(UTC).isoformat(timespec="seconds"))
    return elapsed


def _summary(store: Store, elapsed: float) -> None:
    s = store.stats()
    err.print(f"[bold]{s['read']:,}[/] records in {elapsed:.1f}s "
              f"({s['read'] / max(elapsed, 1e-9):,.0f}/s): {s['processed']:,} processed, "
              f"{s['duplicate']:,} duplicate, {s['late']:,} late, "
              f"{s['dead_lettered']:,} dead-lettered")
    for line in refusal_lines(store.deadletters(limit=1000), s["dead_lettered"]):
        err.print(line, soft_wrap=True, highlight=False, markup=False)
    print_topics(store, err)
    alerts = store.alerts(limit=50)
    if not alerts:
        err.print("no incidents")
        return
    err.print(incident_table(alerts, f"{len(alerts)} incident(s)"))


def _activation(settings: Settings, store: Store) -> tuple[PlaybookSet, Worker]:
    """The playbooks (a mistake in the file stops the start) and the activation worker."""
    try:
        playbooks = runtime.playbooks(settings)
    except ConfigError as e:
        err.print(f"[red]playbook error:[/]\n{e}")
        raise typer.Exit(2) from None
    secret = secret_from_env()
    if secret is None:
        err.print(f"[yellow]{SECRET_ENV} is not set:[/] playbook webhooks wait in the outbox "
                  "unsent (GET /webhooks) until a worker with the secret runs")
    return playbooks, Worker(store, runtime.worker_config(settings), playbooks, secret)


def _app(url: str, settings: Settings, playbooks: PlaybookSet, host: str) -> FastAPI:
    """The API as configured; refuses (exit 2) to expose anonymous read beyond loopback,
    or to listen everywhere without the host names it serves. Its store has a client
    of its own that fails fast (``connect(fast=True)``): a request during an outage is
    answered 503 at once, while the flow and the worker wait for Redis. ``POST /mentions``
    appends to as many input streams as the flow reads: the count is pinned in Redis
    first, and the API refuses to start when they were set up with another."""
    from crisiswatch.api.app import create_app
    from crisiswatch.config.runtime import api_config

    problem = settings.security.exposure_error(host)
    if problem:
        err.print(f"[red]refusing to start the API:[/] {problem}")
        raise typer.Exit(2)
    store = runtime.store_at(settings, url, fast=True)
    try:
        store.inputs.pin(settings.ingest.partitions)
    except LayoutMismatch as e:
        err.print(f"[red]refusing to start the API:[/] {e}")
        raise typer.Exit(2) from None
    return create_app(store, api_config(settings, host, playbooks))


def _browser_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the dashboard: a wildcard bind address is
    not an address to open."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def _serve_in_background(app: FastAPI, host: str, port: int, log_format: str,
                         settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            log_config=uvicorn_log_config(log_format, "warning"),
                            timeout_graceful_shutdown=3, **settings.security.proxy_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            err.print(f"[red]the API could not start on {host}:{port}[/] (port in use? try --port)")
            raise typer.Exit(1)
        time.sleep(0.05)
    return server


@app.command()
def run(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="JSON-lines mention files; none = the built-in demo stream")] = None,
    config: ConfigOpt = None,
    speed: SpeedOpt = None,
    host: Annotated[str | None, typer.Option(help="API address (default from config: "
                                             "127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default from config: 8000)")]
    = None,
    serve: Annotated[bool, typer.Option(help="keep serving the API after the replay")] = True,
    log_format: LogFormatOpt = None,
    source: Annotated[str | None, typer.Option(
        help="read a live platform instead of files, until Ctrl-C: "
        f"{', '.join(CONNECTORS)} (configured under sources: in the settings)")] = None,
) -> None:
    """Replay a stream (or read a live one), detect, and serve the API and dashboard:
    all in one process."""
    settings = settings_or_exit(config)
    if source is not None:
        check_source(source, settings, err)
        if inputs:
            err.print("[red]give input files or --source[/] (one of the two)")
            raise typer.Exit(2)
    log_to = log_format or settings.observability.log_format
    host = host or settings.api.host
    port = settings.api.port if port is None else port
    with tempfile.TemporaryDirectory(prefix="crisiswatch-") as tmp:
        if not inputs and source is None:
            from crisiswatch.connectors import demo

            inputs = [Path(tmp) / "demo.jsonl"]
            n = demo.write(inputs[0])
            err.print(f"no input given: replaying the built-in demo stream ({n:,} records, "
                      "3 brands, 4 days, one outage)")
        check_inputs(inputs or [])
        with store_or_exit(settings, embedded_ok=True) as (store, url):
            playbooks, worker = _activation(settings, store)
            server = _serve_in_background(_app(url, settings, playbooks, host), host, port,
                                          log_to, settings)
            worker.start()  # a thread beside the API's: see worker/activation.py
            where = "embedded Redis" if not settings.redis_url else settings.redis_url
            err.print(f"API and dashboard on [bold]http://{host}:{port}/[/] "
                      f"(OpenAPI docs at /docs; store: {where}); "
                      f"{len(playbooks.playbooks)} playbook(s) active")
            if not settings.redis_url:
                # The embedded store dies with this command, and the key with it; shown to
                # whoever started it, like a notebook server's token, and never logged.
                token, _ = store.api_keys.create("run session", ["admin"])
                err.print(f"API key for this session (admin; send 'Authorization: Bearer "
                          f"<key>' to write): [bold]{token}[/]")
            err.print(f"\n  [bold reverse] Dashboard [/] [bold underline]{_browser_url(host, port)}"
                      "[/]  open it in a browser: it updates live (paste the API key into an "
                      "incident's 'API key' field to act from the page)\n")
            stop_on_signals()  # a stop ends the replay or the live run at its next batch
            try:
                if source is not None:
                    _summary(store, run_live(settings, store, url, source, err))
                    return
                _summary(store, _replay(settings, store, inputs, url, speed))
                if serve and not stop_requested():
                    err.print("replay done; serving until Ctrl-C")
                    while not stop_requested():
                        time.sleep(0.2)
            except KeyboardInterrupt:  # a second Ctrl-C
                pass
            finally:
                server.should_exit = True
                worker.stop(timeout=5)
            if stop_requested():
                err.print("stopped", soft_wrap=True)


@app.command()
def flow(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="JSON-lines mention files to replay (or --from-stream)")] = None,
    config: ConfigOpt = None,
    speed: SpeedOpt = None,
    from_stream: Annotated[bool, typer.Option(
        "--from-stream", help="read the Redis input streams that POST /mentions appends "
        "to, until stopped")] = False,
    drain: Annotated[bool, typer.Option(
        help="with --from-stream: stop once the streams are read to their end")] = False,
    processes: Annotated[int, typer.Option(
        min=1, help="run as a Bytewax cluster of this many local processes; the input is "
        "partitioned across them (files: split by brand)")] = 1,
    recovery_dir: Annotated[Path | None, typer.Option(
        help="snapshot the flow's state here (created if missing) and resume from it after "
        "a crash; keep it per process count and input")] = None,
    snapshot_interval: Annotated[int | None, typer.Option(
        min=1, help="seconds between snapshots (and acknowledgements of the input "
        "streams); default: ingest.snapshot_interval_s")] = None,
) -> None:
    """Run the detection flow against the Redis at REDIS_URL (production)."""
    from crisiswatch.cli.cluster import FlowSpec
    from crisiswatch.cli.flow import FlowFailed, run_flow

    settings = settings_or_exit(config)
    if from_stream == bool(inputs):
        err.print("[red]give input files or --from-stream[/] (one of the two)")
        raise typer.Exit(2)
    check_inputs(inputs or [])
    spec = FlowSpec(source="stream" if from_stream else "files",
                    files=tuple(str(p) for p in inputs or []), shards=processes, speed=speed,
                    drain=drain, config=str(config) if config else None)
    with store_or_exit(settings, embedded_ok=False) as (store, url):
        try:
            elapsed = run_flow(settings, store, url, spec, processes, recovery_dir,
                               snapshot_interval, err)
            if stop_requested():
                err.print(f"flow stopped: {store.stats()['read']:,} records read; " + (
                    f"state snapshotted in {recovery_dir}, the same command resumes"
                    if recovery_dir else "windows still open are not kept (--recovery-dir "
                    "keeps them for a restart)"), soft_wrap=True)
                return
            _summary(store, elapsed)
        except LayoutMismatch as e:
            err.print(f"[red]refusing to start:[/] {e}")
            raise typer.Exit(2) from None
        except FlowFailed as e:
            err.print(f"[red]{e}[/]")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            if from_stream and not drain:
                err.print("stopped")
                return
            err.print("stopped before the end of the input")
            raise typer.Exit(130) from None


@app.command()
def api(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="bind address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from config)")] = None,
    worker: Annotated[bool, typer.Option(
        help="also run the activation worker (playbooks, response clocks, webhooks) in "
        "this process; --no-worker when `crisiswatch worker` runs elsewhere")] = True,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve the API and dashboard over the Redis at REDIS_URL (production)."""
    settings = settings_or_exit(config)
    host = host or settings.api.host
    with store_or_exit(settings, embedded_ok=False) as (store, url):
        playbooks, activation = _activation(settings, store)
        app_ = _app(url, settings, playbooks, host)
        if worker:
            activation.start()
        config = uvicorn.Config(app_, host=host, port=settings.api.port if port is None else port,
                                log_config=uvicorn_log_config(
                                    log_format or settings.observability.log_format),
                                timeout_graceful_shutdown=5,
                                **settings.security.proxy_options())
        stop_on_signals()  # until uvicorn takes the signals over (see _Server)
        try:
            _Server(config).run()
        except KeyboardInterrupt:  # a second Ctrl-C
            pass
        finally:
            activation.stop(timeout=5)
        err.print("api stopped", soft_wrap=True)


class _Server(uvicorn.Server):
    """uvicorn that ends the live streams (GET /stream) first when told to stop: it waits
    for open responses, and those never end by themselves. A stop asked for (SIGTERM,
    Ctrl-C) is the end of its job: it returns, instead of raising the signal again once
    shut down as uvicorn does (which made a SIGTERM exit 130 through the CLI's handler)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        close_streams(self.config.app)
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            self.should_exit = self.should_exit or stop_requested()  # asked before
            try:
                yield
            finally:
                self._captured_signals.clear()


@app.command("worker")
def worker_(config: ConfigOpt = None, log_format: LogFormatOpt = None) -> None:
    """Run the activation worker against the Redis at REDIS_URL: playbooks on new
    incidents, response clocks, webhook delivery (production; `api` runs one too)."""
    from rich.logging import RichHandler

    settings = settings_or_exit(config)
    handler = (json_handler() if (log_format or settings.observability.log_format) == "json"
               else RichHandler(console=err, show_path=False))
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler])
    with store_or_exit(settings, embedded_ok=False) as (store, _):
        playbooks, activation = _activation(settings, store)
        stop_on_signals()  # a flag: a stop at any moment from here ends the loop below
        activation.start()
        err.print(f"activation worker: {len(playbooks.playbooks)} playbook(s) from "
                  f"{playbooks.source}; Ctrl-C stops")
        try:
            while not stop_requested():
                time.sleep(0.2)
        except KeyboardInterrupt:  # a second Ctrl-C
            pass
        finally:
            activation.stop()
        err.print("worker stopped: the requests in flight finished first", soft_wrap=True)


app.command("import")(import_)
app.command()(demo)
app.command("eval")(eval_)
app.command()(backtest)
app.command("train-sentiment")(train_sentiment)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.command("connect")(connect_command)
