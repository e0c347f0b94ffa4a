"""Texts with no words of their own have no tone to read (issue 12, issue 13)."""

import pytest

from crisiswatch.detectors.text import has_own_words


@pytest.mark.parametrize("text", [
    "RT @a: @b @c @d #boycott #fail", "@united @delta", "https://t.co/xyz", "#a #b",
    "@x 😡😡", "RT @someone:", "",
])
def test_no_words_of_its_own(text: str) -> None:
    assert not has_own_words(text)


@pytest.mark.parametrize("text", [
    "@united thanks!", "RT @x: my flight is late", "@x 2 hours", "मेरा फ़ोन", "很好",
])
def test_words_of_its_own(text: str) -> None:
    assert has_own_words(text)
