"""Every Redis key the project uses, named in one place.

With prefix ``p`` (``cw`` by default):

- ``p:brands``                   set of brands seen
- ``p:series:{brand}``           hash: window start (epoch s) -> window record (JSON)
- ``p:series_idx:{brand}``       zset: window starts, for range queries
- ``p:alert:{id}``               string: the incident (JSON)
- ``p:alerts``                   zset: incident id by last window (newest last)
- ``p:alerts:{brand}``           zset: the same, per brand
- ``p:stats``                    hash: record outcomes (absolute totals) and flow status
- ``p:deadletters`` / ``p:late`` hash: record key -> record (JSON), capped
- ``p:deadletters_idx`` / ``p:late_idx`` zset: record key by arrival, for paging and caps
- ``p:events``                   stream: incident, lifecycle and topic events (``EventLog``)
- ``p:life:{id}``, ``p:audit:{id}``, ``p:act:{id}``: the people's side of an incident
  (``Lifecycle``); ``p:outbox*``, ``p:worker``: webhook delivery (``Outbox``);
  ``p:sla``: response clocks (``Timers``)
- ``p:labels``                   stream: sentiment labels people gave mentions (``Labels``)
- ``p:routine``                  hash: [brand, term] (JSON) -> who declared the term's
  bursts routine for the brand, why, until when (``RoutineTerms``)
- ``p:feedback``                 hash: incident id -> a team's verdict on it, useful or
  noise, why, and the incident's pattern (``Feedback``)
- ``p:snooze``                   hash: [scope, target] (JSON) -> a snooze of an incident or
  a brand (``Snoozes``); ``p:snooze:log``: list of snoozes, take-backs and ends
- ``p:digest``                   hash: digest schedule -> end of the last period sent
- ``p:topic:{id}``               string: a complaint topic (JSON), merged and faded ones too
- ``p:topics:{brand}``           zset: topic id by last window, capped at ``TOPICS_KEPT``
- ``p:apikeys``, ``p:apikey_ids``: API keys, stored as token digests (``ApiKeys``)
- ``p:rate:{bucket}``            hash: a request rate limit's token bucket (``take_token``)
- ``p:input:{k}``                stream: mentions waiting for the flow, partition ``k``;
  ``p:input:partitions``: how many there are (``InputStreams``)
- ``p:connector:{name}``         hash: a live connector's cursor and record counts;
  ``p:connector:{name}:refused``: its refused frames, newest first; ``p:connectors``:
  the names of the connectors that ever committed (``Connectors``)
"""

from __future__ import annotations

CAPPED = ("deadletters", "late")  # the capped record sets (``KeySpace.capped``)


class KeySpace:
    """The key names under one prefix; nothing else in the project spells a key."""

    def __init__(self, prefix: str = "cw") -> None:
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- what the flow publishes ------------------------------------------------------
    @property
    def brands(self) -> str:
        return self._k("brands")

    def series(self, brand: str) -> str:
        return self._k("series", brand)

    def series_idx(self, brand: str) -> str:
        return self._k("series_idx", brand)

    def alert(self, alert_id: str) -> str:
        return self._k("alert", alert_id)

    def alerts(self, brand: str | None = None) -> str:
        """All incidents by last window, or (``brand``) one brand's."""
        return self._k("alerts", brand) if brand else self._k("alerts")

    def topic(self, topic_id: str) -> str:
        return self._k("topic", topic_id)

    def topics(self, brand: str) -> str:
        return self._k("topics", brand)

    @property
    def stats(self) -> str:
        return self._k("stats")

    def capped(self, name: str) -> str:
        """``deadletters`` or ``late``: record key -> record."""
        assert name in CAPPED, name
        return self._k(name)

    def capped_idx(self, name: str) -> str:
        assert name in CAPPED, name
        return self._k(f"{name}_idx")

    @property
    def events(self) -> str:
        return self._k("events")

    # -- the people's side of an incident ----------------------------------------------
    def life(self, alert_id: str) -> str:
        return self._k("life", alert_id)

    def audit(self, alert_id: str) -> str:
        return self._k("audit", alert_id)

    def act(self, alert_id: str) -> str:
        return self._k("act", alert_id)

    def outbox(self, part: str | None = None) -> str:
        """``p:outbox`` (the messages), or ``p:outbox:{part}``: due, attempts, errors,
        dead, dead_idx, log, stats."""
        return self._k("outbox", part) if part else self._k("outbox")

    @property
    def worker(self) -> str:
        return self._k("worker")

    @property
    def sla(self) -> str:
        return self._k("sla")

    @property
    def labels(self) -> str:
        return self._k("labels")

    @property
    def routine(self) -> str:
        return self._k("routine")

    @property
    def feedback(self) -> str:
        return self._k("feedback")

    @property
    def snoozes(self) -> str:
        return self._k("snooze")

    @property
    def snooze_log(self) -> str:
        return self._k("snooze", "log")

    @property
    def digests(self) -> str:
        return self._k("digest")

    # -- access ---------------------------------------------------------------------------
    @property
    def apikeys(self) -> str:
        return self._k("apikeys")

    @property
    def apikey_ids(self) -> str:
        return self._k("apikey_ids")

    def rate(self, bucket: str) -> str:
        return self._k("rate", bucket)

    # -- input ---------------------------------------------------------------------------
    def input(self, k: int) -> str:
        return self._k("input", str(k))

    @property
    def input_partitions(self) -> str:
        return self._k("input", "partitions")

    def connector(self, name: str) -> str:
        return self._k("connector", name)

    def connector_refused(self, name: str) -> str:
        return f"{self.connector(name)}:refused"

    @property
    def connectors(self) -> str:
        return self._k("connectors")
