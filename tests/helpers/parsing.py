"""The parser the parse tests read with: three brands, short texts."""

from __future__ import annotations

from crisiswatch.detectors.brands import BrandMatcher, BrandQuery
from crisiswatch.detectors.parse import Parser

MATCHER = BrandMatcher({
    "UniSuper": BrandQuery(hashtags=("#unisuper",), keywords=("unisuper",)),
    "Delta": BrandQuery(handles=("@JetBlue",)),
    "Acme": BrandQuery(keywords=("acme corp",)),
})
PARSER = Parser(MATCHER, max_text_chars=50, source="test.jsonl")
