"""A synthetic mention stream of any size, for benchmarks: deterministic for a seed.

    python -m bench.synth --mentions 1000000 --brands 2000 --distinct-hashtags 100000 \
        --days 3 --seed 1 -o firehose.jsonl

Why synthetic: the airline sample is 14,640 records of six brands, far too small and too
narrow to say whether one process carries a firehose (~6,000 posts/s) of thousands of
brands, and it may not be shipped. What makes a stream expensive or memory-hungry is
reproduced here on purpose:

- **brands with skewed volumes** (Zipf): a few brands get most mentions, thousands get a
  trickle, so per-brand state and windows are mostly small and a few are large;
- **a daily cycle** over event time (quiet nights, busy afternoons, quieter weekends);
- **hashtags**: a Zipf head plus a long tail; every tag of the requested vocabulary
  appears at least once (when the stream has enough tag slots), so a run can really push
  ~1,000,000 distinct tags through the flow's bounded counters;
- **retweet cascades**: a few originals go viral; a retweet repeats its original's text
  behind ``RT @author:`` and names it in ``retweet_of`` (what caches exploit);
- **texts from templates with slot variation** (product, issue, city, numbers, people),
  so that nearly every original is a distinct text, as in real streams: a sentiment
  cache only helps with retweets;
- **injected incidents**: a brand's volume times 5-10 for ``incident_minutes`` with a
  new hashtag and negative texts that name outages and cancellations;
- what collectors do: event time non-decreasing overall with a small share a little out
  of order (within a minute), a few re-sent records (duplicate ids) and a few broken
  records.

Writing is one pass of Python over precomputed numpy draws and orjson: about 1M lines in
10-15 s on one core of the 2-core development machines.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.synth_text import (
    _CITIES,
    _DAYS,
    _FEELINGS,
    _INCIDENT_SUFFIXES,
    _MOOD_P,
    BASE_ID,
    RESENT_FROM,
    _Writer,
    brand_names,
    topical_tag,
)

__all__ = ["BASE_ID", "RESENT_FROM", "START", "Incident", "SynthConfig", "SynthSummary",
           "brand_names", "config_from", "generate", "main", "topical_tag"]

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, so weekends fall on days 5 and 6
@dataclass(frozen=True)
class SynthConfig:
    mentions: int = 100_000  # lines written, duplicates and broken records included
    brands: int = 1_000
    distinct_hashtags: int = 20_000  # topical vocabulary; brand and incident tags come on top
    days: float = 3.0
    seed: int = 1
    incidents: int = 3
    incident_minutes: float = 60.0
    incident_factor: tuple[float, float] = (5.0, 10.0)
    retweet_share: float = 0.25
    retweet_delay_s: float = 900.0  # mean delay after the original (<= 1/20 of the span)
    out_of_order_share: float = 0.005
    duplicate_share: float = 0.001
    bad_share: float = 0.0005
    brand_skew: float = 1.1  # Zipf exponent of brand volumes
    hashtag_skew: float = 1.05  # Zipf exponent of the topical tags' head
    start: float = START.timestamp()


@dataclass(frozen=True)
class Incident:
    brand: str
    start: float
    end: float
    factor: float
    hashtag: str
    mentions: int  # extra mentions injected (originals and their retweets)


@dataclass
class SynthSummary:
    lines: int
    mentions: int
    retweets: int
    duplicates: int
    bad: int
    out_of_order: int
    brands_present: int
    distinct_topical_tags: int
    distinct_brand_tags: int
    incidents: list[Incident] = field(default_factory=list)
    top_brand_share: float = 0.0
    top_1pct_brand_share: float = 0.0
    first_ts: float = 0.0
    last_ts: float = 0.0
    seconds: float = 0.0

    @property
    def distinct_hashtags(self) -> int:
        return self.distinct_topical_tags + self.distinct_brand_tags + len(self.incidents)

    def describe(self) -> str:
        span = max(self.last_ts - self.first_ts, 1e-9)
        lines = [
            f"{self.lines:,} lines in {self.seconds:.1f}s: {self.mentions:,} mentions "
            f"({self.retweets:,} retweets), {self.duplicates:,} re-sent, {self.bad:,} broken, "
            f"{self.out_of_order:,} out of order; "
            f"{f'{span / 3600:,.1f} h' if span >= 7200 else f'{span:,.0f} s'} of event time "
            f"({self.mentions / span:,.1f} mentions per event-second)",
            f"{self.brands_present:,} brands; the top brand has {self.top_brand_share:.1%} of "
            f"mentions, the top 1% of brands {self.top_1pct_brand_share:.1%}",
            f"{self.distinct_hashtags:,} distinct hashtags ({self.distinct_topical_tags:,} "
            f"topical, {self.distinct_brand_tags:,} brand tags, {len(self.incidents)} "
            "incident tags)",
        ]
        for inc in self.incidents:
            at = datetime.fromtimestamp(inc.start, UTC).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"incident: {inc.brand} from {at} UTC for "
                         f"{(inc.end - inc.start) / 60:.3g} min, x{inc.factor:.1f} "
                         f"(+{inc.mentions:,} mentions), #{inc.hashtag}")
        return "\n".join(lines)


def _zipf_p(n: int, s: float) -> np.ndarray:
    w = np.arange(1, n + 1, dtype=np.float64) ** -s
    return w / w.sum()


def _diurnal_bins(cfg: SynthConfig) -> tuple[np.ndarray, float]:
    """Probability of each time bin of the span, and the bin length in seconds."""
    span = cfg.days * 86400
    bin_s = 60.0 if span >= 6000 else span / 100
    n_bins = max(1, math.ceil(span / bin_s))
    t = cfg.start + (np.arange(n_bins) + 0.5) * bin_s
    hour = (t % 86400) / 3600
    weekday = ((t - START.timestamp()) // 86400).astype(np.int64) % 7
    density = (0.15 + 0.85 * np.exp(-((hour - 14) ** 2) / (2 * 4.0**2))) \
        * np.where(weekday >= 5, 0.8, 1.0)
    return density / density.sum(), bin_s


def _draw_times(rng: np.random.Generator, p_bins: np.ndarray, bin_s: float, n: int,
                start: float) -> np.ndarray:
    bins = rng.choice(len(p_bins), size=n, p=p_bins)
    return start + (bins + rng.random(n)) * bin_s


def _plan_incidents(rng: np.random.Generator, cfg: SynthConfig, names: list[tuple[str, str]],
                    share: np.ndarray, p_bins: np.ndarray, bin_s: float
                    ) -> list[tuple[int, float, float, float, float]]:
    """(brand, start, end, factor, base mass) of each incident: mid-to-large brands, after
    a warm-up (a day, or the first third of a short stream) so baselines exist; in a
    stream shorter than three incidents' length, incidents last a third of it."""
    span = cfg.days * 86400
    duration = min(cfg.incident_minutes * 60, span / 3)  # a short stream gets short ones
    warm = min(86400.0, span / 3)
    pool = min(len(names), max(20, 2 * cfg.incidents))
    ranks = rng.choice(pool, size=cfg.incidents, replace=cfg.incidents > pool)
    cum = np.concatenate([[0.0], np.cumsum(p_bins)])
    plans = []
    for b in ranks:
        t0 = float(rng.uniform(warm, span - duration))
        t0 -= t0 % min(60.0, bin_s)
        lo, hi = t0 / bin_s, (t0 + duration) / bin_s
        mass = float(np.interp(hi, np.arange(len(cum)), cum) - np.interp(lo, np.arange(len(cum)),
                                                                          cum))
        factor = float(rng.uniform(*cfg.incident_factor))
        plans.append((int(b), cfg.start + t0, cfg.start + t0 + duration, factor,
                      mass * float(share[b])))
    return plans


def generate(cfg: SynthConfig, path: Path, progress: bool = False) -> SynthSummary:
    """Write the stream to ``path`` as JSON lines; return what it holds."""
    started = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    n_dup = round(cfg.mentions * cfg.duplicate_share)
    n_bad = round(cfg.mentions * cfg.bad_share)
    n_mentions = cfg.mentions - n_dup - n_bad
    if n_mentions < 1 or cfg.brands < 1:
        raise ValueError("need at least one mention and one brand")

    names = brand_names(cfg.brands, cfg.seed)
    slugs = [n.lower().replace(" ", "") for n, _ in names]
    handles = ["@" + n.replace(" ", "") for n, _ in names]
    share = _zipf_p(cfg.brands, cfg.brand_skew)
    p_bins, bin_s = _diurnal_bins(cfg)

    # Incidents: extra = (factor - 1) x the brand's usual volume over the incident, so
    # n_base (1 + sum((factor - 1) x mass)) = n_mentions.
    plans = _plan_incidents(rng, cfg, names, share, p_bins, bin_s)
    lift = sum((f - 1) * m for _, _, _, f, m in plans)
    n_base = round(n_mentions / (1 + lift))
    extras = [round((f - 1) * m * n_base) for _, _, _, f, m in plans]
    n_base = n_mentions - sum(extras)
    n_base_rt = round(n_base * cfg.retweet_share)
    n_orig = n_base - n_base_rt

    # Originals of the ordinary stream.
    brand = rng.choice(cfg.brands, size=n_orig, p=share)
    ts = _draw_times(rng, p_bins, bin_s, n_orig, cfg.start)
    mood = rng.choice(3, size=n_orig, p=_MOOD_P)  # 0 negative, 1 neutral, 2 positive
    kind = np.zeros(n_orig, dtype=np.int8)  # 0 original, 1 incident original, 2 retweet
    incident_of = np.full(n_orig, -1, dtype=np.int64)
    parent = np.full(n_orig, -1, dtype=np.int64)

    # Incident originals (60 %) and retweets of them (40 %) inside the incident.
    inc_parts = []
    incidents: list[Incident] = []
    for k, ((b, t0, t1, factor, _), extra) in enumerate(zip(plans, extras, strict=True)):
        n_o = max(1, round(extra * 0.6)) if extra else 0
        n_r = extra - n_o
        offset = n_orig + sum(len(p[0]) for p in inc_parts)
        o_ts = rng.uniform(t0, t1, n_o)
        par = offset + rng.integers(0, max(n_o, 1), n_r)
        r_ts = np.minimum(o_ts[par - offset] + rng.exponential((t1 - t0) / 30, n_r), t1)
        inc_parts.append((np.concatenate([o_ts, r_ts]),
                          np.concatenate([np.ones(n_o, np.int8), np.full(n_r, 2, np.int8)]),
                          np.concatenate([np.full(n_o, -1), par]), b, k))
        tag = f"{slugs[b]}{_INCIDENT_SUFFIXES[k % 4]}{k // 4 or ''}"
        incidents.append(Incident(names[b][0], t0, t1, factor, tag, extra))
    for i_ts, i_kind, i_parent, b, k in inc_parts:
        n = len(i_ts)
        brand = np.concatenate([brand, np.full(n, b)])
        ts = np.concatenate([ts, i_ts])
        mood = np.concatenate([mood, np.zeros(n, np.int64)])
        kind = np.concatenate([kind, i_kind])
        incident_of = np.concatenate([incident_of, np.full(n, k)])
        parent = np.concatenate([parent, i_parent])

    # Ordinary retweet cascades: a heavy-tailed virality picks the originals.
    virality = rng.pareto(1.2, n_orig) + 0.05
    par = rng.choice(n_orig, size=n_base_rt, p=virality / virality.sum())
    brand = np.concatenate([brand, brand[par]])
    delay_s = min(cfg.retweet_delay_s, cfg.days * 86400 / 20)  # a short stream: quicker
    rt_ts = ts[par] + rng.exponential(delay_s, n_base_rt)
    end = cfg.start + cfg.days * 86400  # the capture ends: a cascade is cut there
    over = rt_ts > end
    rt_ts[over] = ts[par][over] + rng.random(int(over.sum())) * (end - ts[par][over])
    ts = np.concatenate([ts, rt_ts])
    mood = np.concatenate([mood, mood[par]])
    kind = np.concatenate([kind, np.full(n_base_rt, 2, np.int8)])
    incident_of = np.concatenate([incident_of, np.full(n_base_rt, -1)])
    parent = np.concatenate([parent, par])
    n_all = len(ts)

    # Event-time order decides ids (they grow with time, like tweet ids).
    order = np.argsort(ts, kind="stable")
    position = np.empty(n_all, dtype=np.int64)
    position[order] = np.arange(n_all)

    # Authors: skewed activity; followers log-normal (a few with 100k+).
    n_authors = max(1000, n_all // 4)
    author = (n_authors * rng.random(n_all) ** 2).astype(np.int64)
    followers = np.minimum(rng.lognormal(5.5, 2.0, n_authors), 5e7).astype(np.int64)

    # Hashtags of ordinary originals: Poisson counts, Zipf over the vocabulary, and each
    # tag placed once in a random slot so the whole vocabulary really appears.
    n_topical = cfg.distinct_hashtags
    is_plain = kind == 0
    lam = max(0.9, 1.25 * n_topical / max(1, n_orig))
    counts = np.where(is_plain, np.minimum(rng.poisson(lam, n_all), 12), 0)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    n_slots = int(ptr[-1])
    tag_ids = rng.choice(n_topical, size=n_slots, p=_zipf_p(n_topical, cfg.hashtag_skew)) \
        if n_slots and n_topical else np.zeros(0, dtype=np.int64)
    covered = min(n_slots, n_topical)
    tag_ids[rng.choice(n_slots, size=covered, replace=False)] = rng.permutation(n_topical)[:covered]
    brand_tagged = rng.random(n_all) < np.where(kind == 1, 0.3, 0.15)
    in_field = rng.random(n_all) < 0.5  # half carry a `hashtags` field, half only the text

    # Template slots.
    tpl = rng.integers(0, 1 << 30, n_all)
    slot_p = rng.integers(0, 1 << 30, n_all)
    slot_i = rng.integers(0, 1 << 30, n_all)
    slot_c = rng.integers(0, len(_CITIES), n_all)
    slot_n = rng.integers(2, 100, n_all)
    slot_d = rng.integers(0, len(_DAYS), n_all)
    slot_f = rng.integers(0, len(_FEELINGS), n_all)
    slot_u = rng.integers(0, n_authors, n_all)

    # Collector behaviour: out-of-order jitter, re-sent and broken records.
    late_s = min(60.0, cfg.days * 86400 / 20)  # "within a minute", less in a short stream
    jitter = np.where(rng.random(n_all) < cfg.out_of_order_share,
                      rng.uniform(0, late_s, n_all), 0.0)
    emitted_ts = ts[order] - jitter
    ts_text = np.datetime_as_string((emitted_ts * 1000).astype("datetime64[ms]"), unit="ms",
                                    timezone="UTC").tolist()
    extra_after = np.zeros(n_all, dtype=np.int8)  # at a position: 1 re-sent record, 2 broken
    extra_after[rng.choice(n_all, size=n_dup + n_bad, replace=False)] = \
        np.concatenate([np.ones(n_dup, np.int8), np.full(n_bad, 2, np.int8)])

    texts: list[str | None] = [None] * n_all
    writer = _Writer(names, handles, slugs, incidents, followers.tolist(), brand, mood, kind,
                     incident_of, parent, position, author, ptr, tag_ids, brand_tagged,
                     in_field, (tpl, slot_p, slot_i, slot_c, slot_n, slot_d, slot_f, slot_u))
    bar = Progress(TextColumn("writing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), disable=not progress, transient=True)
    with path.open("wb") as f, bar:
        task = bar.add_task("write", total=n_all)
        n_dup_written, n_bad_written = writer.write(
            f, order.tolist(), ts_text, extra_after.tolist(), texts,
            lambda done: bar.update(task, completed=done))

    volumes = np.bincount(brand, minlength=cfg.brands)
    top = np.sort(volumes)[::-1]
    used_brand_tags = int(np.unique(brand[brand_tagged & (kind != 2)]).size)
    return SynthSummary(
        lines=n_all + n_dup_written + n_bad_written, mentions=n_all,
        retweets=int((kind == 2).sum()), duplicates=n_dup_written, bad=n_bad_written,
        out_of_order=int(np.count_nonzero(np.diff(emitted_ts) < 0)),
        brands_present=int(np.count_nonzero(volumes)),
        distinct_topical_tags=int(np.unique(tag_ids).size),
        distinct_brand_tags=used_brand_tags, incidents=incidents,
        top_brand_share=float(top[0] / n_all),
        top_1pct_brand_share=float(top[:max(1, cfg.brands // 100)].sum() / n_all),
        first_ts=float(emitted_ts.min()), last_ts=float(emitted_ts.max()),
        seconds=time.perf_counter() - started,
    )


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The generator's options, shared by the benchmarks that generate their input."""
    d = SynthConfig()
    ap.add_argument("--mentions", type=int, default=d.mentions, help="lines to write")
    ap.add_argument("--brands", type=int, default=d.brands)
    ap.add_argument("--distinct-hashtags", type=int, default=d.distinct_hashtags,
                    help="topical hashtag vocabulary; each tag appears at least once when "
                    "the stream has enough tag slots")
    ap.add_argument("--days", type=float, default=d.days, help="event time covered")
    ap.add_argument("--rate", type=float, help="mentions per second of event time (the global "
                    "firehose: ~6000); sets the event time covered instead of --days")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--incidents", type=int, default=d.incidents)
    ap.add_argument("--incident-minutes", type=float, default=d.incident_minutes)


def config_from(args: argparse.Namespace, **overrides: Any) -> SynthConfig:
    days = args.mentions / args.rate / 86400 if args.rate else args.days
    return SynthConfig(mentions=args.mentions, brands=args.brands,
                       distinct_hashtags=args.distinct_hashtags, days=days, seed=args.seed,
                       incidents=args.incidents, incident_minutes=args.incident_minutes,
                       **overrides)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    ap.add_argument("-o", "--output", type=Path, required=True, help="JSON lines file to write")
    args = ap.parse_args(argv)
    summary = generate(config_from(args), args.output, progress=True)
    print(f"{args.output}: {summary.describe()}")


if __name__ == "__main__":
    main()
