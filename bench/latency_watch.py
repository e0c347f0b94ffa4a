"""The latency bench's watcher and figures (``bench/latency.py`` runs the producer,
the flow and this): incident events received from the store's event log and from the
API's ``GET /stream``, and the latencies they show."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from crisiswatch.store import Store, connect
from crisiswatch.store.embedded import free_port

PREFIX = "latency"
# (wall time received, event id, type, incident id, last_window, window_s)
Seen = tuple[float, str, str, str, float, int]
PRODUCED_BY_A_WINDOW = ("incident.opened", "incident.updated")


# -- the watcher --------------------------------------------------------------------

def _seen(now: float, event_id: str, kind: str, data: dict[str, Any]) -> Seen:
    return (now, event_id, kind, data["id"], float(data["last_window"]),
            int(data["window_s"]))


def _read_store(store: Store, cursor: str, stop: Any, out: list[Seen]) -> None:
    while not stop.is_set():
        for e in store.events.after(cursor, 1000, 200):
            out.append(_seen(time.time(), e["id"], e["type"], e["data"]))
            cursor = e["id"]


def _read_api(port: int, connected: threading.Event, out: list[Seen]) -> None:
    import httpx

    with httpx.Client(timeout=None) as client, \
            client.stream("GET", f"http://127.0.0.1:{port}/stream",
                          params={"types": "incident"}) as resp:
        kind = event_id = ""
        for line in resp.iter_lines():
            if line.startswith("retry:"):
                connected.set()
            elif line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append(_seen(time.time(), event_id, kind, orjson.loads(line[6:])))


def watch(url: str, conn: Connection, ready: Any, stop: Any) -> None:
    """The watcher process: serve the API, read the event log and the API's event
    stream until ``stop``, then send back what each saw and when."""
    import uvicorn

    from crisiswatch.api.app import create_app
    from crisiswatch.api.stream import close_streams

    store = Store(connect(url), PREFIX)
    app = create_app(store)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    from_store: list[Seen] = []
    from_api: list[Seen] = []
    connected = threading.Event()
    api_reader = threading.Thread(target=_read_api, args=(port, connected, from_api))
    api_reader.start()
    connected.wait(10)
    store_reader = threading.Thread(target=_read_store,
                                    args=(store, store.events.last_id(), stop, from_store))
    store_reader.start()
    ready.set()
    stop.wait()
    store_reader.join()
    close_streams(app)  # the SSE handler ends within its block time
    api_reader.join(timeout=10)
    server.should_exit = True
    conn.send((from_store, from_api))


# -- figures ------------------------------------------------------------------------

def _percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 \
        else [values[0]] * 99
    return (f"p50 {q[49] * 1000:,.0f} ms, p90 {q[89] * 1000:,.0f} ms, "
            f"p99 {q[98] * 1000:,.0f} ms, max {max(values) * 1000:,.0f} ms "
            f"(n = {len(values):,})")


def _published(event_id: str) -> float:
    """Redis's wall clock (s) when the entry was appended: its id's milliseconds."""
    return int(event_id.split("-")[0]) / 1000


@dataclass
class Latencies:
    total: list[float]  # received - window end
    to_store: list[float]  # published (event id) - window end
    delivery: list[float]  # received - published
    versions: set[tuple[str, float]]  # (incident id, window start)


def latencies(seen: list[Seen]) -> Latencies:
    """Only versions produced by a closed window (opened/updated), once each."""
    out = Latencies([], [], [], set())
    for received, event_id, kind, incident, start, window_s in seen:
        if kind not in PRODUCED_BY_A_WINDOW or (incident, start) in out.versions:
            continue
        end = start + window_s
        published = _published(event_id)
        out.total.append(received - end)
        out.to_store.append(published - end)
        out.delivery.append(received - published)
        out.versions.add((incident, start))
    return out


def report(name: str, lat: Latencies) -> None:
    print(f"  {name}: {_percentiles(lat.total)}")
    print(f"      window end -> written to the store (event id stamp): "
          f"{_percentiles(lat.to_store)}")
    print(f"      written -> received:                                 "
          f"{_percentiles(lat.delivery)}")
