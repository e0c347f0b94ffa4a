"""Query parameters more than one router reads (a module of its own, so that the
routers and ``api.app`` do not import each other)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Query

TimeParam = Annotated[
    str | None,
    Query(description="ISO-8601 with a zone (2015-02-23T10:00:00-08:00) or epoch seconds"),
]


def parse_time(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isnan(seconds):  # Redis would refuse it as a range bound: a 503, not a 422
            raise HTTPException(422, f"'{name}' is not a time: {value!r}")
        return seconds
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"'{name}' is not a time: {value!r}") from None
    if dt.tzinfo is None:
        raise HTTPException(422, f"'{name}' has no time zone: {value!r} (add Z or an offset)")
    return dt.timestamp()
