"""Who posted in a topic: distinct authors of original posts, bounded and picklable.

An emerging complaint is many people saying one thing, not one account saying it many
times; so topics count authors. A topic remembers at most ``AUTHORS_KEPT`` of them, as
small stable keys rather than handles.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import TypeVar

A = TypeVar("A")  # an author: a handle in a window's texts, a key in a topic
AUTHORS_KEPT = 64  # distinct authors a text (per window) and a topic remember: "64 or more"


def add_authors(mine: list[A], new: Iterable[A]) -> None:
    """Add the authors not yet in ``mine``, up to AUTHORS_KEPT in all."""
    for a in new:
        if len(mine) >= AUTHORS_KEPT:
            return
        if a not in mine:
            mine.append(a)


def author_key(author: str) -> int:
    """A stable small key for an author (CRC-32): a topic remembers who posted without
    keeping handles, and the key is the same after a restart, unlike ``hash``."""
    return zlib.crc32(author.encode())
