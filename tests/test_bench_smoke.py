"""Smoke test of the benchmark harness: the synthetic stream has the properties the
benchmarks rely on, and ``bench.firehose`` runs end to end and prints its figures.

No timing is asserted: benchmarks print figures, they never pass or fail on speed.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import orjson
import pytest

from bench import detectors as bench_detectors
from bench import firehose, synth
from crisiswatch.detectors.brands import BrandMatcher
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.sentiment import VaderScorer
from crisiswatch.detectors.types import Mention

pytestmark = pytest.mark.slow  # see pyproject's markers

CFG = synth.SynthConfig(mentions=20_000, brands=100, distinct_hashtags=3000, days=2.0, seed=7,
                        incidents=2)


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.SynthSummary]:
    path = tmp_path_factory.mktemp("synth") / "stream.jsonl"
    return path, synth.generate(CFG, path)


@pytest.fixture(scope="module")
def parsed(stream: tuple[Path, synth.SynthSummary]) -> tuple[list[Mention], int]:
    """The stream through the flow's own parser: (valid mentions, lines)."""
    parser = Parser(BrandMatcher({}))
    records = [parser.parse(line.rstrip(b"\n"), i) for i, line in enumerate(stream[0].open("rb"))]
    return [m for m in records if isinstance(m, Mention)], len(records)


def test_same_seed_same_stream_other_seed_other_stream(
        stream: tuple[Path, synth.SynthSummary], tmp_path: Path) -> None:
    path, _ = stream
    again, other = tmp_path / "again.jsonl", tmp_path / "other.jsonl"
    synth.generate(CFG, again)
    synth.generate(synth.SynthConfig(**{**CFG.__dict__, "seed": 8}), other)
    assert again.read_bytes() == path.read_bytes()
    assert other.read_bytes() != path.read_bytes()


def test_stream_has_what_the_benchmarks_rely_on(
        stream: tuple[Path, synth.SynthSummary], parsed: tuple[list[Mention], int]) -> None:
    summary = stream[1]
    mentions, lines = parsed
    assert lines == CFG.mentions == summary.lines
    assert lines - len(mentions) == summary.bad > 0  # broken records are dead letters

    # Zipf-skewed brands: the top brand dwarfs the typical one.
    volumes = Counter(m.brands[0] for m in mentions).most_common()
    assert volumes[0][1] > 20 * volumes[len(volumes) // 2][1]

    # The whole topical vocabulary appears, plus brand and incident tags.
    tags = {t for m in mentions for t in m.hashtags}
    topical = {synth.topical_tag(i) for i in range(CFG.distinct_hashtags)}
    assert topical <= tags
    assert len(tags) == summary.distinct_hashtags

    # Retweet cascades: a retweet repeats its original's text and names an earlier id.
    by_id = {m.id: m for m in mentions}
    retweets = [m for m in mentions if m.is_retweet]
    assert 0.2 < len(retweets) / len(mentions) < 0.4
    for rt in retweets[:200]:
        original = by_id.get(rt.retweet_of or "")
        if original is not None:  # a re-sent line never removes an original
            assert rt.text.endswith(original.text) and rt.text.startswith("RT @")
            assert rt.ts >= original.ts - 60
    assert len({rt.retweet_of for rt in retweets}) < len(retweets)  # cascades, not pairs

    # Mostly in event-time order; what is out of order is less than a minute behind
    # (re-sent records, duplicates of an earlier line, are the collector's and left out).
    first = {}
    for m in mentions:
        first.setdefault(m.id, m)
    ts = [m.ts for m in first.values()]
    assert len(first) == len(mentions) - summary.duplicates
    back = [a - b for a, b in pairwise(ts) if b < a]
    assert len(back) < 0.02 * len(ts)
    assert max(back) <= 60


def test_injected_incident_is_a_negative_burst_of_its_brand(
        stream: tuple[Path, synth.SynthSummary], parsed: tuple[list[Mention], int]) -> None:
    summary = stream[1]
    mentions = parsed[0]
    scorer = VaderScorer()
    assert len(summary.incidents) == CFG.incidents
    for inc in summary.incidents:
        brand = [m for m in mentions if m.brands == (inc.brand,)]
        tagged = [m for m in brand if inc.hashtag in m.hashtags]
        assert len(tagged) == inc.mentions > 0
        assert all(inc.start <= m.ts <= inc.end for m in tagged)
        during = sum(inc.start <= m.ts < inc.end for m in brand)
        assert during >= 3 * (during - len(tagged))  # the usual traffic is a small part
        usual = [scorer.score(m.text) for m in brand if inc.hashtag not in m.hashtags]
        burst = [scorer.score(m.text) for m in tagged]
        assert sum(burst) / len(burst) < sum(usual) / len(usual) - 0.2


def test_firehose_prints_every_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    synth.generate(synth.SynthConfig(mentions=1500, brands=20, distinct_hashtags=200,
                                     days=1.0, incidents=1), small)
    firehose.main(["--input", str(small), "--runs", "1", "--quiet"])
    out = capsys.readouterr().out
    assert "1,500 lines" in out
    for expected in ("(a) ceiling: read + parse, no flow", "(b) Bytewax pass-through",
                     "(c) crisiswatch flow, no topics", "(d) crisiswatch flow + topics (static)",
                     "ratios: (c)/(b) = ", "time shares of (c)", "parse (Parser.parse)",
                     "detectors (detectors.brand.observe)"):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    # Bytewax's remainder is shown, or the bench says why it cannot be (timing noise)
    assert ("Bytewax and the rest (remainder)" in out
            or "the components' sum exceeds the flow's time" in out), out
    assert "1,500 read, " in out  # the full flow accounted for every line
    assert out.count(" MiB") >= 4  # peak RSS of each stage
    first = orjson.loads(small.open("rb").readline())
    assert {"id", "ts", "brand", "text", "author"} <= first.keys()


@pytest.mark.slow
def test_firehose_adds_the_realistic_stream_beside_the_one_window_one(
        capsys: pytest.CaptureFixture[str]) -> None:
    firehose.main(["--mentions", "1500", "--brands", "10", "--distinct-hashtags", "200",
                   "--runs", "1", "--quiet"])
    out = capsys.readouterr().out
    for expected in ("(c) crisiswatch flow, no topics", "realistic stream: stage",
                     "(c) no topics, this code", "(d) + topics (static), this code",
                     "on the one-window stream: "):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert re.search(r"this code: [\d,]+ processed, [\d,]+ duplicate, 0 late", out), out


def test_detectors_bench_compares_trees_on_a_realistic_stream(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The per-window bench, with this very tree as "another checkout" (measured once):
    the same digest in every run, and where the time goes."""
    here = str(Path(__file__).resolve().parent.parent)
    bench_detectors.main(["--mentions", "1500", "--brands", "10", "--days", "0.5",
                          "--incidents", "1", "--runs", "1", "--compare", here])
    out = capsys.readouterr().out
    assert "ms/window" in out and "results identical in every run" in out, out
    for part in ("volume.update", "terms.update", "incidents.step (fusion)",
                 "Background.learn", "the rest of observe"):
        assert part in out, f"{part!r} missing from:\n{out}"


def test_latency_bench_runs_the_live_path_and_prints_its_figures(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A few seconds of the live path (producer -> input streams -> ``crisiswatch flow
    --from-stream`` -> event log and ``GET /stream``): about 20 s, mostly start-up."""
    from bench import latency

    latency.main(["--seconds", "8", "--rate", "300", "--brands", "30", "--incidents", "1",
                  "--window-seconds", "1", "--warmup-windows", "2", "--quiet"])
    out = capsys.readouterr().out
    assert "producer: 2,400 mentions appended" in out  # every mention reached the streams
    for expected in ("flow: crisiswatch flow --from-stream", "incident events: ",
                     "latency after the window closed (wall time = its end) until received:",
                     "in the store (XREAD on the event log", "through the API (GET /stream",
                     "window end -> written to the store", "written -> received:",
                     "load average"):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert out.count("p50 ") + out.count("no samples") == 6  # three lines a path
