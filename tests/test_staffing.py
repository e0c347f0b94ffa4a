"""Erlang C against values computed by hand, and the staffing advice built on it."""

from __future__ import annotations

import math

import pytest

from crisiswatch.response.staffing import (
    StaffingConfig,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    recommend,
    service_level,
)

# The textbook case: 100 calls an hour, 180 s average handle time -> A = 100 × 180 / 3600
# = 5 Erlangs; target 80 % answered within 20 s.
# By hand, N = 7:  A^7/7! = 78125/5040 = 15.50099;  × N/(N-A) = × 7/2 = 54.25347
#   sum_{k<7} A^k/k! = 1 + 5 + 12.5 + 20.83333 + 26.04167 + 26.04167 + 21.70139 = 113.11806
#   C = 54.25347 / (113.11806 + 54.25347) = 0.32415
#   SL = 1 - C·exp(-(N-A)·T/AHT) = 1 - 0.32415·exp(-2·20/180) = 1 - 0.32415·0.80074 = 0.74044
#   ASA = C·AHT/(N-A) = 0.32415·180/2 = 29.17 s
# N = 8:  C = 0.16727, SL = 1 - 0.16727·exp(-3·20/180) = 0.88015, ASA = 10.04 s
# N = 6:  C = 0.58752, SL = 0.47427
# so 8 agents are the fewest that meet 80/20 (7 give 74 %).
TEXTBOOK = StaffingConfig(aht_seconds=180, service_level=0.8, answer_within_seconds=20,
                          max_occupancy=1.0)


def test_erlang_c_matches_the_hand_computed_textbook_values() -> None:
    assert erlang_c(7, 5.0) == pytest.approx(0.32415, abs=5e-6)
    assert erlang_c(8, 5.0) == pytest.approx(0.16727, abs=5e-6)
    assert erlang_c(6, 5.0) == pytest.approx(0.58752, abs=5e-6)
    assert service_level(7, 5.0, 180, 20) == pytest.approx(0.74044, abs=5e-6)
    assert service_level(8, 5.0, 180, 20) == pytest.approx(0.88015, abs=5e-6)
    assert service_level(6, 5.0, 180, 20) == pytest.approx(0.47427, abs=5e-6)
    assert average_speed_of_answer(7, 5.0, 180) == pytest.approx(29.17, abs=0.01)
    assert average_speed_of_answer(8, 5.0, 180) == pytest.approx(10.04, abs=0.01)
    assert agents_needed(100, TEXTBOOK) == 8


def test_occupancy_cap_adds_agents_where_erlang_c_alone_would_overwork_them() -> None:
    social = StaffingConfig(aht_seconds=360, service_level=0.8, answer_within_seconds=900,
                            max_occupancy=1.0)
    # 110 contacts/h × 6 min = 11 Erlangs: 12 agents answer 80 % within 15 min ...
    assert agents_needed(110, social) == 12
    assert service_level(12, 11.0, 360, 900) >= 0.8 > service_level(11, 11.0, 360, 900)
    # ... at 92 % occupancy; an 85 % cap asks for ceil(11 / 0.85) = 13
    capped = StaffingConfig(aht_seconds=360, service_level=0.8, answer_within_seconds=900)
    assert agents_needed(110, capped) == 13


def test_erlang_b_recurrence_and_the_edges() -> None:
    # B(2, 1) = (1/2!) / (1 + 1 + 1/2!) = 0.2 by the definition
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_c(5, 5.0) == 1.0 and service_level(5, 5.0, 180, 20) == 0.0
    assert math.isinf(average_speed_of_answer(4, 5.0, 180))
    assert erlang_c(3, 0.0) == 0.0 and agents_needed(0, TEXTBOOK) == 0
    # a large center: no overflow, and close to the square-root staffing rule
    big = agents_needed(36_000, TEXTBOOK)  # A = 1800 Erlangs
    assert 1800 < big < 1800 + 3 * math.sqrt(1800)


def test_recommendation_is_the_least_staff_that_meets_service_and_occupancy() -> None:
    cfg = StaffingConfig(reply_fraction=0.5, aht_seconds=300, service_level=0.8,
                         answer_within_seconds=900, horizon_hours=3)
    advice = recommend({"observed": 420, "expected": 60.0, "horizon_minutes": 60}, cfg)
    assert advice is not None
    assert advice["excess_per_hour_now"] == 360.0
    base_contacts = 0.5 * 60.0
    assert all(h["baseline_contacts"] == base_contacts for h in advice["hours"])
    for h in advice["hours"]:
        total = base_contacts + h["contacts"]
        assert h["agents"] == agents_needed(total, cfg)
        assert h["extra_agents"] == h["agents"] - agents_needed(base_contacts, cfg)
        traffic = total * 300 / 3600
        assert service_level(h["agents"], traffic, 300, 900) >= 0.8
        assert traffic / h["agents"] <= 0.85 and h["occupancy"] <= 0.85
        fewer = h["agents"] - 1  # one agent less misses the service level or overworks
        assert service_level(fewer, traffic, 300, 900) < 0.8 or traffic / fewer > 0.85
    extras = [h["extra_agents"] for h in advice["hours"]]
    assert extras == sorted(extras, reverse=True) and extras[0] > 0
    assert advice["peak_extra_agents"] == extras[0]
    for h in advice["hours"]:  # the cautious figure staffs the forecast's P90
        assert h["excess_mentions_p90"] >= h["excess_mentions"]
        assert h["agents_p90"] == agents_needed(base_contacts + h["contacts_p90"], cfg)
        assert h["extra_agents_p90"] >= h["extra_agents"]
    assert advice["peak_extra_agents_p90"] >= advice["peak_extra_agents"]
    assert "extra agent" in advice["summary"] and "80% within 15 min" in advice["summary"]
    assert recommend({"summary": "no counts"}, cfg) is None
