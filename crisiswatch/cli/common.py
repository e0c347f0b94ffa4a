"""What the CLI's command modules share: the error console, the common options, the
settings and the store every command starts from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crisiswatch.config.runtime import OpenedStore, open_store
from crisiswatch.config.settings import ConfigError, Settings, load_settings
from crisiswatch.store import StoreError

err = Console(stderr=True)

CONFIG_ENV = "CRISISWATCH_CONFIG"  # as the processes of a cluster read it (cluster.py)
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", envvar=CONFIG_ENV, help="YAML settings file (default: "
    "configs/default.yaml)")]
SpeedOpt = Annotated[float | None, typer.Option(
    help="pace the replay at this many event seconds per wall second (default: as fast as "
    "possible)", min=0.001)]


class LogFormat(StrEnum):
    text = "text"
    json = "json"


LogFormatOpt = Annotated[LogFormat | None, typer.Option(
    help="json: one JSON object a line (default: observability.log_format)")]


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as e:
        err.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from None


NO_REDIS = ("[red]REDIS_URL is not set.[/] `crisiswatch flow` and `crisiswatch api` run "
            "against a Redis server (REDIS_URL=redis://host:6379/0); `crisiswatch run` "
            "starts an embedded one.")


@contextlib.contextmanager
def store_or_exit(settings: Settings, embedded_ok: bool, no_redis: str = NO_REDIS
                  ) -> Iterator[OpenedStore]:
    """``open_store``: REDIS_URL's store, or (``embedded_ok``) an embedded server that
    lives as long as the command; a store that cannot be used ends the command with the
    reason (exit 2 without REDIS_URL, 1 when it cannot be reached)."""
    if not settings.redis_url and not embedded_ok:
        err.print(no_redis)
        raise typer.Exit(2)
    with contextlib.ExitStack() as stack:
        try:
            opened = stack.enter_context(open_store(settings))
        except (StoreError, ValueError) as e:
            err.print(f"[red]cannot reach Redis at {settings.redis_url}:[/] {e}")
            raise typer.Exit(1) from None
        yield opened


def check_inputs(paths: list[Path]) -> None:
    for p in paths:
        if not p.is_file():
            err.print(f"[red]no such input file:[/] {p}")
            raise typer.Exit(2)
