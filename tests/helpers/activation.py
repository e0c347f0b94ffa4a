"""Real parts for the activation tests: an HTTP receiver on 127.0.0.1, incidents, short
timings, playbook files, and the API with playbooks attached."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from crisiswatch.config.playbooks import load_playbooks
from crisiswatch.detectors.types import Incident
from crisiswatch.response.playbooks import PlaybookSet
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store
from crisiswatch.worker.activation import Worker
from crisiswatch.worker.config import DeliveryConfig, WorkerConfig
from tests.conftest import API, LiveAPI
from tests.helpers.local_http import LocalServer

SECRET = b"test-secret-0123456789"
T0 = 1_772_000_000.0  # event time of the synthetic incidents


class Receiver(LocalServer):
    """A webhook receiver as a team would run one: it answers with the scripted status
    (by request number, then ``default``), and accepts each idempotency key once."""

    def __init__(self, port: int | None = None, statuses: list[int] | None = None,
                 default: int = 200, delay: float = 0.0) -> None:
        super().__init__(port)
        self.statuses = list(statuses or [])
        self.default = default
        self.delay = delay
        self.requests: list[dict[str, Any]] = []  # recorded when answered
        self.arrived = 0  # requests that reached the handler (some may still be waiting)
        self.accepted: dict[str, bytes] = {}  # idempotency key -> body, first 2xx only
        self.repeats: list[str] = []  # keys that came again after being accepted

    def url(self, path: str = "/hook") -> str:  # type: ignore[override]
        return f"http://127.0.0.1:{self.port}{path}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length", 0))
        body = h.rfile.read(length)
        if len(body) < length:
            # the sender died between its headers and its body (SIGKILL mid-request): any
            # HTTP server drops such a request before the application sees it
            h.close_connection = True
            return
        with self.lock:
            self.arrived += 1
        if self.delay:
            time.sleep(self.delay)
        status = self.record(h.path, dict(h.headers), body)
        h.send_response(status)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            n = len(self.requests)
            status = self.statuses[n] if n < len(self.statuses) else self.default
            key = headers.get("Idempotency-Key", "")
            self.requests.append({"path": path, "headers": headers, "body": body,
                                  "status": status, "at": time.time()})
            if 200 <= status < 300:
                if key in self.accepted:
                    self.repeats.append(key)
                else:
                    self.accepted[key] = body
            return status


def fast_config(**delivery: Any) -> WorkerConfig:
    """The worker's plain config, written by hand: seconds instead of minutes (quick
    polls, short backoff, few attempts)."""
    hooks = {"timeout_seconds": 1.0, "lease_seconds": 4.0, "backoff_base_seconds": 0.05,
             "backoff_max_seconds": 0.2, "max_attempts": 3, "concurrency": 4, **delivery}
    return WorkerConfig(poll_seconds=0.05, sla_lease_seconds=2,
                        delivery=DeliveryConfig(**hooks))


def fast_worker(store: Store, playbooks: PlaybookSet, config: WorkerConfig | None = None
                ) -> Worker:
    """The activation worker on ``fast_config()`` (or ``config``), signing with SECRET."""
    return Worker(store, config or fast_config(), playbooks, SECRET)


def playbook_file(tmp_path: Path, text: str, allowed: tuple[str, ...] = ("127.0.0.1",)
                  ) -> PlaybookSet:
    path = tmp_path / "playbooks.yaml"
    path.write_text(text, encoding="utf-8")
    return load_playbooks(path, list(allowed))


def incident(alert_id: str = "inc-1", brand: str = "Acme", severity: str = "critical",
             state: str = "open", window: int = 0, kinds: tuple[str, ...] = ("volume",),
             **explanation: Any) -> dict[str, Any]:
    """An incident document as the flow stores it (the AlertOut contract)."""
    start = T0 + 300 * window
    ex = {
        "summary": f"{brand}: 120 mentions in 60 min against 20.0 expected", "observed": 120,
        "expected": 20.0, "horizon_minutes": 60, "lift": 6.0, "p_value": 1e-20,
        "surprise": 20.0, "score_meaning": "test", "peak_window": start, "mentions": 120,
        "retweets": 10, "negative_share": 0.6, "mean_sentiment": -0.3, "reach": 5000,
        "max_followers": 900, "top_hashtags": [["acmedown", 40]],
        "top_terms": [["outage", 50], ["app", 30]],
        "examples": [{"id": "m1", "ts": start, "text": "@Acme app down again #acmedown",
                      "handle": "@someone", "followers": 900, "sentiment": -0.6}],
        "tone": "negative", "positive": False, "retweet_share": 0.08,
        "retweeted_originals": 3, "negative_share_baseline": 0.3, "positive_share": 0.1,
        "positive_share_baseline": 0.4,
        "hashtags": [{"tag": "acmedown", "count": 40, "expected": 0.5, "lift": 80.0,
                      "retweets": 5}],
        "watchlist_hits": [], "loudest_complaints": [],
        "signals": [{"kind": "volume", "window_start": start, "severity": severity,
                     "summary": "120 mentions in 60 min", "score": 20.0,
                     "details": {"horizon": 12}}],
        "signal_counts": {"volume": 1},
        **explanation,
    }
    return {"id": alert_id, "brand": brand, "kinds": list(kinds), "severity": severity,
            "state": state, "first_window": T0, "last_window": start, "window_s": 300,
            "updated_window": start if state == "open" else start + 3600,
            "explanation": ex}


def write(store: Store, *docs: dict[str, Any]) -> None:
    w = store.writer()
    for doc in docs:
        w.incident(Incident.from_dict(doc))
    w.execute()


@contextmanager
def live_api(store: Store, playbooks: PlaybookSet | None = None) -> Iterator[httpx.Client]:
    """The real app over real HTTP, with playbooks attached as the CLI does."""
    config = API if playbooks is None else replace(API, playbooks=playbooks,
                                                   staffing=StaffingConfig())
    with LiveAPI(store, config) as client:
        yield client


def verify(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over timestamp + '.' + body."""
    stamp = headers["X-Crisiswatch-Timestamp"]
    mac = hmac.new(SECRET, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(stamp)) < 60
    return fresh and hmac.compare_digest(headers["X-Crisiswatch-Signature"], "sha256=" + mac)
