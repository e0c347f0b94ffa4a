"""``POST /mentions/{mention_id}/label``: people correct the sentiment of a mention.

The label goes onto the ``p:labels`` stream (``Store.labels``) and the flow's sentiment
model learns from it online, so the scorer adapts to how a brand's audience writes.
The answer is 202: the label is stored now and learned from when the flow reads it.

The mention's text must come with the label. Mention texts are not stored by id yet
(only incidents keep a few example posts), so the API cannot look the text up, and a
label without its text teaches nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from crisiswatch.api.deps import StoreDep
from crisiswatch.api.models import ErrorOut
from crisiswatch.api.security import require

# operate, not ingest: a label teaches the sentiment model, so it comes from people
# triaging incidents, not from the machine feeds that hold ingest keys.
router = APIRouter(tags=["sentiment"], dependencies=[Depends(require("operate"))])

SentimentLabel = Literal["negative", "neutral", "positive"]
MAX_TEXT_CHARS = 10_000


class LabelIn(BaseModel):
    label: SentimentLabel
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS,
                             description="the mention's text (required for now: mention "
                             "texts are not stored by id)")
    actor: str | None = Field(None, max_length=200, description="who gave the label")


class LabelOut(BaseModel):
    id: str = Field(description="the label's stream id: its place in the learning order")
    mention_id: str
    label: SentimentLabel
    text: str
    actor: str | None
    ts: float = Field(description="when it was stored, epoch seconds")


@router.post("/mentions/{mention_id}/label", status_code=202, response_model=LabelOut,
             responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}})
def label_mention(
    mention_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: LabelIn,
    store: StoreDep,
) -> dict:
    """Store a sentiment label for a mention; the flow's model learns from it."""
    if body.text is None or not body.text.strip():
        raise HTTPException(422, "'text' is required: give the mention's text with its "
                            "label (mention texts are not stored by id, so the label "
                            "cannot be matched to one without it)")
    return store.labels.add(mention_id, body.label, body.text, body.actor)
