"""The API built from a plain ``ApiConfig`` written by hand (no settings), served over
real HTTP on a real Redis: every part of the config reaches the routes that read it."""

from __future__ import annotations

import httpx

from crisiswatch.api.config import ApiConfig, IngestConfig, SecurityConfig
from crisiswatch.detectors.brands import BrandMatcher, BrandQuery
from crisiswatch.detectors.parse import Parser
from crisiswatch.response.digest import Team
from crisiswatch.response.playbooks import Action, Conditions, Playbook, PlaybookSet
from crisiswatch.response.staffing import StaffingConfig
from crisiswatch.store import Store
from tests.conftest import LiveAPI
from tests.helpers.activation import T0, incident, write

CONFIG = ApiConfig(
    security=SecurityConfig(anonymous_read=False, rate_per_second=None),
    version="9.9.9",
    playbooks=PlaybookSet((Playbook("care", "the care team takes it",
                                    Conditions(min_severity="warning"),
                                    actions=(Action("assign", "care"),)),)),
    staffing=StaffingConfig(horizon_hours=2),
    digest_teams=(Team("care", ("care",)),),
    ingest=IngestConfig(Parser(BrandMatcher({"Acme": BrandQuery(keywords=("acme",))})).parse,
                        max_records=2),
)


def test_an_api_built_from_a_hand_written_config_serves_what_it_says(store: Store) -> None:
    write(store, incident("inc-1", brand="Acme"))
    with LiveAPI(store, CONFIG) as api:
        assert api.get("/openapi.json").json()["info"]["version"] == "9.9.9"
        assert httpx.get(str(api.base_url.join("/alerts"))).status_code == 401  # no anonymous read

        assert [p["name"] for p in api.get("/playbooks").json()] == ["care"]
        advice = api.get("/alerts/inc-1/staffing").json()
        assert [h["hour"] for h in advice["hours"]] == [0, 1]
        assert api.get("/digest", params={"team": "care", "from": T0 - 60,
                                          "to": T0 + 86_400}).json()["team"] == "care"
        unknown = api.get("/digest", params={"team": "pr"})
        assert unknown.status_code == 404 and "known: care" in unknown.json()["error"]["message"]
        ok = {"id": "m1", "ts": T0, "text": "acme is down"}
        assert api.post("/mentions", json=[ok] * 3).status_code == 413  # max_records
        r = api.post("/mentions", json=[ok, {"id": "m2", "ts": T0, "text": "no brand"}])
        assert r.status_code == 202, r.text
        assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    queued = [raw for k in range(store.inputs.partitions())
              for _, raw in store.inputs.partition(k).between(None, "+", 100)]
    assert len(queued) == 1 and b"acme is down" in queued[0]


def test_a_config_without_playbooks_or_ingestion_says_so(store: Store) -> None:
    with LiveAPI(store, ApiConfig()) as api:
        for r in (api.get("/playbooks"), api.post("/mentions", json=[])):
            assert r.status_code == 503
            assert "this API was started without" in r.json()["error"]["message"]
        assert api.get("/health").json()["redis"] is True
