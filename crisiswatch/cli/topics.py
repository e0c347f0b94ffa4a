"""The command line's side of topics: ``crisiswatch models build|fit-projection|show``
and the topics table the main job prints after a replay."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crisiswatch.models import embedders
from crisiswatch.models.files import save_projection
from crisiswatch.store import Store

models_app = typer.Typer(no_args_is_help=True, help="Embedding models for topic clustering.")
err = Console(stderr=True)

DirOpt = Annotated[Path | None, typer.Option(
    "--dir", help=f"cache directory (default: ${embedders.ENV_DIR} or "
    "$XDG_CACHE_HOME/crisiswatch)")]


@models_app.command("build")
def build(directory: DirOpt = None,
          dims: Annotated[int, typer.Option(min=8, max=384, help="dimensions kept by PCA")]
          = embedders.DEFAULT_DIMS,
          force: Annotated[bool, typer.Option(help="rebuild even if the table exists")]
          = False,
          ship: Annotated[bool, typer.Option(
              help=f"write the compact table that ships with the package ({embedders.SHIPPED})")]
          = False) -> None:
    """Distil MiniLM into the static embedding table (needs the minilm extra; 1-2 minutes
    on 2 cores). The package ships one: a rebuild in the cache is used instead of it."""
    path = embedders.SHIPPED if ship else embedders.static_path(directory, dims)
    if path.is_file() and not force:
        err.print(f"already built: {path} ({path.stat().st_size / 1e6:.1f} MB); --force "
                  "rebuilds it")
        return
    try:
        embedders.minilm_files()
    except embedders.ModelUnavailable as e:
        err.print(f"[red]cannot build:[/] {e}")
        raise typer.Exit(1) from None
    embedders.build_static(path, dims, err, compact=ship)


@models_app.command("fit-projection")
def fit_projection(
        texts: Annotated[Path, typer.Argument(
            exists=True, dir_okay=False, help="one text a line; in a tab-separated line "
            "(VADER's files: id, rating, text) the last field")],
        output: Annotated[Path, typer.Option("--output", "-o", help="where to write it")]
        = embedders.PROJECTION,
        directory: DirOpt = None) -> None:
    """Fit the static table's linear correction towards MiniLM on TEXTS (needs MiniLM
    and the built table). The shipped one: VADER's tweets_GroundTruth.txt."""
    lines = texts.read_text(encoding="utf-8", errors="replace").splitlines()
    corpus = [line.rsplit("\t", 1)[-1] for line in lines if line.strip()]
    try:
        matrix, meta = embedders.fit_static_projection(
            corpus, embedders.table_path(directory), console=err)
    except embedders.ModelUnavailable as e:
        err.print(f"[red]cannot fit:[/] {e}")
        raise typer.Exit(1) from None
    meta["corpus"] = texts.name
    save_projection(output, matrix, meta)
    agree = meta["agreement_held_out"]
    err.print(f"projection fitted on {meta['texts']:,} texts -> {output}; agreement with "
              f"MiniLM's pairwise similarities on a held-out fifth: {agree['without']:.3f} "
              f"without, {agree['with']:.3f} with it")


@models_app.command("show")
def show(directory: DirOpt = None) -> None:
    """Where the models are, how big, and how they were made."""
    path = embedders.table_path(directory)
    where = "shipped" if path == embedders.SHIPPED else "rebuilt"
    meta = embedders.load_static(path).meta
    err.print(f"static ({where}): {path} ({path.stat().st_size / 1e6:.1f} MB): "
              + ", ".join(f"{k}={v}" for k, v in meta.items()))
    try:
        files = embedders.minilm_files()
        size = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
        err.print(f"minilm: {files} ({size / 1e6:.1f} MB)")
    except embedders.ModelUnavailable as e:
        err.print(f"minilm: {e}")


def print_topics(store: Store, console: Console, per_brand: int = 5) -> None:
    """The fastest-growing topics of each brand, after a replay."""
    rows = [(brand, t) for brand in store.brands() for t in store.topics(brand, limit=per_brand)]
    if not rows:
        return
    table = Table(title=f"top topics (up to {per_brand} a brand; GET /brands/{{brand}}/topics)")
    for col in ("brand", "size", "growth", "neg", "terms", "example"):
        table.add_column(col, overflow="fold")
    for brand, t in rows:
        example = t["examples"][0]["text"] if t["examples"] else ""
        table.add_row(brand, str(t["size"]), f"{t['growth']:.1f}x",
                      f"{t['negative_share']:.0%}", ", ".join(w for w, _ in t["terms"][:5]),
                      example[:80])
    console.print(table)
