"""Playbook conditions over incident documents, and the playbook file's validation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crisiswatch.config.playbooks import load_playbooks
from crisiswatch.config.settings import CONFIG_DIR, ConfigError, load_settings
from crisiswatch.response.playbooks import AuthorCondition, Conditions, Playbook, matches
from crisiswatch.store.embedded import EmbeddedRedis
from crisiswatch.worker.hosts import host_allowed
from tests.helpers.activation import incident, playbook_file

SHIPPED = Path(__file__).resolve().parents[1] / "configs" / "playbooks.yaml"


def pb(**when: object) -> Playbook:
    return Playbook("p", when=Conditions(**when))  # type: ignore[arg-type]


def test_each_condition_matches_and_refuses() -> None:
    inc = incident(brand="Acme Pharma EU", severity="warning", kinds=("volume", "keyword"),
                   reach=250_000, negative_share=0.7,
                   watchlist_hits=[{"term": "side effect", "severity": "warning", "count": 4}],
                   topics=[{"id": "t3", "terms": ["rash", "tablet"], "size": 12}])
    yes = [
        pb(brands=("acme pharma*",)), pb(kinds=("keyword", "topic")),
        pb(min_severity="warning"), pb(keywords=("outage",)), pb(keywords=("#*down",)),
        pb(keywords=("app",)), pb(keywords=("side eff*",)), pb(watchlist=("side*",)),
        pb(watchlist=("*",)), pb(min_reach=200_000), pb(min_negative_share=0.5),
        pb(topic_terms=("rash",)), pb(author=AuthorCondition(500, complaint=True)),
    ]
    no = [
        pb(brands=("Acme",)), pb(kinds=("sentiment",)), pb(min_severity="critical"),
        pb(keywords=("refund",)), pb(keywords=("#outage",)), pb(keywords=("own",)),
        pb(keywords=("app down",)),  # in a quoted post only: not what the incident is about
        pb(watchlist=("lawsuit*",)), pb(min_reach=300_000), pb(min_negative_share=0.8),
        pb(topic_terms=("refund",)), pb(author=AuthorCondition(1000)),
        pb(brands=("acme*",), min_severity="critical"),  # every condition must hold
    ]
    for p in yes:
        assert matches(p, inc), p.when
    for p in no:
        assert matches(p, inc) is None, p.when
    reasons = matches(pb(min_severity="info", watchlist=("side*",)), inc)
    assert reasons == ["severity warning >= info",
                       "watchlist hit 'side effect' (4x) matches 'side*'"]


def test_missing_evidence_never_matches() -> None:
    bare = {"id": "x", "brand": "Acme", "kinds": ["volume"], "severity": "critical",
            "explanation": {"summary": "old detector"}}
    for p in (pb(watchlist=("*",)), pb(topic_terms=("rash",)), pb(keywords=("x",)),
              pb(min_reach=1), pb(author=AuthorCondition(1)), pb(min_negative_share=0.0)):
        assert matches(p, bare) is None
    assert matches(pb(), bare) == ["no conditions: matches every incident"]


def test_complaint_needs_a_negative_post_by_the_large_author() -> None:
    praise = incident(examples=[{"id": "1", "ts": 0, "text": "love it", "handle": "@star",
                                 "followers": 2_000_000, "sentiment": 0.8}],
                      max_followers=2_000_000)
    p = pb(author=AuthorCondition(100_000, complaint=True))
    assert matches(p, praise) is None
    assert matches(pb(author=AuthorCondition(100_000)), praise)
    loud = incident(loudest_complaints=[{"id": "2", "ts": 0, "text": "worst service",
                                         "handle": "@star", "followers": 2_000_000,
                                         "sentiment": -0.7}])
    assert matches(p, loud) == ["a complaint by @star with 2,000,000 followers"]


def test_the_shipped_playbooks_load_with_the_default_allowlist() -> None:
    settings = load_settings()
    playbooks = load_playbooks(settings.activation.playbooks_path,
                               settings.webhooks.allowed_hosts)
    assert playbooks.names == ["adverse-drug-reaction", "executive-attention", "noc-outage",
                               "pr-legal-critical"]
    pr = playbooks.get("pr-legal-critical")
    assert pr is not None and pr.respond_within_minutes == 15 and len(pr.escalation) == 2
    assert playbooks.destinations["pr-legal"].format == "slack"



def test_the_shipped_playbooks_route_the_textbook_cases() -> None:
    settings = load_settings()
    shipped = load_playbooks(settings.activation.playbooks_path,
                             settings.webhooks.allowed_hosts)

    def routed(doc: dict) -> list[str]:
        return [p.name for p in shipped.playbooks if matches(p, doc)]

    plain = {"top_terms": [["refund", 9]], "top_hashtags": [], "examples": []}
    drug = incident(severity="warning", kinds=("keyword",), **plain, watchlist_hits=[
        {"term": "adverse reaction*", "severity": "critical", "count": 1}])
    star = incident(severity="warning", kinds=("reach",), **{**plain, "loudest_complaints": [
        {"id": "9", "ts": 0, "text": "never again", "handle": "@celebrity",
         "followers": 2_500_000, "sentiment": -0.8}]})
    outage = incident(severity="warning", kinds=("volume", "keyword"), **plain,
                      watchlist_hits=[{"term": "no signal", "severity": "warning",
                                       "count": 40}])
    storm = incident(severity="warning", kinds=("hashtag",),
                     **{**plain, "top_hashtags": [["northwinddown", 80]]})
    crisis = incident(severity="critical", kinds=("volume",), **plain)
    assert routed(drug) == ["adverse-drug-reaction"]
    assert routed(star) == ["executive-attention"]
    assert routed(outage) == ["noc-outage"] and routed(storm) == ["noc-outage"]
    assert routed(crisis) == ["pr-legal-critical"]
    assert routed(incident(severity="info", **plain)) == []


GOOD = """\
destinations:
  team:
    url: http://127.0.0.1:9/hook
playbooks:
  - name: first
    when:
      min_severity: critical
    actions:
      - webhook: team
"""


def error_of(tmp_path: Path, text: str, allowed: tuple[str, ...] = ("127.0.0.1",)) -> str:
    with pytest.raises(ConfigError) as e:
        playbook_file(tmp_path, text, allowed)
    return str(e.value)


def test_file_errors_name_the_file_the_line_and_the_field(tmp_path: Path) -> None:
    where = tmp_path / "playbooks.yaml"
    assert playbook_file(tmp_path, GOOD).names == ["first"]
    msg = error_of(tmp_path, GOOD.replace("min_severity: critical", "min_severity: urgent"))
    assert msg.startswith(f"{where}:7: playbooks[0] (first).when.min_severity: Input should "
                          "be 'info', 'warning' or 'critical'"), msg
    msg = error_of(tmp_path, GOOD.replace("webhook: team", "webhook: nobody"))
    assert msg == (f"{where}:9: playbooks[0] (first).actions[0].webhook: no destination "
                   "'nobody' (known: team)")
    msg = error_of(tmp_path, GOOD.replace("    when:", "    wen:"))
    assert msg.startswith(f"{where}:6: playbooks[0] (first).wen: Extra inputs"), msg
    msg = error_of(tmp_path, GOOD.replace("127.0.0.1:9", "169.254.169.254"))
    assert msg.startswith(f"{where}:3: destinations.team.url: '169.254.169.254' is not an "
                          "http(s) host on webhooks.allowed_hosts"), msg
    msg = error_of(tmp_path, GOOD + GOOD.split("playbooks:\n")[1])
    assert f"{where}:10: playbooks[1] (first).name: 'first' is also the name of playbooks[0]" \
        in msg
    msg = error_of(tmp_path, GOOD.replace("- webhook: team", "- {webhook: team, assign: x}"))
    assert msg.startswith(f"{where}:9: playbooks[0] (first).actions[0]: Value error, an "
                          "action is one of"), msg
    msg = error_of(tmp_path, GOOD.replace("http://127.0.0.1:9/hook", "${CW_TEST_UNSET_URL}"))
    assert "destinations.team.url: environment variable CW_TEST_UNSET_URL is not set" in msg
    msg = error_of(tmp_path, "playbooks:\n  - name: x\n  actions: [")
    assert msg.startswith(f"{where}:3: not valid YAML: "), msg
    assert error_of(tmp_path, "- a\n- b\n").endswith("must be a mapping with `destinations` "
                                                     "and `playbooks`")


def test_env_references_fill_destination_urls(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = GOOD.replace("http://127.0.0.1:9/hook", "${CW_TEST_HOOK:-http://127.0.0.1:9/d}")
    assert playbook_file(tmp_path, text).destinations["team"].url == "http://127.0.0.1:9/d"
    monkeypatch.setenv("CW_TEST_HOOK", "https://hooks.slack.com/services/T/B/X")
    got = playbook_file(tmp_path, text, ("127.0.0.1", "hooks.slack.com"))
    assert got.destinations["team"].url == "https://hooks.slack.com/services/T/B/X"


def test_worker_refuses_to_start_on_a_bad_playbook_file(tmp_path: Path,
                                                        redis_server: EmbeddedRedis) -> None:
    bad = tmp_path / "pb.yaml"
    bad.write_text(GOOD.replace("min_severity: critical", "min_severity: urgent"))
    env = {**os.environ, "REDIS_URL": redis_server.url,
           "CRISISWATCH_ACTIVATION__PLAYBOOKS": str(bad),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, "-m", "crisiswatch.cli", "worker"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "playbook error" in r.stderr and f"{bad}:7:" in r.stderr


def test_webhook_hosts_are_allowed_on_their_ports_never_on_internal_ones() -> None:
    demo = load_settings().webhooks.allowed_hosts
    assert host_allowed("http://127.0.0.1:9000/hooks/noc", demo)
    assert not host_allowed("http://127.0.0.1:6379/", demo)  # Redis reads lines as commands
    assert not host_allowed("http://localhost:5432/", demo)
    assert host_allowed("http://10.0.0.7:6379/", ["10.0.0.7:6379"])  # named: allowed
    assert not host_allowed("http://10.0.0.7:6380/", ["10.0.0.7:6379"])
    assert host_allowed("http://[::1]:9000/", ["::1"]) and host_allowed(
        "http://[::1]:9000/", ["[::1]:9000"])
    assert not host_allowed("http://127.0.0.1:99999/", demo)
    production = load_settings(CONFIG_DIR / "production.yaml").webhooks.allowed_hosts
    assert host_allowed("https://hooks.slack.com/services/T/B/X", production)
    for url in ("http://127.0.0.1:9000/hooks/noc", "http://localhost/",
                "https://hooks.slack.com:6379/"):
        assert not host_allowed(url, production), url
