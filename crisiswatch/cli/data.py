"""The CLI's data commands: ``import`` (exports to mention JSON lines), ``demo`` (the
built-in stream), ``eval`` (the detectors on labelled data) and ``backtest`` (one history
under two configurations)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from crisiswatch.cli.common import ConfigOpt, check_inputs, err, settings_or_exit
from crisiswatch.config import runtime


def import_(
    kind: Annotated[str, typer.Argument(
        help="export format: airline (Tweets.csv), x-v2 (X API v2 JSON: data + "
        "includes.users), csv or ndjson (with --map)")],
    path: Annotated[Path, typer.Argument(help="the export file")],
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="write here instead of stdout")] = None,
    map_: Annotated[str | None, typer.Option(
        "--map", help="csv/ndjson: mention field=column, comma-separated, e.g. "
        "'brand=Topic,text=Content,ts=Date,author.handle=Author' (ndjson: a column may be a "
        "dotted path). Without brand=, the settings' brand queries must match the texts, "
        "or the flow dead-letters the rows 'no brand'")] = None,
    tz: Annotated[str | None, typer.Option(
        help="the zone of times written without one, e.g. Europe/Paris")] = None,
    ts_format: Annotated[str | None, typer.Option(
        help="strptime format of times that are not ISO-8601, e.g. '%d/%m/%Y %H:%M'")] = None,
    platform: Annotated[str | None, typer.Option(help="platform of every record")] = None,
) -> None:
    """Convert an export to mention JSON lines, in event-time order."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from crisiswatch.connectors.importers import KINDS, import_rows, sorted_by_time
    from crisiswatch.connectors.table_import import Mapping, parse_map

    if kind not in KINDS:
        err.print(f"[red]unknown import format {kind!r};[/] known: {', '.join(KINDS)}")
        raise typer.Exit(2)
    if not path.is_file():
        err.print(f"[red]no such file:[/] {path}")
        raise typer.Exit(2)
    try:
        zone = ZoneInfo(tz) if tz else None
        mapping = (Mapping(parse_map(map_ or ""), zone, ts_format,
                           {"platform": platform} if platform else {})
                   if map_ or kind in ("csv", "ndjson") else None)
        records = sorted_by_time(import_rows(kind, path, mapping))
    except (ValueError, ZoneInfoNotFoundError) as e:
        err.print(f"[red]cannot import {path}:[/] {e}")
        raise typer.Exit(2) from None
    out = output.open("wb") if output else sys.stdout.buffer
    try:
        for rec in records:
            out.write((rec if isinstance(rec, bytes) else orjson.dumps(rec)) + b"\n")
    finally:
        if output:
            out.close()
    err.print(f"{len(records):,} records from {path}")
    if mapping is not None and "brand" not in mapping.columns:
        err.print("no brand column mapped: the flow assigns a brand by the brand queries of "
                  "the settings (brands:), and dead-letters 'no brand' what none of them "
                  "matches; --map brand=COLUMN if the export has one", soft_wrap=True)


def demo(output: Annotated[Path, typer.Option("--output", "-o")] = Path("demo.jsonl"),
         seed: int = 7) -> None:
    """Write the built-in demo stream to a file."""
    from crisiswatch.connectors import demo as demo_stream

    err.print(f"{demo_stream.write(output, seed):,} records written to {output}")


SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def eval_(
    files: Annotated[list[Path] | None, typer.Argument(
        help="with --staffing: the streams to replay (JSON lines, or an airline Tweets.csv)")]
    = None,
    staffing: Annotated[bool, typer.Option(
        help="the staffing advice's spike forecast against what followed each incident, "
        "on FILE... (default: --airline)")] = False,
    nab: Annotated[Path | None, typer.Option(
        help="a directory in NAB's layout (data/, labels/combined_windows.json, "
        "config/profiles.json or profiles.json): NAB scores of the volume detector")] = None,
    results: Annotated[Path | None, typer.Option(
        help="with --nab: also write NAB's result files here")] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="with --nab: a row per series too")] = False,
    sentiment: Annotated[bool, typer.Option(
        help="brand-held-out sentiment evaluation on the airline labels")] = False,
    topics: Annotated[bool, typer.Option(
        help="topics against labelled texts (default: the airline complaints' reasons; "
        "another CSV with --labels): AMI with every text outside a topic in one 'no "
        "topic' cluster, coverage, topics per brand per week, beside k-means")] = False,
    airline: Annotated[Path, typer.Option(help="Tweets.csv of the airline sample")] =
    SHARED_DATA / "airline" / "Tweets.csv",
    vader: Annotated[Path, typer.Option(help="VADER's rated tweets (tweets_GroundTruth.txt)")]
    = SHARED_DATA / "vader" / "tweets_GroundTruth.txt",
    stream: Annotated[Path | None, typer.Option(
        help="labelled stream to backtest (JSON lines, or an airline Tweets.csv); default: "
        "--airline")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="labels CSV: brand,start,end,kind,expect (alert|maybe|benign|no_alert); "
        "default: the airline sample's events.csv for the airline stream, none for "
        "another --stream (its incidents and their support are printed to be read). With "
        "--topics: the labelled texts, any CSV with a text and a label column "
        "(default: --airline)")] = None,
    text_col: Annotated[str, typer.Option(help="with --topics: the text column")] = "text",
    label_col: Annotated[str, typer.Option(help="with --topics: the label column; rows "
                                            "without one are left out")] = "negativereason",
    brand_col: Annotated[str, typer.Option(help="with --topics: the brand column (absent: "
                                            "one brand)")] = "airline",
    time_col: Annotated[str, typer.Option(help="with --topics: the time column, ISO-8601 "
                                           "with a zone or epoch seconds (absent: file "
                                           "order)")] = "tweet_created",
    skip_label: Annotated[list[str] | None, typer.Option(
        help="with --topics: a label to leave out (repeatable; default: \"Can't Tell\")")]
    = None,
    minilm_limit: Annotated[int | None, typer.Option(
        help="with --topics: at most this many texts (the earliest) for the MiniLM backend, "
        "which embeds ~90 texts/s on two CPU cores; 0 skips it")] = None,
    config: ConfigOpt = None,
) -> None:
    """Evaluate the detectors on labelled data and print the tables.

    ``--staffing FILE...``: replay each stream as ``run`` does and score the forecast of
    excess mentions behind the staffing advice against the zero and persistence forecasts.

    With no option: backtest the airline stream against its labelled events (caught or
    not, how fast, false alerts per brand per day, NAB-style score)."""
    ran = False
    if nab is not None:
        from crisiswatch.evaluation import nab as nab_eval

        try:
            volume = functools.partial(runtime.volume_config, settings_or_exit(config))
            nab_eval.run(nab, results, err, volume, verbose)
        except nab_eval.NabLayoutError as e:
            err.print(f"[red]cannot evaluate on {nab}:[/] {e}")
            raise typer.Exit(2) from None
        ran = True
    if sentiment:
        from crisiswatch.evaluation import sentiment as sentiment_eval

        sentiment_eval.run(airline, vader, err)
        ran = True
    if topics:
        from crisiswatch.evaluation import topics as topics_eval
        from crisiswatch.evaluation.labelled_texts import LabelledFile

        if stream is not None and labels is not None:
            err.print("[red]--labels is ambiguous with both --topics and --stream:[/] "
                      "run them one at a time")
            raise typer.Exit(2)
        spec = LabelledFile(labels or airline, text_col, label_col, brand_col, time_col,
                            skip=tuple(skip_label) if skip_label is not None
                            else LabelledFile.skip)
        if not topics_eval.run(spec, err, settings_or_exit(config), minilm_limit):
            raise typer.Exit(2)
        ran = True
    if staffing:
        from crisiswatch.evaluation import staffing as staffing_eval

        paths = files or [airline]
        check_inputs(paths)
        staffing_eval.run(paths, settings_or_exit(config), config, err)
        ran = True
    elif files:
        err.print("[red]files are read only with --staffing[/]")
        raise typer.Exit(2)
    if stream is not None or not ran:
        from crisiswatch.evaluation import events as events_eval

        source = stream or airline
        if labels is None and stream is None:
            labels = SHARED_DATA / "airline" / "events.csv"
        for path in (source, *([labels] if labels else [])):
            if not path.is_file():
                err.print(f"[red]no such file:[/] {path}")
                raise typer.Exit(2)
        events_eval.run(source, labels, err, settings_or_exit(config), config)


def backtest(
    history: Annotated[Path, typer.Argument(
        help="the history to replay: JSON-lines mentions, or an airline Tweets.csv")],
    against: Annotated[Path | None, typer.Option(
        help="the configuration in use now (YAML), to compare -c against (default: the "
        "same as -c, to see what --feedback changes)")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="the new configuration (default: configs/default.yaml)")]
    = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="print the comparison as JSON on stdout instead of the table")]
    = False,
    feedback: Annotated[Path | None, typer.Option(
        help="a team's verdicts on incidents, as GET /feedback answers them (JSON): the "
        "new run replays with them, so patterns marked noise are no longer paged")] = None,
) -> None:
    """Replay one history under two configurations and list the incidents that appear,
    vanish or change severity with the new one: tune before switching a change on."""
    from crisiswatch.evaluation import backtest as backtest_eval

    check_inputs([history, *([feedback] if feedback else [])])
    if against is None and feedback is None:
        err.print("[red]nothing to compare:[/] give --against (another configuration), "
                  "--feedback (a team's verdicts), or both")
        raise typer.Exit(2)
    said = _feedback(feedback) if feedback else []
    new, old = settings_or_exit(config), settings_or_exit(against or config)
    report = backtest_eval.run(history, new, old, config, against or config, err, said)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        backtest_eval.print_report(report, err)


def _feedback(path: Path) -> list[dict]:
    """The verdicts in ``path`` (a JSON list, as ``GET /feedback`` answers), or exit."""
    try:
        said = orjson.loads(path.read_bytes())
        if not isinstance(said, list) or not all(
                isinstance(e, dict) and {"incident", "brand", "verdict"} <= e.keys()
                for e in said):
            raise ValueError("expected a JSON list of verdicts with incident, brand, verdict")
    except (orjson.JSONDecodeError, ValueError) as e:
        err.print(f"[red]cannot read the feedback in {path}:[/] {e}")
        raise typer.Exit(2) from None
    return said
