"""Webhook delivery: from the Redis outbox to the receiver, at least once, signed, and
never twice under different names.

Guarantees and how they are kept:

- **Nothing is lost.** A message stays in the outbox until a receiver answered 2xx or
  it was moved to the dead letters (``GET /webhooks/dead``, re-drivable). Claiming a
  message leases it (its due time moves to the end of the lease); a worker that dies
  mid-request loses the lease and the message comes due again.
- **Nothing doubles.** Each message has one id, fixed when it was queued from the
  incident, playbook, step and destination, and sent as the ``Idempotency-Key`` header
  with the same body on every attempt. A receiver that stores the keys it accepted
  sees a repeat (a worker killed after the receiver answered, before the outbox heard)
  as a repeat.
- **Authentic.** ``X-Crisiswatch-Signature: sha256=HEX`` is HMAC-SHA256 with the
  secret from ``CRISISWATCH_WEBHOOK_SECRET`` over ``{X-Crisiswatch-Timestamp}.{body}``;
  signing the timestamp lets a receiver refuse old captured requests.
- **Only where configured.** The host must be on ``webhooks.allowed_hosts``, checked
  again before every request; redirects are not followed (they could leave the list).
- **In order where it matters.** A message with ``after`` (PagerDuty's acknowledge and
  resolve) waits while that message is still in the outbox, without spending an
  attempt. E-mail destinations go over SMTP (``worker/smtp.py``).

Failed attempts are retried with exponential backoff and jitter (``Retry-After`` is
honoured); 4xx answers other than 408/425/429 are not retried: the receiver refused
the message itself, and sending it again would get the same answer.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from crisiswatch import __version__
from crisiswatch.response.lifecycle import SYSTEM, entry
from crisiswatch.store import Store
from crisiswatch.worker.config import DeliveryConfig
from crisiswatch.worker.delivery import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SECRET_ENV,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    secret_from_env,
    sign,
)
from crisiswatch.worker.hosts import host_allowed
from crisiswatch.worker.smtp import send_email

RETRYABLE_STATUS = {408, 425, 429}

log = logging.getLogger("crisiswatch.webhooks")

__all__ = ["SECRET_ENV", "DeliveryWorker", "Outcome", "backoff", "secret_from_env", "sign"]


def backoff(attempt: int, base: float, cap: float,
            rand: Callable[[], float] = random.random) -> float:
    """Delay before attempt ``attempt + 1``: exponential, capped, with "equal jitter"
    (half fixed, half random) so that messages failed together do not retry together
    yet never retry sooner than half the nominal delay."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + rand() * delay / 2


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP date: rare from webhooks; the backoff applies


class Sender:
    """One HTTP client for all requests (connection reuse), no redirects, no proxies
    from the environment (a proxy would be a host the allowlist never saw)."""

    def __init__(self, config: DeliveryConfig, secret: bytes) -> None:
        self.config = config
        self.secret = secret
        self.client = httpx.Client(timeout=httpx.Timeout(config.timeout_seconds),
                                   follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def send(self, message: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        url = message["url"]
        if not host_allowed(url, self.config.allowed_hosts):
            return Outcome(False, None, f"host of {url!r} is not on webhooks.allowed_hosts",
                           False, None, 0.0)
        if message["format"] == "email":
            return send_email(message, self.secret, self.config.timeout_seconds)
        body = message["body"].encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"crisiswatch/{__version__}",
            IDEMPOTENCY_HEADER: message["id"],
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self.secret, stamp, body),
            EVENT_HEADER: message["event"],
        }
        try:
            r = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            return Outcome(False, None, f"{type(e).__name__}: {e or 'no detail'}", True, None,
                           time.monotonic() - started)
        took = time.monotonic() - started
        if 200 <= r.status_code < 300:
            return Outcome(True, r.status_code, "", False, None, took)
        retryable = r.status_code >= 500 or r.status_code in RETRYABLE_STATUS
        return Outcome(False, r.status_code, f"HTTP {r.status_code}: {r.text[:200]}", retryable,
                       _retry_after(r.headers.get("retry-after")), took)


class DeliveryWorker:
    """Claims due messages and sends them on a small thread pool; the claiming loop
    never waits on a slow receiver, so one dead endpoint cannot hold up the others."""

    def __init__(self, store: Store, config: DeliveryConfig, secret: bytes,
                 poll_s: float) -> None:
        self.store = store
        self.config = config
        self.sender = Sender(config, secret)
        self.poll_s = poll_s
        self.inflight: dict[str, Future[None]] = {}

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, then finish the requests in flight (a graceful
        stop re-sends nothing)."""
        pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="webhook")
        try:
            while not stop.is_set():
                try:
                    busy = self.tick(pool)
                except Exception:  # Redis away: the leases keep every message safe
                    log.exception("webhook delivery loop")
                    busy = False
                if not busy:
                    stop.wait(self.poll_s)
        finally:
            pool.shutdown(wait=True)
            self.sender.close()

    def tick(self, pool: ThreadPoolExecutor) -> bool:
        """Start what is due; True when every slot was filled (more may be waiting)."""
        self.inflight = {k: f for k, f in self.inflight.items() if not f.done()}
        free = self.config.concurrency - len(self.inflight)
        if free <= 0:
            time.sleep(0.01)
            return True
        claimed = self.store.outbox.claim(time.time(), self.config.lease_seconds, free)
        for message, attempts in claimed:
            if message["id"] not in self.inflight:  # ours already, still being sent
                self.inflight[message["id"]] = pool.submit(self.deliver, message, attempts)
        return len(claimed) == free

    def deliver(self, message: dict[str, Any], attempts: int) -> None:
        try:
            self._deliver(message, attempts)
        except Exception:
            log.exception("delivering %s (it comes due again when its lease ends)",
                          message["id"])

    def _deliver(self, message: dict[str, Any], attempts: int) -> None:
        after = message.get("after")
        if after and self.store.outbox.waiting(after):  # PagerDuty: trigger, then the rest
            self.store.outbox.defer(message["id"], time.time() + self.poll_s)
            return
        outcome = self.sender.send(message)
        now = time.time()
        summary = {"id": message["id"], "destination": message["destination"],
                   "incident_id": message["incident_id"], "playbook": message["playbook"],
                   "attempts": attempts, "status": outcome.status, "at": now,
                   "seconds": round(outcome.seconds, 3)}
        if outcome.ok:
            self.store.outbox.delivered(message["id"], summary)
            self.store.lifecycle.note(message["incident_id"], entry(
                now, SYSTEM, "webhook.delivered", destination=message["destination"],
                message=message["id"], attempts=attempts, status=outcome.status))
            return
        if not outcome.retryable or attempts >= self.config.max_attempts:
            self.store.outbox.kill(message, attempts, outcome.error, now)
            why = "refused" if not outcome.retryable else f"failed {attempts} times"
            self.store.lifecycle.note(message["incident_id"], entry(
                now, SYSTEM, "webhook.dead", f"{why}: {outcome.error}",
                destination=message["destination"], message=message["id"]))
            self.store.publish("webhook.dead", {**summary, "error": outcome.error})
            log.warning("webhook %s to %s dead after %d attempt(s): %s", message["id"],
                        message["destination"], attempts, outcome.error)
            return
        delay = backoff(attempts, self.config.backoff_base_seconds,
                        self.config.backoff_max_seconds)
        if outcome.retry_after is not None:
            delay = min(max(delay, outcome.retry_after), self.config.backoff_max_seconds)
        self.store.outbox.retry(message["id"], now + delay, outcome.error)
