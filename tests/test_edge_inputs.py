"""The small edges of what comes in: two Host headers, brands ``.`` and ``..``, an id of
any length, a line of spaces in a file, and the README's webhook receiver, which must
refuse a captured request once it is old."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any

from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.worker.delivery import sign
from tests.conftest import LiveAPI, replay, settings_for, with_ingest, write_jsonl

README = Path(__file__).resolve().parents[1] / "README.md"
T0 = 1_700_000_000


def test_a_request_with_two_host_headers_is_refused(store: Store) -> None:
    live = LiveAPI(store, key=False)
    with live, socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: evil.example\r\n"
                     b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"2 Host headers: send one" in answer


def test_dot_brands_and_long_ids_are_refused_with_the_reason(
        store: Store, prefix: str) -> None:
    live = LiveAPI(store, with_ingest(store, settings_for(prefix)))
    records = [{"id": "a", "ts": T0, "brand": ".", "text": "x"},
               {"id": "b", "ts": T0, "brand": " .. ", "text": "x"},
               {"id": "c" * 513, "ts": T0, "brand": "Acme", "text": "x"},
               {"id": "d" * 512, "ts": T0, "brand": "Acme", "text": "x"},
               {"id": "e", "ts": T0, "brand": "...", "text": "x"}]
    with live as client:
        r = client.post("/mentions", json=records)
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["accepted"] == 2
    reasons = {x["index"]: x["reason"] for x in answer["errors"]}
    assert reasons[0].startswith("field 'brand' cannot be '.'")
    assert reasons[1].startswith("field 'brand' cannot be '..'")
    assert reasons[2] == "field 'id' is 513 characters, over the limit of 512"


def test_a_line_of_spaces_in_a_file_is_a_counted_dead_letter(
        tmp_path: Path, redis_server: EmbeddedRedis, store: Store) -> None:
    good = [{"id": f"m{i}", "ts": T0 + i, "brand": "Acme", "text": "hi"} for i in range(3)]
    path = write_jsonl(tmp_path / "in.jsonl", [good[0], b"", b"   \t ", good[1], b"",
                                               good[2]])
    replay(settings_for(store.p), [path], redis_server.url)
    s = store.stats()
    assert (s["read"], s["processed"], s["dead_lettered"]) == (4, 3, 1)
    [dead] = store.deadletters()
    assert dead["reason"] == "empty record"


def readme_receiver() -> Any:
    """The receiver snippet of the README, run as written."""
    text = README.read_text()
    block = re.search(r"A receiver checks it.*?```python\n(.*?)```", text, re.S)
    assert block, "the receiver snippet is gone from the README"
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # the project's own README, run as a reader would
    return scope["verify"]


def test_the_readme_receiver_refuses_an_old_or_forged_request() -> None:
    verify, secret, body = readme_receiver(), b"s3cret", b'{"event": "incident.opened"}'

    def headers(stamp: int, signed: bytes = body) -> dict[str, str]:
        return {"X-Crisiswatch-Timestamp": str(stamp),
                "X-Crisiswatch-Signature": sign(secret, str(stamp), signed)}

    now = int(time.time())
    assert verify(secret, headers(now), body)
    assert verify(secret, headers(now - 240), body)
    assert not verify(secret, headers(now - 301), body)  # a captured request, replayed
    assert not verify(secret, headers(now + 301), body)
    assert not verify(secret, headers(now, b"{}"), body)
    assert not verify(secret, {}, body)
