"""Live sources: ``crisiswatch run --source NAME`` and ``crisiswatch connect NAME``, a
connector alone (production: beside ``crisiswatch flow --from-stream``, which reads what
it queues). What each source reads is wired from the settings in
``crisiswatch.config.runtime`` (``connectors``, ``live_runners``).

A connector writes into the Redis input streams, the same path as ``POST /mentions``
(see ``connectors/live.py`` for why): ``crisiswatch run --source NAME`` runs it as a thread
beside the flow, which reads those streams until stopped.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crisiswatch.config import runtime
from crisiswatch.config.runtime import CONNECTORS
from crisiswatch.config.settings import Settings
from crisiswatch.connectors.live import LiveRunner
from crisiswatch.flows.stopping import stop_on_signals, stop_requested
from crisiswatch.store import Store


def check_source(name: str, settings: Settings, console: Console) -> None:
    """Refuse (exit 2) an unknown source or one configured to read nothing; warn of a
    missing credential."""
    if name not in CONNECTORS:
        console.print(f"[red]unknown source {name!r};[/] known: {', '.join(CONNECTORS)}")
        raise typer.Exit(2)
    if not runtime.connectors(settings, name):
        console.print(f"[red]sources.{name} reads nothing:[/] see its section in the README "
                      "(mastodon: instances, and hashtags in the brand queries or public: "
                      "true; x: brand queries to build rules from; reddit: subreddits)")
        raise typer.Exit(2)
    if name == "mastodon":
        for i in settings.sources.mastodon.instances:
            if not os.environ.get(i.token_env):
                console.print(f"[yellow]{i.token_env} is not set:[/] {i.url} streams need a "
                              "user token (read:statuses) since Mastodon 4.2")
    reddit = settings.sources.reddit
    if name == "reddit" and not (os.environ.get(reddit.client_id_env)
                                 and os.environ.get(reddit.client_secret_env)):
        console.print(f"[yellow]{reddit.client_id_env} / {reddit.client_secret_env} are not "
                      "set:[/] Reddit's OAuth API needs an app's client id and secret")
    if name == "x" and not os.environ.get(settings.sources.x.token_env):
        console.print(f"[yellow]{settings.sources.x.token_env} is not set:[/] the X API "
                      "answers 401 without the app's bearer token")


def print_counts(store: Store, name: str, console: Console) -> None:
    """One line of what the connector read and what became of it."""
    c = store.connectors.counts(name)
    ignored = ", ".join(f"{k.split('.', 1)[1]} {v:,}" for k, v in sorted(c.items())
                        if k.startswith("ignored."))
    console.print(f"{name}: {c.get('frames', 0):,} frames: {c.get('queued', 0):,} queued, "
                  f"{c.get('unmatched', 0):,} unmatched, {c.get('ignored', 0):,} ignored"
                  f"{f' ({ignored})' if ignored else ''}, {c.get('refused', 0):,} refused; "
                  f"{c.get('reconnects', 0):,} reconnect(s), {c.get('rate_limited', 0):,} "
                  f"rate-limited; cursor {store.connectors.cursor(name)}")


SNAPSHOT_SECONDS = 10  # as `crisiswatch flow`: input acknowledged (and trimmed) this often


def run_live(settings: Settings, store: Store, url: str, name: str, console: Console
             ) -> float:
    """The connector as a thread and the flow over the input streams of ``store`` (at
    ``url``) in this thread, until Ctrl-C (or SIGTERM); returns the seconds it ran."""
    import tempfile
    from datetime import timedelta

    from bytewax.testing import run_main

    from crisiswatch.cli.flow import prepare_recovery
    from crisiswatch.config.topics import topics_embedder
    from crisiswatch.flows.gc_tuning import tune_gc
    from crisiswatch.flows.redis_source import RedisStreamSource

    live = runtime.live_runners(settings, store, name)
    embedder = topics_embedder(settings.topics, console)
    source = RedisStreamSource(url, settings.store.prefix, store.inputs.partitions(),
                               settings.ingest.batch_records)
    store.set_status(state="running", source=name,
                     started=datetime.now(UTC).isoformat(timespec="seconds"))
    console.print(f"{name}: live ({', '.join(r.name for r in live)}), reading until Ctrl-C")
    started = time.perf_counter()
    for r in live:
        r.start()
    tune_gc()
    try:
        # Snapshots (into a directory that lives as long as the command) are what lets
        # the flow acknowledge and trim the input streams: without them a live run would
        # keep every mention it ever read in Redis.
        with tempfile.TemporaryDirectory(prefix="crisiswatch-live-") as recovery:
            run_main(runtime.build_flow(settings, source, url, embedder=embedder),
                     epoch_interval=timedelta(seconds=SNAPSHOT_SECONDS),
                     recovery_config=prepare_recovery(Path(recovery), 1, console))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        _stop(live, console)
    return time.perf_counter() - started


def _stop(live: list[LiveRunner], console: Console) -> None:
    for r in live:
        r.stop_event.set()
    for r in live:
        r.stop()
        print_counts(r.store, r.name, console)


def connect_command(
    source: Annotated[str, typer.Argument(help="the platform: " + ", ".join(CONNECTORS))],
    config: Annotated[Path | None, typer.Option("--config", "-c", envvar="CRISISWATCH_CONFIG",
                                                help="YAML settings file")] = None,
) -> None:
    """Run a live connector against the Redis at REDIS_URL until stopped: it appends
    what it reads to the input streams that `crisiswatch flow --from-stream` reads."""
    from crisiswatch.cli.common import err, settings_or_exit, store_or_exit

    settings = settings_or_exit(config)
    check_source(source, settings, err)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with store_or_exit(settings, embedded_ok=False) as (store, _):
        stop_on_signals()  # a flag: a stop at any moment from here ends the loop below
        live = [r.start() for r in runtime.live_runners(settings, store, source)]
        err.print(f"{', '.join(r.name for r in live)}: reading into "
                  f"{live[0].store.inputs.key(0)}…; Ctrl-C stops")
        try:
            while not stop_requested() and any(r.thread is not None and r.thread.is_alive()
                                               for r in live):
                time.sleep(0.2)
        except KeyboardInterrupt:  # a second Ctrl-C
            pass
        finally:
            _stop(live, err)
        err.print(f"{source} connector stopped; its cursor is kept for the next start",
                  soft_wrap=True)
