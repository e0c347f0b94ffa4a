"""``crisiswatch import csv|ndjson --map …`` and ``import x-v2``: exports of other tools
mapped onto the mention contract, then replayed through the real flow, where every
row is accounted for (a row the import could not convert is dead-lettered with its
reason, never dropped)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from crisiswatch.config.settings import BrandQuerySettings
from crisiswatch.detectors.brands import BrandMatcher, BrandQuery
from crisiswatch.detectors.parse import Parser
from crisiswatch.detectors.types import Mention
from crisiswatch.store import Store
from crisiswatch.store.embedded import EmbeddedRedis
from tests.conftest import replay, settings_for
from tests.helpers.flow_runs import CLI, ROOT

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = (  # a listening tool's export as Excel saves it: BOM, spaces in names, local time
    "\ufeffPost ID,Published (local),Post Content,Author Name,Author Followers,Tags,Network\n"
    "p1,2024-09-05 08:11:04,@Skyways the app is down again,fan1,\"1,234\",#skywaysdown,X\n"
    "p2,2024-09-05 08:12:10,still down @Skyways,fan2,17,,Instagram\n"
    ",2024-09-05 08:13:00,no id in this row @Skyways,fan3,3,,X\n"
    "p4,yesterday,when was this @Skyways,fan4,0,,X\n"
)
MAP = ("id=Post ID,ts=Published (local),text=Post Content,author.handle=Author Name,"
       "author.followers=Author Followers,hashtags=Tags,platform=Network")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)


def lines(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


@pytest.mark.slow
def test_csv_with_a_map_and_a_zone_feeds_the_flow(tmp_path: Path, redis_server: EmbeddedRedis,
                                                  store: Store) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    r = cli("import", "csv", "export.csv", "--map", MAP, "--tz", "Europe/Paris", "-o",
            "out.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 records" in r.stderr
    recs = lines(tmp_path / "out.jsonl")
    first = recs[0]
    assert first == {"id": "p1", "ts": "2024-09-05T08:11:04+02:00",
                     "text": "@Skyways the app is down again",
                     "author": {"handle": "fan1", "followers": 1234},
                     "hashtags": ["skywaysdown"], "platform": "X"}
    assert recs[2]["id"].startswith("import:")  # stable: the same row gets the same id
    assert recs[-1]["ts"] == "yesterday"  # unreadable: kept for the parser, at the end
    again = cli("import", "csv", "export.csv", "--map", MAP, "--tz", "Europe/Paris", "-o",
                "again.jsonl", cwd=tmp_path)
    assert again.returncode == 0 and lines(tmp_path / "again.jsonl") == recs
    # replayed twice over (an export imported twice): every row counted once
    both = tmp_path / "both.jsonl"
    both.write_bytes((tmp_path / "out.jsonl").read_bytes() * 2)
    settings = settings_for(store.p)
    settings.brands = {"Skyways": BrandQuerySettings(handles=["@Skyways"])}
    settings.topics.enabled = False
    replay(settings, [both], redis_server.url)
    stats = store.stats()
    assert stats["read"] == 8 and stats["processed"] == 3 and stats["duplicate"] == 3
    assert stats["dead_lettered"] == 2 and stats["late"] == 0
    assert {d["reason"] for d in store.deadletters()} == {"ts not a timestamp: 'yesterday'"}


def test_without_a_zone_the_flow_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    r = cli("import", "csv", "export.csv", "--map", MAP, "-o", "out.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    parser = Parser(BrandMatcher({"Skyways": BrandQuery(handles=("@Skyways",))}))
    dead = parser.parse(orjson.dumps(lines(tmp_path / "out.jsonl")[0]))
    assert not isinstance(dead, Mention)
    assert dead.reason.startswith("ts has no time zone: '2024-09-05 08:11:04'")


@pytest.mark.slow
def test_a_misspelt_column_stops_the_import(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    r = cli("import", "csv", "export.csv", "--map", "text=Content,ts=Published (local)",
            cwd=tmp_path)
    assert r.returncode == 2
    assert "no column 'Content'" in r.stderr and "Post Content" in r.stderr
    r = cli("import", "csv", "export.csv", "--map", "body=Post Content", cwd=tmp_path)
    assert r.returncode == 2 and "'body' is not a mention field" in r.stderr


def test_ndjson_with_dotted_columns_and_epoch_milliseconds(tmp_path: Path) -> None:
    src = tmp_path / "export.ndjson"
    src.write_bytes(b'{"uid": 7, "post": {"body": "@Skyways hi", "at": 1725516664000}}\n'
                    b"not json at all\n"
                    b'{"uid": 8, "post": {"body": "@Skyways bye", "at": "1725516665"}}\n')
    r = cli("import", "ndjson", str(src), "--map", "id=uid,text=post.body,ts=post.at", "-o",
            "out.jsonl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert orjson.loads(out[0]) == {"id": 7, "text": "@Skyways hi", "ts": 1725516664.0}
    assert orjson.loads(out[1])["ts"] == 1725516665.0
    assert out[2] == b"not json at all"  # for the flow to dead-letter: "not JSON: ..."


def test_x_api_v2_json_maps_authors_links_and_tags(tmp_path: Path) -> None:
    r = cli("import", "x-v2", str(FIXTURES / "x" / "recent_search.json"), "-o", "out.jsonl",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    recs = lines(tmp_path / "out.jsonl")
    assert [x["id"] for x in recs] == ["1800000000000000001", "1800000000000000002",
                                       "1800000000000000003"]  # event-time order
    original, reply, retweet = recs
    assert original["author"] == {"id": "783214", "handle": "@skyways_fan", "followers": 1234}
    assert original["metrics"] == {"likes": 40, "shares": 14}
    assert original["url"] == "https://x.com/skyways_fan/status/1800000000000000001"
    assert reply["reply_to"] == "1800000000000000001"
    assert retweet["retweet_of"] == "1800000000000000001"
    parser = Parser(BrandMatcher({"Skyways": BrandQuery(handles=("@Skyways",))}))
    mentions = [parser.parse(orjson.dumps(x)) for x in recs]
    assert all(isinstance(m, Mention) and m.brands == ("Skyways",) for m in mentions)
    assert mentions[2].is_retweet and mentions[2].hashtags == ("skywaysdown",)
    assert mentions[1].followers == 120034 and mentions[1].handle == "@SkywaysHelp"
