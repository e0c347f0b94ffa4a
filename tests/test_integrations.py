"""Integrations out, each against a local receiver that checks what it got against the
service's documented schema (tests/fixtures/schemas): PagerDuty Events API v2 (one
PagerDuty alert per incident: trigger, then acknowledge and resolve as people act),
Microsoft Teams (an Adaptive Card), e-mail over SMTP (a real SMTP server, aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crisiswatch.store import Store
from crisiswatch.store.embedded import free_port
from tests.helpers.activation import (
    SECRET,
    Receiver,
    fast_config,
    fast_worker,
    incident,
    live_api,
    playbook_file,
    verify,
    write,
)
from tests.helpers.waiting import wait_for

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"


def schema_errors(name: str, document: Any) -> list[str]:
    schema = orjson.loads((SCHEMAS / f"{name}.json").read_bytes())
    return [str(e).splitlines()[0] for e in jsonschema_rs.validator_for(schema)
            .iter_errors(document)]


def pagerduty_playbooks(tmp_path: Path, url: str) -> Any:
    return playbook_file(tmp_path, f"""
destinations:
  oncall:
    url: "{url}"
    format: pagerduty
    routing_key: "{ROUTING_KEY}"
    incident_url: "https://crisis.example.com/#/alerts/{{id}}"
playbooks:
  - name: page-critical
    when: {{min_severity: critical}}
    actions: [{{webhook: oncall}}]
  - name: page-outage
    when: {{kinds: [volume]}}
    actions: [{{webhook: oncall}}]
""")


def actions(rx: Receiver, accepted_only: bool = True) -> list[str]:
    return [orjson.loads(q["body"])["event_action"] for q in rx.requests
            if not accepted_only or 200 <= q["status"] < 300]


def test_pagerduty_one_alert_per_incident_acknowledged_and_resolved(
        store: Store, tmp_path: Path) -> None:
    # the trigger fails twice: the acknowledge, queued meanwhile, must wait for it
    with Receiver(statuses=[500, 502], default=202) as rx:
        playbooks = pagerduty_playbooks(tmp_path, rx.url("/v2/enqueue"))
        config = fast_config()
        with fast_worker(store, playbooks, config), \
                live_api(store, playbooks) as api:
            write(store, incident("inc-pd"))
            wait_for(lambda: rx.requests)
            r = api.post("/alerts/inc-pd/ack", json={"actor": "ana", "note": "on it"})
            assert r.status_code == 200, r.text
            wait_for(lambda: "acknowledge" in actions(rx))
            r = api.post("/alerts/inc-pd/resolve", json={"actor": "ana", "note": "fixed"})
            assert r.status_code == 200, r.text
            wait_for(lambda: "resolve" in actions(rx))
            wait_for(lambda: store.outbox.counts()["queued"] == 0)
            audit = api.get("/alerts/inc-pd").json()["audit"]
    bodies = [orjson.loads(q["body"]) for q in rx.requests]
    # two playbooks routed the incident to one PagerDuty service: two triggers with one
    # dedup_key (one PagerDuty alert), then one acknowledge and one resolve for it, the
    # acknowledge only once a trigger was accepted (it waited out the two failures)
    accepted = actions(rx)
    assert sorted(accepted) == ["acknowledge", "resolve", "trigger", "trigger"]
    assert accepted[0] == "trigger" and accepted.index("acknowledge") < accepted.index("resolve")
    assert actions(rx, accepted_only=False)[:2] == ["trigger", "trigger"]
    for q, body in zip(rx.requests, bodies, strict=True):
        assert schema_errors("pagerduty_event", body) == []
        assert body["routing_key"] == ROUTING_KEY and body["dedup_key"] == "inc-pd"
        assert verify(q["headers"], q["body"])  # the same signing as every webhook
    trigger = bodies[0]["payload"]
    assert trigger["severity"] == "critical" and trigger["summary"] == (
        "[CRITICAL] Acme: Outage complaints: 6.0× the usual volume, #acmedown, 60% negative")
    assert trigger["custom_details"]["explanation"].startswith("Acme: 120 mentions")
    assert trigger["custom_details"]["observed"] == 120
    assert bodies[0]["links"] == [{"href": "https://crisis.example.com/#/alerts/inc-pd",
                                   "text": "The incident in crisiswatch"}]
    assert next(b for b in bodies if b["event_action"] == "acknowledge") == {
        "routing_key": ROUTING_KEY, "dedup_key": "inc-pd", "event_action": "acknowledge"}
    follow_ups = [e["follow_up"] for e in audit if e.get("follow_up")]
    assert follow_ups == ["acknowledge", "resolve"]
    # a schema check that catches a wrong body, so that passing it means something
    assert schema_errors("pagerduty_event", {**bodies[0], "payload": {"summary": "x"}})


def test_pagerduty_resolves_when_the_detector_closes_the_incident(
        store: Store, tmp_path: Path) -> None:
    with Receiver(default=202) as rx:
        playbooks = pagerduty_playbooks(tmp_path, rx.url("/v2/enqueue"))
        with fast_worker(store, playbooks):
            write(store, incident("inc-auto"))
            wait_for(lambda: actions(rx) == ["trigger", "trigger"])
            write(store, incident("inc-auto", state="resolved", window=12))
            wait_for(lambda: "resolve" in actions(rx))
            time.sleep(0.3)  # nothing more comes: one resolve for both playbooks
    assert actions(rx, accepted_only=False) == ["trigger", "trigger", "resolve"]


def test_teams_gets_an_adaptive_card(store: Store, tmp_path: Path) -> None:
    with Receiver() as rx:
        playbooks = playbook_file(tmp_path, f"""
destinations:
  war-room: {{url: "{rx.url('/webhookb2/x')}", format: teams,
              incident_url: "https://crisis.example.com/#/alerts/{{id}}"}}
playbooks:
  - name: crit
    when: {{min_severity: critical}}
    actions: [{{webhook: war-room}}, staffing]
""")
        with fast_worker(store, playbooks):
            write(store, incident("inc-t"))
            wait_for(lambda: store.outbox.counts()["delivered"] == 1)
    (q,) = rx.requests
    body = orjson.loads(q["body"])
    assert schema_errors("teams_message", body) == []
    assert verify(q["headers"], q["body"])
    card = body["attachments"][0]["content"]
    head, summary = card["body"][0], card["body"][1]
    assert head["text"] == "[CRITICAL] Acme: playbook crit activated"
    assert head["color"] == "Attention" and summary["text"].startswith(
        "Outage complaints: 6.0× the usual volume, #acmedown, 60% negative\nAcme: 120 mentions")
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Incident"] == "inc-t" and facts["Kinds"] == "volume"
    assert any(b["text"].startswith("Staffing:") for b in card["body"][3:])
    assert card["actions"][0]["url"] == "https://crisis.example.com/#/alerts/inc-t"
    assert schema_errors("teams_message", {**body, "attachments": [
        {**body["attachments"][0], "content": {**card, "version": "2.0"}}]})


class Inbox:
    """An SMTP server's mailbox: answers DATA with the scripted replies first."""

    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies = list(replies or [])
        self.mails: list[Envelope] = []
        self.attempts = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.mails.append(envelope)
        return "250 2.0.0 queued"


def mail_playbooks(tmp_path: Path, port: int) -> Any:
    return playbook_file(tmp_path, f"""
destinations:
  pr-desk:
    url: "smtp://127.0.0.1:{port}"
    format: email
    from: "crisiswatch@example.com"
    to: ["pr@example.com", "legal@example.com"]
playbooks:
  - name: crit
    when: {{min_severity: critical}}
    actions: [{{webhook: pr-desk}}]
""")


def test_email_over_smtp_retries_a_4xx_and_arrives_signed(store: Store,
                                                           tmp_path: Path) -> None:
    inbox = Inbox(["451 4.3.0 mailbox busy, try again later"])
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        playbooks = mail_playbooks(tmp_path, server.port)
        with fast_worker(store, playbooks):
            write(store, incident("inc-m"))
            wait_for(lambda: store.outbox.counts()["delivered"] == 1)
    finally:
        server.stop()
    assert inbox.attempts == 2 and len(inbox.mails) == 1
    envelope = inbox.mails[0]
    assert envelope.mail_from == "crisiswatch@example.com"
    assert envelope.rcpt_tos == ["pr@example.com", "legal@example.com"]
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert msg["Subject"] == "[CRITICAL] Acme: playbook crit activated"
    assert msg["To"] == "pr@example.com, legal@example.com"
    key = msg["Idempotency-Key"]
    assert msg["Message-ID"] == f"<{key}@crisiswatch>" and msg["Date"]
    text = msg.get_content().replace("\r\n", "\n")  # SMTP carries CRLF; signed with LF
    assert text.startswith("Outage complaints: 6.0× the usual volume, #acmedown, 60% negative\n"
                           "Acme: 120 mentions in 60 min") and "Incident: inc-m" in text
    stamp = msg["X-Crisiswatch-Timestamp"]
    mac = hmac.new(SECRET, stamp.encode() + b"." + text.encode(), hashlib.sha256).hexdigest()
    assert msg["X-Crisiswatch-Signature"].strip() == "sha256=" + mac  # a folded header
    assert store.outbox.counts()["retried"] == 1


def test_email_refused_with_a_5xx_is_dead_at_once(store: Store, tmp_path: Path) -> None:
    inbox = Inbox(["550 5.7.1 relaying denied"])
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        with fast_worker(store, mail_playbooks(tmp_path, server.port)):
            write(store, incident("inc-m5"))
            dead = wait_for(lambda: store.outbox.dead())
    finally:
        server.stop()
    assert dead[0]["attempts"] == 1 and dead[0]["error"].startswith("SMTP 550")
    assert inbox.mails == []


def test_pagerduty_playbook_activated_after_the_acknowledgement_acknowledges_too(
        store: Store, tmp_path: Path) -> None:
    with Receiver(default=202) as rx:
        playbooks = playbook_file(tmp_path, f"""
destinations:
  oncall: {{url: "{rx.url('/v2/enqueue')}", format: pagerduty, routing_key: "{ROUTING_KEY}"}}
playbooks:
  - name: page-by-hand
    auto: false
    when: {{}}
    actions: [{{webhook: oncall}}]
""")
        config = fast_config()
        with fast_worker(store, playbooks, config), \
                live_api(store, playbooks) as api:
            write(store, incident("inc-late"))
            assert api.post("/alerts/inc-late/ack", json={"actor": "ana"}).status_code == 200
            r = api.post("/alerts/inc-late/activate", json={"actor": "ana",
                                                            "playbook": "page-by-hand"})
            assert r.status_code == 200, r.text
            wait_for(lambda: actions(rx) == ["trigger", "acknowledge"])


def test_destination_formats_are_checked_when_the_file_is_read(tmp_path: Path) -> None:
    import pytest

    from crisiswatch.config.settings import ConfigError

    for dest, problem in [
        ('{url: "http://127.0.0.1/x", format: pagerduty}', "needs routing_key"),
        ('{url: "http://127.0.0.1/x", format: email, from: "a@b", to: ["c@d"]}',
         "smtp:// or smtps://"),
        ('{url: "smtp://127.0.0.1:25", format: email}', "needs from"),
        ('{url: "smtp://127.0.0.1:25", format: teams}', "every other format an http"),
    ]:
        with pytest.raises(ConfigError, match=problem):
            playbook_file(tmp_path, f"destinations:\n  d: {dest}\nplaybooks: []\n")
