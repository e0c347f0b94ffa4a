"""One incident, one shape: the API's response models say what ``detectors.types``
says, field for field and type for type, and an incident goes to its stored document
and back unchanged (what the store writes and reads, what ``GET /alerts`` answers)."""

from __future__ import annotations

import types
from dataclasses import fields, is_dataclass, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import orjson
import pytest
from pydantic import BaseModel

from crisiswatch.api import models as api
from crisiswatch.detectors import brand
from crisiswatch.detectors.feedback import Pattern
from crisiswatch.detectors.support import Support
from crisiswatch.detectors.types import (
    Example,
    Explanation,
    HashtagLift,
    Incident,
    Mention,
    Signal,
    TermLift,
    TopicRef,
    WatchHit,
)
from crisiswatch.detectors.watchlist import Watchlist, WatchTerm
from crisiswatch.detectors.window import WindowStats

# each record of the incident and the response model that answers it over HTTP
PAIRS: dict[type, type[BaseModel]] = {
    Explanation: api.Explanation, HashtagLift: api.HashtagLift, TermLift: api.TermLift,
    WatchHit: api.WatchHit, TopicRef: api.TopicRef, Example: api.Example,
    Signal: api.SignalOut, Support: api.SupportOut, Pattern: api.PatternOut,
}
MODELS = set(PAIRS.values())


def shape(tp: Any) -> Any:
    """A type as the JSON it makes: sequences (lists, tuples, sets) are arrays, a record
    is its response model, a literal its values."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return ("one of", frozenset(shape(a) for a in args))
    if origin is Literal:
        return ("literal", frozenset(args))
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return ("tuple", tuple(shape(a) for a in args))
    if origin in (list, tuple, frozenset, set):
        return ("array", shape(args[0]))
    if origin is dict:
        return ("object", shape(args[1]))
    if tp in PAIRS:
        return ("record", PAIRS[tp].__name__)
    if tp in MODELS:
        return ("record", tp.__name__)
    return tp


def record_shapes(cls: type) -> dict[str, Any]:
    """A record's fields as it writes them: its own ``to_dict`` may say more (Support's
    shares, read off its properties)."""
    hints = get_type_hints(cls)
    out = {f.name: shape(hints[f.name]) for f in fields(cls)}
    if cls is Support:
        written = Support(10, 8, 5, 2, 3, 2, 1, 1, 1).to_dict()
        out = {name: out[name] if name in out else
               shape(get_type_hints(getattr(Support, name).fget)["return"]) for name in written}
    return out


def model_shapes(model: type[BaseModel]) -> dict[str, Any]:
    return {name: shape(f.annotation) for name, f in model.model_fields.items()}


@pytest.mark.parametrize("record", list(PAIRS), ids=lambda c: c.__name__)
def test_each_response_model_has_its_records_fields_and_types(record: type) -> None:
    """(In the order of its own: the HTTP answer keeps the order it always had.)"""
    assert model_shapes(PAIRS[record]) == record_shapes(record)


def test_an_alert_is_the_incident_with_the_peoples_side_after_it() -> None:
    """``AlertOut`` is the incident's fields, its headline and the people's side; its
    ``state`` is the people's (acknowledged, escalated), which takes in the detector's,
    kept in ``detector_state``."""
    incident, alert = record_shapes(Incident), model_shapes(api.AlertOut)
    assert set(alert) - set(incident) == {"headline", "detector_state", "assignee", "playbooks",
                                          "sla", "audit", "snoozed", "feedback"}
    detector_states = incident.pop("state")
    assert {k: alert[k] for k in incident} == incident
    assert detector_states[1] <= alert["state"][1]
    assert alert["detector_state"] == ("one of", frozenset({detector_states, type(None)}))


def mention(i: int, sentiment: float, tags: tuple[str, ...] = (), text: str = "",
            author: int = 0, watch: tuple[str, ...] = ()) -> Mention:
    text = text or f"mention number {i} about the app"
    return Mention(id=str(i), ts=float(i), brands=("B",), text=text, hashtags=tags, watch=watch,
                   author_id=f"a{author or i}", handle=f"@a{author or i}", followers=10 + i % 50,
                   norm_text=text.lower(), sentiment=sentiment,
                   tone=(sentiment > 0.05) - (sentiment < -0.05))


@pytest.fixture(scope="module")
def versions() -> list[Incident]:
    """A real incident: a day of ordinary mentions, then a negative burst with a hashtag
    and a watch term in it."""
    cfg = brand.DetectorConfig(window_s=300, watchlist=Watchlist((WatchTerm("refund*"),)))
    state, out = brand.BrandState(), []
    for w in range(403):
        stats, burst = WindowStats(), w >= 400
        for i in range(60 if burst else 10):
            n = w * 100 + i
            if burst:
                stats.add(mention(n, -0.7, ("fleetfail",), f"no refund for flight {i} #fleetfail",
                                  watch=("refund*",)))
            else:
                stats.add(mention(n, -0.5 if i % 3 == 0 else 0.4, author=i + 1))
        out += brand.observe(state, "B", 1000 + w, stats, cfg).incidents
    return out


def test_an_incident_goes_to_its_document_and_back_unchanged(versions: list[Incident]) -> None:
    last = versions[-1]
    assert {"hashtag", "keyword", "volume"} <= set(last.kinds)
    ex = last.explanation
    assert ex.hashtags and ex.watchlist_hits and ex.examples and ex.support and ex.pattern
    topical = replace(last, explanation=replace(ex, topics=(TopicRef("t1", ("gate", "app"), 9,
                                                                     "new"),)))
    for v in [*versions, topical]:
        doc = orjson.loads(orjson.dumps(v.to_dict()))  # as the store keeps it
        assert Incident.from_dict(doc) == v
        assert Incident.from_dict(doc).to_dict() == doc


def test_the_api_answers_the_document_as_it_is(versions: list[Incident]) -> None:
    doc = orjson.loads(orjson.dumps(versions[-1].to_dict()))
    answered = api.AlertOut.model_validate({**doc, "headline": "h"}).model_dump(mode="json")
    assert {k: answered[k] for k in doc} == doc


def test_a_document_stored_before_the_later_fields_reads_with_their_defaults(
        versions: list[Incident]) -> None:
    doc = versions[-1].to_dict()
    late = ("term_lifts", "topics", "support", "quiet_reason", "quiet_kind", "pattern")
    old = {**doc, "explanation": {k: v for k, v in doc["explanation"].items() if k not in late}}
    read = Incident.from_dict(old).explanation
    assert (read.term_lifts, read.topics, read.support, read.pattern) == ((), (), None, None)
    with pytest.raises(TypeError):  # a document without a field the contract requires
        Incident.from_dict({**doc, "explanation": {"summary": "old detector"}})


def test_records_are_dataclasses_and_models_are_pydantic() -> None:
    assert all(is_dataclass(r) for r in PAIRS) and is_dataclass(Incident)
