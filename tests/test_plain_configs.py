"""Every runtime part is built from a plain config that a test writes by hand, no
``Settings`` involved: the flow from a ``FlowConfig``, the worker from a
``WorkerConfig``, a live connector from its own config. Each runs for real here (real
Redis, a real Bytewax run, real HTTP). And the settings' defaults are those configs' own:
``Settings()`` builds them unchanged, and ``configs/default.yaml``, which writes the
defaults out for its readers, writes nothing else but the demo's brands and watchlist."""

from __future__ import annotations

from pathlib import Path

import pytest
from bytewax.testing import run_main

from crisiswatch.config import runtime
from crisiswatch.config.settings import ConfigError, Settings, load_settings
from crisiswatch.connectors.bluesky import Jetstream, JetstreamConfig
from crisiswatch.connectors.live import LiveRunner
from crisiswatch.connectors.mastodon import MastodonConfig
from crisiswatch.connectors.reddit import RedditConfig
from crisiswatch.connectors.x import XConfig
from crisiswatch.detectors.brand import DetectorConfig
from crisiswatch.detectors.brands import BrandMatcher, BrandQuery
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.topics import TopicConfig
from crisiswatch.flows.config import FlowConfig, SentimentScoring
from crisiswatch.flows.dataflow import build_flow
from crisiswatch.flows.sources import ReplaySource
from crisiswatch.models import sentiment_weights
from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.worker.activation import Worker
from crisiswatch.worker.config import DeliveryConfig, WorkerConfig
from tests.conftest import write_jsonl
from tests.helpers.activation import SECRET, Receiver, incident, playbook_file, verify, write
from tests.helpers.connector_runs import InputWatch
from tests.helpers.jetstream_server import JetstreamServer, frame
from tests.helpers.streams import CLEAR, T0, WINDOW, counts, spiky, stream
from tests.helpers.waiting import wait_for
from tests.test_connector_bluesky import post

SKYWAYS = BrandQuery(handles=("@skyways.bsky.social",), keywords=("skyways",))


def test_the_flow_runs_from_a_config_written_by_hand(tmp_path: Path, redis_server: EmbeddedRedis,
                                                     prefix: str) -> None:
    """Two days of a steady brand, then a clear spike: the flow opens one incident."""
    records = stream("Base", counts(spiky(500, CLEAR)))
    config = FlowConfig(
        parser=Parser(BrandMatcher({})), detector=DetectorConfig(window_s=WINDOW),
        lateness_s=600, dedup_horizon_windows=72, dedup_max_ids=100_000,
        max_texts_per_window=1000, max_jump_s=None, jump_confirm=8, store_prefix=prefix,
        records_kept=100, sentiment=SentimentScoring(learn_from_labels=False),
        snapshots=False)
    run_main(build_flow(config, ReplaySource([write_jsonl(tmp_path / "in.jsonl", records)]),
                        redis_server.url, load_sentiment=sentiment_weights.load))
    store = Store(connect(redis_server.url), prefix)
    stats = store.stats()
    assert (stats["read"], stats["processed"], stats["dead_lettered"]) == \
        (len(records), len(records), 0)
    opened = [(a["first_window"] - T0) // WINDOW for a in store.alerts(brand="Base")]
    assert [w // 100 for w in opened] == [5], opened


def test_the_worker_delivers_from_a_config_written_by_hand(store: Store,
                                                           tmp_path: Path) -> None:
    config = WorkerConfig(poll_seconds=0.05, delivery=DeliveryConfig(
        allowed_hosts=("127.0.0.1",), timeout_seconds=1, lease_seconds=4))
    with Receiver() as rx:
        playbooks = playbook_file(tmp_path, f"""
destinations:
  oncall: {{url: "{rx.url()}", format: json}}
playbooks:
  - name: page
    when: {{min_severity: critical}}
    actions: [{{webhook: oncall}}]
""")
        with Worker(store, config, playbooks, SECRET):
            write(store, incident("inc-plain", severity="critical"))
            wait_for(lambda: store.outbox.counts()["delivered"] == 1)
    [request] = rx.requests
    assert verify(request["headers"], request["body"])
    assert [p["name"] for p in store.alert("inc-plain")["playbooks"]] == ["page"]


def test_a_delivery_config_refuses_a_lease_shorter_than_a_request(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"lease_seconds \(10\) must be at least 4x "
                       r"timeout_seconds \(5\)"):
        DeliveryConfig(lease_seconds=10)
    path = tmp_path / "c.yaml"
    path.write_text("webhooks: {lease_seconds: 10}\n")
    with pytest.raises(ConfigError, match=r"webhooks: Value error, lease_seconds \(10\)"):
        load_settings(path)


def test_a_connector_runs_from_a_config_written_by_hand(store: Store) -> None:
    t0 = 1725516666
    sent = [frame(post(n, t0 + n, f"flying @skyways.bsky.social today {n}")) for n in range(5)]
    sent.append(frame(post(5, t0 + 5, "nothing to do with any brand")))
    matcher = BrandMatcher({"Skyways": SKYWAYS})
    with JetstreamServer(sent) as server:
        connector = Jetstream(JetstreamConfig(url=server.url, flush_seconds=0.05), matcher)
        runner = LiveRunner(connector, store, Parser(matcher, source="bluesky"),
                            backoff_base=0.1, backoff_cap=0.5).start()
        try:
            wait_for(lambda: store.connectors.cursor("bluesky") == str(sent[-1].time_us), 30,
                     "the cursor past the last frame")
        finally:
            runner.stop()
    counts_ = store.connectors.counts("bluesky")
    assert (counts_["frames"], counts_["queued"], counts_["unmatched"]) == (6, 5, 1), counts_
    queued = InputWatch(store).poll().records()
    assert sorted(r["text"] for r in queued) == [f"flying @skyways.bsky.social today {n}"
                                                  for n in range(5)]


def test_the_settings_defaults_are_the_runtime_parts_own() -> None:
    settings = Settings()
    detector = runtime.detector_config(settings)
    defaults = DetectorConfig(window_s=settings.window_s)
    for part in ("volume", "terms", "sentiment", "reach", "incidents", "critical_surprise",
                 "critical_lift"):
        assert getattr(detector, part) == getattr(defaults, part), part
    assert runtime.topic_config(settings.topics, settings.window_s) == TopicConfig()
    assert runtime.worker_config(settings) == WorkerConfig()
    assert runtime.flow_config(settings).sentiment == SentimentScoring()
    parser = runtime.parser(settings)
    plain = Parser(parser.matcher)
    assert (parser.max_text_chars, parser.earliest_ts, parser.max_future_s) == \
        (plain.max_text_chars, plain.earliest_ts, plain.max_future_s)
    everything = Settings(brands={"Skyways": {"keywords": ["skyways"]}}, sources={
        "mastodon": {"instances": [{"url": "https://m.example"}], "hashtags": ["#skyways"]},
        "reddit": {"subreddits": ["travel"]}})
    built = {name: runtime.connectors(everything, name) for name in runtime.CONNECTORS}
    x = XConfig(token=None)
    assert [c.config for c in built["bluesky"]] == [JetstreamConfig()]  # type: ignore[attr-defined]
    assert [c.config for c in built["mastodon"]] == [MastodonConfig()]  # type: ignore[attr-defined]
    assert [c.config for c in built["x"]] == [x]  # type: ignore[attr-defined]
    assert {c.config for c in built["reddit"]} == {  # type: ignore[attr-defined]
        RedditConfig(("travel",), None, None)}


def test_default_yaml_writes_the_code_defaults_and_the_demo() -> None:
    """The shipped file documents each default by writing it: it may differ from the
    code only in what the demo adds (its brands and watchlist)."""
    shipped, code = load_settings().model_dump(), Settings().model_dump()
    differ = {k for k in code if shipped[k] != code[k]}
    assert differ == {"brands", "watchlist"}, {k: (shipped[k], code[k]) for k in differ}
