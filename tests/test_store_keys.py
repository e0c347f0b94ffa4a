"""The key names are the store's on-disk contract: a deployment's Redis holds data under
them, so ``store.KeySpace`` must keep naming every key exactly as before."""

from __future__ import annotations

from crisiswatch.store import KeySpace


def test_every_key_keeps_its_name() -> None:
    k = KeySpace("p")
    assert [k.brands, k.series("B"), k.series_idx("B"), k.alert("a1"), k.alerts(),
            k.alerts("B"), k.topic("t1"), k.topics("B"), k.stats] == [
        "p:brands", "p:series:B", "p:series_idx:B", "p:alert:a1", "p:alerts", "p:alerts:B",
        "p:topic:t1", "p:topics:B", "p:stats"]
    assert [k.capped("deadletters"), k.capped_idx("deadletters"), k.capped("late"),
            k.capped_idx("late")] == [
        "p:deadletters", "p:deadletters_idx", "p:late", "p:late_idx"]
    assert [k.events, k.life("a1"), k.audit("a1"), k.act("a1"), k.sla, k.worker,
            k.labels] == [
        "p:events", "p:life:a1", "p:audit:a1", "p:act:a1", "p:sla", "p:worker", "p:labels"]
    assert [k.outbox(), *(k.outbox(x) for x in ("due", "attempts", "errors", "dead",
                                                "dead_idx", "log", "stats"))] == [
        "p:outbox", "p:outbox:due", "p:outbox:attempts", "p:outbox:errors", "p:outbox:dead",
        "p:outbox:dead_idx", "p:outbox:log", "p:outbox:stats"]
    assert [k.apikeys, k.apikey_ids, k.rate("key:x"), k.input(3), k.input_partitions,
            k.connector("bluesky"), k.connector_refused("bluesky"), k.connectors] == [
        "p:apikeys", "p:apikey_ids", "p:rate:key:x", "p:input:3", "p:input:partitions",
        "p:connector:bluesky", "p:connector:bluesky:refused", "p:connectors"]
    assert [k.snoozes, k.snooze_log, k.digests] == ["p:snooze", "p:snooze:log", "p:digest"]


def test_the_default_prefix_is_cw() -> None:
    assert KeySpace().stats == "cw:stats"
