"""The activation worker: playbooks on incidents, response clocks, webhook delivery.

End to end: the flow's sink stores an incident version and, in the same Lua step,
publishes ``incident.opened/updated/resolved`` on the ``p:events`` stream. The worker
reads that stream as a consumer group (what it had read but not finished is read again
after a restart), matches every automatic playbook against the incident
(``response/playbooks.py``), and activates each match once per incident: one
optimistic transaction records the activation, the audit entries, the assignment, the
staffing advice, the webhook messages (outbox) and the response clock (``p:sla``).
A second loop fires clocks that ran out without an acknowledgement (the next
escalation step); a third delivers the outbox (``worker/webhooks.py``).

It runs as threads, not as an asyncio task in the API's event loop: Redis and HTTP
calls here are blocking, and inside the API they would stall every request while a
receiver times out. Threads give the same code to ``crisiswatch worker`` (alone),
``crisiswatch api`` and ``crisiswatch run`` (beside the API).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from crisiswatch.response.lifecycle import (
    FOLLOW_UPS,
    SYSTEM,
    Change,
    Context,
    LifecycleError,
    Snapshot,
    activate,
    follow_up,
)
from crisiswatch.response.lifecycle import clock_ran_out as clock_change
from crisiswatch.response.playbooks import Playbook, PlaybookSet, matches
from crisiswatch.response.spike_forecast import Forecast
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store, StoreError
from crisiswatch.store.spike import spike_forecast
from crisiswatch.worker.config import WorkerConfig
from crisiswatch.worker.digests import DigestSchedule
from crisiswatch.worker.webhooks import DeliveryWorker

GROUP = "activation"
HEARTBEAT_S = 5.0

log = logging.getLogger("crisiswatch.activation")




class ActivationEngine:
    """Automatic activation from the event stream, and the response clocks."""

    def __init__(self, store: Store, playbooks: PlaybookSet, staffing: StaffingConfig,
                 clock_lease_s: float = 30.0, consumer: str | None = None) -> None:
        self.store = store
        self.playbooks = playbooks
        self.staffing = staffing
        self.clock_lease_s = clock_lease_s
        # Stable across restarts on one host: a restarted worker re-reads what it had read
        # and not acknowledged under the same name.
        self.consumer = consumer or socket.gethostname()
        self.recovering = True
        store.events.ensure_group(GROUP)

    def _forecaster(self, incident: dict[str, Any]) -> Callable[[], Forecast | None]:
        """The staffing advice's spike forecast as known when this version of the
        incident was published, read when a step staffs; None (advice from the
        incident's explanation alone) when the store cannot say."""
        at = float(incident["last_window"]) + int(incident["window_s"])

        def forecast() -> Forecast | None:
            try:
                return spike_forecast(self.store, incident, self.staffing.horizon_hours, at)
            except StoreError as e:
                log.warning("staffing forecast for %s from its explanation only: %s",
                            incident.get("id"), e)
                return None

        return forecast

    def process_events(self, block_ms: int | None = None, count: int = 100) -> int:
        """Handle one batch of events (first those left unfinished by an earlier run);
        returns how many were read."""
        batch = self.store.events.read_group(GROUP, self.consumer, count,
                                             None if self.recovering else block_ms,
                                             pending=self.recovering)
        if self.recovering and not batch:
            self.recovering = False
        for entry_id, event in batch:
            if event is None:
                continue
            try:
                if event["type"].startswith("incident."):
                    self.evaluate(event["data"])
                if event["type"] in FOLLOW_UPS:
                    self.follow_up(event["data"]["id"], FOLLOW_UPS[event["type"]])
            except StoreError:
                raise  # not acknowledged: read again once Redis is back
            except Exception:  # a malformed incident must not block the stream
                log.exception("event %s: incident could not be evaluated", entry_id)
        self.store.events.ack(GROUP, [i for i, _ in batch])
        return len(batch)

    def drain(self) -> int:
        """Process every event available now; returns how many (tests use it)."""
        total = 0
        while True:
            was_recovering = self.recovering
            n = self.process_events()
            total += n
            if n == 0 and not was_recovering:
                return total

    def evaluate(self, incident: dict[str, Any]) -> list[str]:
        """Activate every automatic playbook that matches and is not active yet."""
        activated: list[str] = []
        snoozed = self.store.snoozes.covering(incident)
        if snoozed is not None:  # looked at again when the snooze ends (wake_snoozed)
            log.info("incident %s (%s): snoozed until %s, no playbook now", incident.get("id"),
                     incident.get("brand"), snoozed["until"])
            return activated
        for playbook in self.playbooks.playbooks:
            if not playbook.auto:
                continue
            reasons = matches(playbook, incident)
            if reasons is None:
                continue
            decide = self._activation(incident, playbook, reasons)
            if self.store.lifecycle.transact(incident["id"], decide) is not None:
                activated.append(playbook.name)
                log.info("incident %s (%s): playbook %s activated", incident["id"],
                         incident.get("brand"), playbook.name)
        return activated

    def follow_up(self, incident_id: str, action: str) -> bool:
        """Tell the PagerDuty destinations the incident was acknowledged or resolved."""
        change = self.store.lifecycle.transact(
            incident_id, lambda snap: follow_up(snap, self.playbooks, action, time.time()))
        if change is not None:
            log.info("incident %s: PagerDuty %s queued for %s", incident_id, action,
                     ", ".join(m.destination for m in change.messages))
        return change is not None

    def _activation(self, incident: dict[str, Any], playbook: Playbook,
                    reasons: list[str]) -> Callable[[Snapshot], Change | None]:
        def decide(snap: Snapshot) -> Change | None:
            if playbook.name in snap.activations or snap.state == "resolved":
                return None  # once per incident; a closed incident pages nobody
            ctx = Context(incident, self.playbooks, self.staffing, time.time(),
                          self._forecaster(incident))
            return activate(snap, ctx, playbook, SYSTEM, "", reasons, "auto")

        return decide

    def wake_snoozed(self, now: float | None = None) -> int:
        """Snoozes that ended: look again at the incidents they held back (an incident,
        or a brand's open ones), as if their event came now; returns how many."""
        woken = 0
        for snooze in self.store.snoozes.ended(now):
            ids = [snooze["target"]] if snooze["scope"] == "alert" else [
                a["id"] for a in self.store.alerts(brand=snooze["target"], limit=1000)
                if a["state"] != "resolved"]
            for incident in map(self.store.detector_alert, ids):
                if incident is not None and incident["state"] != "resolved":
                    self.evaluate(incident)
                    woken += 1
        return woken

    def run_clocks(self, now: float | None = None) -> int:
        """Fire the response clocks that ran out; returns how many were handled."""
        now = time.time() if now is None else now
        due = self.store.timers.claim(now, self.clock_lease_s)
        for alert_id, name in due:
            incident = self.store.detector_alert(alert_id) or {"id": alert_id}
            snoozed = self.store.snoozes.covering(incident)

            def decide(snap: Snapshot, incident: dict[str, Any] = incident,
                       name: str = name, snoozed: dict[str, Any] | None = snoozed) -> Change:
                if snoozed is not None:  # the next step waits for the snooze's end
                    return Change(timers={name: snoozed["until"]})
                return clock_change(snap, Context(incident, self.playbooks, self.staffing,
                                                  time.time(), self._forecaster(incident)),
                                    name)

            try:
                self.store.lifecycle.transact(alert_id, decide)
            except LifecycleError as e:  # the rules say it does not apply: stop the clock
                log.warning("clock %s|%s: %s", alert_id, name, e)
        return len(due)


class Worker:
    """The engine's two loops and the delivery loop as daemon threads."""

    def __init__(self, store: Store, config: WorkerConfig, playbooks: PlaybookSet,
                 secret: bytes | None = None) -> None:
        self.store = store
        self.config = config
        self.engine = ActivationEngine(store, playbooks, config.staffing,
                                       config.sla_lease_seconds)
        self.secret = secret
        self.digests = DigestSchedule(store, config.digests, playbooks)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def delivering(self) -> bool:
        return self.secret is not None

    def start(self) -> Worker:
        loops: list[tuple[str, Callable[[], None]]] = [("activation-events", self._events),
                                                       ("activation-clocks", self._clocks)]
        if self.secret is not None:
            delivery = DeliveryWorker(self.store, self.config.delivery, self.secret,
                                      self.config.poll_seconds)
            loops.append(("webhook-delivery", lambda: delivery.run(self.stop_event)))
        for name, target in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loops; requests in flight finish first (bounded by ``timeout``)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 0.1))

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _guarded(self, step: Callable[[], Any], what: str) -> None:
        """Run ``step`` until stopped; an error (Redis restarting) is logged and retried
        after a pause, never the end of the worker."""
        poll = self.config.poll_seconds
        while not self.stop_event.is_set():
            try:
                step()
            except Exception:
                log.exception("%s loop", what)
                self.stop_event.wait(poll)

    def _events(self) -> None:
        block_ms = max(int(self.config.poll_seconds * 1000), 1)
        self._guarded(lambda: self.engine.process_events(block_ms), "activation")

    def _clocks(self) -> None:
        poll = self.config.poll_seconds
        last_beat = 0.0

        def step() -> None:
            nonlocal last_beat
            self.engine.run_clocks()
            self.engine.wake_snoozed()
            self.digests.run_due()
            if time.monotonic() - last_beat > HEARTBEAT_S:
                last_beat = time.monotonic()
                self.store.outbox.set_worker(
                    seen=time.time(), host=self.engine.consumer, pid=os.getpid(),
                    delivering=int(self.delivering),
                    playbooks=",".join(self.engine.playbooks.names))
            self.stop_event.wait(poll)

        self._guarded(step, "response clock")
