"""Complaint topics: what a brand's mentions are about, grouped, with example posts.

``GET /brands/{brand}/topics`` lists the topics growing fastest first, so a product team
sees the new cluster ("app login fails") before it moves the brand's volume;
``GET /topics/{id}`` gives one topic with its examples and per-window series.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut, Example
from crisiswatch.api.params import parse_time
from crisiswatch.api.security import require

router = APIRouter(tags=["topics"], dependencies=[Depends(require("read"))])
ERRORS: dict[int | str, dict] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut},
                                 503: {"model": ErrorOut}}


class TopicExample(Example):
    copies: int = Field(description="copies of this text (retweets, copy-paste) in the topic")
    similarity: float = Field(description="cosine to the topic's centroid when it joined")


class TopicOut(BaseModel):
    id: str
    brand: str
    state: Literal["active", "merged", "faded"] = Field(
        description="active; merged into another topic (see merged_into); or faded away")
    merged_into: str | None
    terms: list[tuple[str, float]] = Field(description="distinctive terms (class-based TF-IDF)")
    size: int = Field(description="mentions in the topic, copies included")
    texts: int = Field(description="distinct texts in the topic")
    weight: float = Field(description="mentions with exponential decay: how alive it is")
    window_count: int = Field(description="mentions in its last window")
    expected: float = Field(description="mentions expected in that window from its history")
    growth: float = Field(description="(window_count + 1) / (expected + 1)")
    authors: int = Field(0, description="distinct authors of its original posts (retweets "
                         "not counted), up to 64")
    emerging: bool = Field(False, description="a young topic that grew steadily over a day "
                           "or two (many mentions, several authors, spread over hours) as of "
                           "its last window, even if no single window was surprising")
    mean_sentiment: float
    negative_share: float
    first_window: float = Field(description="start of the window that created it")
    last_window: float = Field(description="start of the last window with its mentions")
    updated_window: float
    window_s: int
    examples: list[TopicExample]


class TopicDetail(TopicOut):
    series: list[tuple[float, int]] = Field(description="(window start, mentions) per window "
                                            "with mentions, the most recent windows")


@router.get("/brands/{brand:path}/topics", response_model=list[TopicOut], responses=ERRORS)
def brand_topics(
    store: StoreDep, brand: str,
    since: Annotated[str | None, Query(description="topics with mentions at or after this time: "
                                       "ISO-8601 with a zone, or epoch seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    emerging: Annotated[bool | None, Query(
        description="true: only the emerging topics; false: only the others")] = None,
) -> list[dict]:
    """The brand's live topics, growing fastest first (last window against expected);
    ``emerging`` marks the complaints that grew over days (see ``TopicOut``)."""
    if brand not in store.brands():
        raise HTTPException(404, f"unknown brand {brand!r}; GET /brands lists them")
    if emerging is None:
        return store.topics(brand, parse_time(since, "since"), limit)
    found = store.topics(brand, parse_time(since, "since"), 1000)
    return [t for t in found if t.get("emerging", False) == emerging][:limit]


@router.get("/topics/{topic_id}", response_model=TopicDetail, responses=ERRORS)
def topic(store: StoreDep, topic_id: str) -> dict:
    """One topic with its examples and per-window series (merged topics name their
    successor in ``merged_into``)."""
    found = store.topic(topic_id)
    if found is None:
        raise HTTPException(404, f"no topic with id {topic_id!r}")
    return found
