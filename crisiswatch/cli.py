"""The ``crisiswatch`` command: the composition root that wires settings, store, flow
and API together.

``run`` is the demo and the single-machine mode: an embedded Redis (unless REDIS_URL is
set), the replay flow and the API in one process. ``flow`` and ``api`` run the halves
separately against a Redis server, for production.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvicorn
from bytewax.testing import run_main
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from crisiswatch.embedded import EmbeddedRedis
from crisiswatch.settings import ConfigError, Settings, load_settings
from crisiswatch.store import Store, connect

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Detect brand crises in social media mention streams.")
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML settings file "
                                                "(default: configs/default.yaml)")]
SpeedOpt = Annotated[float | None, typer.Option(
    help="pace the replay at this many event seconds per wall second (default: as fast as "
    "possible)", min=0.001)]


@app.callback()
def _main() -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C: the embedded Redis and the temporary
    files go away with the command."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as e:
        err.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _redis(settings: Settings, embedded_ok: bool) -> Iterator[str]:
    """REDIS_URL if set; otherwise an embedded server that lives as long as the command."""
    if settings.redis_url:
        try:
            connect(settings.redis_url).ping()
        except Exception as e:
            err.print(f"[red]cannot reach Redis at {settings.redis_url}:[/] {e}")
            raise typer.Exit(1) from None
        yield settings.redis_url
        return
    if not embedded_ok:
        err.print("[red]REDIS_URL is not set.[/] `crisiswatch flow` and `crisiswatch api` run "
                  "against a Redis server (REDIS_URL=redis://host:6379/0); `crisiswatch run` "
                  "starts an embedded one.")
        raise typer.Exit(2)
    server = EmbeddedRedis()
    try:
        server.start()
        yield server.url
    finally:
        server.close()


def _check_inputs(paths: list[Path]) -> None:
    for p in paths:
        if not p.is_file():
            err.print(f"[red]no such input file:[/] {p}")
            raise typer.Exit(2)


def _replay(settings: Settings, paths: list[Path], url: str, speed: float | None,
            quiet: bool = False) -> float:
    """Run the flow over the files to the end, with a progress bar; returns seconds."""
    from flows.dataflow import build_flow
    from flows.sources import ReplaySource

    store = Store(connect(url), settings.store.prefix, settings.store.records_kept)
    total = sum(p.stat().st_size for p in paths)
    progress = Progress(TextColumn("replay"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err,
                        disable=quiet or (not err.is_terminal and not sys.stderr.isatty()))
    task = progress.add_task("replay", total=total)
    source = ReplaySource(paths, speed=speed,
                          progress=lambda _path, n: progress.advance(task, n))
    store.set_status(state="running", source=",".join(str(p) for p in paths),
                     started=datetime.now(UTC).isoformat(timespec="seconds"))
    started = time.perf_counter()
    with progress:
        run_main(build_flow(settings, source, url))
    elapsed = time.perf_counter() - started
    store.set_status(state="finished", finished=datetime.now(UTC).isoformat(timespec="seconds"))
    return elapsed


def _summary(store: Store, elapsed: float) -> None:
    s = store.stats()
    err.print(f"[bold]{s['read']:,}[/] records in {elapsed:.1f}s "
              f"({s['read'] / max(elapsed, 1e-9):,.0f}/s): {s['processed']:,} processed, "
              f"{s['duplicate']:,} duplicate, {s['late']:,} late, "
              f"{s['dead_lettered']:,} dead-lettered")
    alerts = store.alerts(limit=50)
    if not alerts:
        err.print("no incidents")
        return
    table = Table(title=f"{len(alerts)} incident(s)", show_lines=False)
    for col in ("severity", "brand", "state", "summary"):
        table.add_column(col)
    for a in alerts:
        table.add_row(a["severity"], a["brand"], a["state"], a["explanation"]["summary"])
    err.print(table)


def _serve_in_background(store: Store, host: str, port: int) -> uvicorn.Server:
    from api.app import create_app

    config = uvicorn.Config(create_app(store), host=host, port=port, log_level="warning")
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
) -> None:
    """Replay a stream, detect, and serve the API and dashboard: all in one process."""
    settings = _settings(config)
    host = host or settings.api.host
    port = settings.api.port if port is None else port
    with tempfile.TemporaryDirectory(prefix="crisiswatch-") as tmp:
        if not inputs:
            from flows import demo

            inputs = [Path(tmp) / "demo.jsonl"]
            n = demo.write(inputs[0])
            err.print(f"no input given: replaying the built-in demo stream ({n:,} records, "
                      "3 brands, 4 days, one outage)")
        _check_inputs(inputs)
        with _redis(settings, embedded_ok=True) as url:
            store = Store(connect(url), settings.store.prefix, settings.store.records_kept)
            server = _serve_in_background(store, host, port)
            where = "embedded Redis" if not settings.redis_url else settings.redis_url
            err.print(f"API and dashboard on [bold]http://{host}:{port}/[/] "
                      f"(OpenAPI docs at /docs; store: {where})")
            try:
                _summary(store, _replay(settings, inputs, url, speed))
                if serve:
                    err.print("replay done; serving until Ctrl-C")
                    while True:
                        time.sleep(1)
            except KeyboardInterrupt:
                err.print("stopping")
            finally:
                server.should_exit = True


@app.command()
def flow(
    inputs: Annotated[list[Path], typer.Argument(help="JSON-lines mention files")],
    config: ConfigOpt = None,
    speed: SpeedOpt = None,
) -> None:
    """Run the detection flow against the Redis at REDIS_URL (production)."""
    settings = _settings(config)
    _check_inputs(inputs)
    with _redis(settings, embedded_ok=False) as url:
        store = Store(connect(url), settings.store.prefix, settings.store.records_kept)
        try:
            _summary(store, _replay(settings, inputs, url, speed))
        except KeyboardInterrupt:
            err.print("stopped before the end of the input")
            raise typer.Exit(130) from None


@app.command()
def api(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="bind address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from config)")] = None,
) -> None:
    """Serve the API and dashboard over the Redis at REDIS_URL (production)."""
    from api.app import create_app

    settings = _settings(config)
    with _redis(settings, embedded_ok=False) as url:
        store = Store(connect(url), settings.store.prefix, settings.store.records_kept)
        uvicorn.run(create_app(store), host=host or settings.api.host,
                    port=settings.api.port if port is None else port)


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="export format: airline (Tweets.csv)")],
    path: Annotated[Path, typer.Argument(help="the export file")],
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="write here instead of stdout")] = None,
) -> None:
    """Convert an export to mention JSON lines, in event-time order."""
    from flows.importers import IMPORTERS, sorted_by_time

    if kind not in IMPORTERS:
        err.print(f"[red]unknown import format {kind!r};[/] known: {', '.join(IMPORTERS)}")
        raise typer.Exit(2)
    if not path.is_file():
        err.print(f"[red]no such file:[/] {path}")
        raise typer.Exit(2)
    records = sorted_by_time(IMPORTERS[kind](path))
    out = output.open("wb") if output else sys.stdout.buffer
    try:
        for rec in records:
            out.write(orjson.dumps(rec) + b"\n")
    finally:
        if output:
            out.close()
    err.print(f"{len(records):,} records from {path}")


@app.command()
def demo(output: Annotated[Path, typer.Option("--output", "-o")] = Path("demo.jsonl"),
         seed: int = 7) -> None:
    """Write the built-in demo stream to a file."""
    from flows import demo as demo_stream

    err.print(f"{demo_stream.write(output, seed):,} records written to {output}")


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@app.command("eval")
def eval_(
    nab: Annotated[Path | None, typer.Option(
        help="a directory in NAB's layout (data/, labels/combined_windows.json, "
        "profiles.json): NAB scores of the volume detector")] = None,
    results: Annotated[Path | None, typer.Option(
        help="with --nab: also write NAB's result files here")] = None,
    sentiment: Annotated[bool, typer.Option(
        help="brand-held-out sentiment evaluation on the airline labels")] = False,
    topics: Annotated[bool, typer.Option(
        help="topic clustering NMI/purity on the airline complaints")] = False,
    airline: Annotated[Path, typer.Option(help="Tweets.csv of the airline sample")] =
    SHARED_DATA / "airline" / "Tweets.csv",
    vader: Annotated[Path, typer.Option(help="VADER's rated tweets (tweets_GroundTruth.txt)")]
    = SHARED_DATA / "vader" / "tweets_GroundTruth.txt",
) -> None:
    """Evaluate the detectors on labelled data and print the tables."""
    ran = False
    if nab is not None:
        from crisiswatch.evaluation import nab as nab_eval

        nab_eval.run(nab, results, err)
        ran = True
    if sentiment:
        from crisiswatch.evaluation import sentiment as sentiment_eval

        sentiment_eval.run(airline, vader, err)
        ran = True
    if topics:
        from crisiswatch.evaluation import topics as topics_eval

        topics_eval.run(airline, err)
        ran = True
    if not ran:
        err.print("nothing to evaluate: give --nab DIR, --sentiment or --topics")
        raise typer.Exit(2)


if __name__ == "__main__":
    app()
