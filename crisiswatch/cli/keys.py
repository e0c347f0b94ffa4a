"""``crisiswatch keys create|list|revoke``: API keys in the Redis at REDIS_URL.

A token is printed once, at creation; Redis keeps only its SHA-256 (``ApiKeys``), so a
lost token is revoked and replaced, never recovered. ``--brand`` limits what a key may
push through ``POST /mentions`` to those brands (a partner's collector); it limits
nothing else, so it is refused on a key that cannot ingest.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crisiswatch.api.security import SCOPES
from crisiswatch.cli.common import ConfigOpt, err, settings_or_exit, store_or_exit
from crisiswatch.store import Store

keys_app = typer.Typer(no_args_is_help=True, help="API keys: who may read, ingest, operate.")


NO_REDIS = ("[red]REDIS_URL is not set.[/] Keys live in the Redis the API reads "
            "(REDIS_URL=redis://host:6379/0); `crisiswatch run` prints a key of its own for "
            "its embedded store.")


@contextlib.contextmanager
def _store(config: Path | None) -> Iterator[Store]:
    with store_or_exit(settings_or_exit(config), False, NO_REDIS) as (store, _):
        yield store


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what holds the key (shown in lists)")],
    scope: Annotated[list[str], typer.Option(
        help=f"repeat for several: {', '.join(SCOPES)} (admin = all)")],
    rate: Annotated[float | None, typer.Option(
        help="requests per second for this key (default: security.rate_limit)", min=0.001)]
    = None,
    burst: Annotated[float | None, typer.Option(
        help="burst for this key (default: security.rate_limit)", min=1)] = None,
    brand: Annotated[list[str] | None, typer.Option(
        help="repeat for several: the only brands this key may push to POST /mentions "
        "(default: any)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a key and print its token, once (to stdout; the rest goes to stderr)."""
    unknown = sorted(set(scope) - set(SCOPES))
    if unknown:
        err.print(f"[red]unknown scope {', '.join(unknown)};[/] known: {', '.join(SCOPES)}")
        raise typer.Exit(2)
    brands = [b.strip() for b in brand or ()]
    if "" in brands:
        err.print("[red]--brand is empty:[/] name a brand as the mentions' 'brand' field does")
        raise typer.Exit(2)
    if brands and not {"ingest", "admin"} & set(scope):
        err.print("[red]--brand limits what a key may ingest[/] (POST /mentions) and "
                  "nothing else: add --scope ingest, or leave --brand out")
        raise typer.Exit(2)
    with _store(config) as store:
        token, key = store.api_keys.create(name, scope, rate, burst, brands)
    limit = f"; ingests only {', '.join(key['brands'])}" if key["brands"] else ""
    err.print(f"key [bold]{key['id']}[/] ({name}: {', '.join(key['scopes'])}{limit}); the "
              "token below is shown this once. Clients send: Authorization: Bearer <token>")
    sys.stdout.write(token + "\n")


@keys_app.command("list")
def list_(config: ConfigOpt = None) -> None:
    """The keys, oldest first (ids and names; tokens are not stored)."""
    with _store(config) as store:
        keys = store.api_keys.list()
    table = Table(title=f"{len(keys)} API key(s)")
    for col in ("id", "name", "scopes", "brands", "rate/s", "created"):
        table.add_column(col)
    for k in keys:
        created = datetime.fromtimestamp(k["created"], UTC).isoformat(timespec="seconds")
        brands = k.get("brands")  # absent from keys made before it existed: any brand
        table.add_row(k["id"], k["name"], ", ".join(k["scopes"]),
                      "any" if brands is None else ", ".join(brands),
                      "default" if k["rate_per_second"] is None else f"{k['rate_per_second']:g}",
                      created)
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="the id `keys list` shows")],
           config: ConfigOpt = None) -> None:
    """Revoke a key: its next request gets 401."""
    with _store(config) as store:
        key = store.api_keys.revoke(key_id)
    if key is None:
        err.print(f"[red]no key with id {key_id!r}[/] (crisiswatch keys list)")
        raise typer.Exit(1)
    err.print(f"revoked {key['id']} ({key['name']})")
