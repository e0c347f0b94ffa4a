"""Who is talking: the support behind a burst, and whether it should page anyone.

Half the warnings a crisis team was paged for on real multi-brand streams were not
about the public at all: the brand's own post being retweeted, its own giveaway tag,
cashtag pump lists, twenty copies of one template from three accounts. What tells them
apart from a crisis is not how many mentions there are but *who* wrote them and *how*:
a crisis has several distinct people writing in their own words (or one complaint
shared widely), spam has few accounts, templates, and posts that are mostly cashtags,
handles and links or promotion words.

So every window counts, in bounded space, the distinct authors (a bottom-k sketch:
exact up to ``SKETCH_K``, an estimate beyond, mergeable across windows), the distinct
voices (authors of original, non-spam posts that are not the brand's own), how much of
it is the brand's own (posts by its accounts, retweets of them) and how much is
spam-like; incident fusion reads them through ``Support`` and ``verdict``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from heapq import heapify, heappush, heappushpop
from typing import Literal, NamedTuple
from zlib import crc32

from crisiswatch.detectors.text import normalise_text

SKETCH_K = 32  # exact up to this many: paging asks for 3 to 5
_FULL = 1 << 32
_NO_HASHES: frozenset[int] = frozenset()  # what an empty sketch holds (see Distinct)

_CASHTAG = re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z.]{0,5}(?![\w$])")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_LINK = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"(?<![@#$\w])[^\W\d_]{2,}")
_RT_SOURCE = re.compile(r"^\s*RT\s+@(\w+)", re.IGNORECASE)
# Words of promotion: one of these makes a post promotional ("subscribe", "giveaway")
PROMO_STRONG = frozenset({
    "subscribe", "subscribers", "giveaway", "giveaways", "sweepstakes", "coupon", "coupons",
    "pennystock", "pennystocks", "newsletter", "promo", "promocode", "unsubscribe",
})
# ... and two of these together ("win a free ...", "click to join")
PROMO_WEAK = frozenset({
    "win", "free", "click", "join", "follow", "discount", "offer", "signup", "alerts",
    "profit", "profits", "bonus", "enter", "contest", "prize", "earn", "trial", "deal",
})
_CLAUSE_END = re.compile(r"[.!?;\n]")
_HEDGES = re.compile(
    r"\b(?:i think|i guess|i wonder|wondering|maybe|might be|could be|rumou?rs?|"
    r"anyone (?:else|know)|is (?:this|it|there) a|was (?:this|it|there) a|did you (?:have|get))"
    r"\b", re.IGNORECASE)


def key_hash(key: str) -> int:
    """The 32-bit hash the sketches keep."""
    return crc32(key.encode())


class Distinct:
    """Distinct keys in bounded space: the ``k`` smallest 32-bit hashes (a bottom-k, or
    KMV, sketch). Exact while fewer than ``k`` keys were seen; beyond, the k-th smallest
    hash says how dense the hashes are, hence how many there were. Two sketches merge
    into the sketch of the union, so an incident's windows add up. The hashes kept are
    a max-heap (negated) beside a set, so a newcomer costs a comparison with the floor,
    and a replacement a heap step, not a scan.

    >>> d = Distinct()
    >>> for who in ["ann", "bob", "ann"]: d.add(who)
    >>> d.estimate()
    2
    """

    __slots__ = ("floor", "hashes", "heap", "k")

    def __init__(self, k: int = SKETCH_K) -> None:
        self.k = k
        # shared and empty until the first key: most sketches of a brand met once stay
        # empty, and an empty set is 216 bytes
        self.hashes: set[int] | frozenset[int] = _NO_HASHES
        self.heap: list[int] = []  # the hashes kept, negated: the largest first
        self.floor = _FULL  # a hash must be below this to join (any, until full)

    def add(self, key: str) -> None:
        self.add_hash(key_hash(key))

    def add_hash(self, h: int) -> None:
        """Add a key by its ``key_hash`` (one hash for the sketches a key goes into)."""
        if h < self.floor and h not in self.hashes:
            self._put(h)

    def _put(self, h: int) -> None:
        if self.hashes is _NO_HASHES:
            self.hashes = set()
        self.hashes.add(h)  # type: ignore[union-attr]
        if len(self.heap) < self.k:
            heappush(self.heap, -h)
            if len(self.heap) == self.k:
                self.floor = -self.heap[0]
            return
        self.hashes.discard(-heappushpop(self.heap, -h))  # type: ignore[union-attr]
        self.floor = -self.heap[0]

    def merge(self, other: Distinct) -> Distinct:
        for h in other.hashes:
            if h < self.floor and h not in self.hashes:
                self._put(h)
        return self

    def estimate(self) -> int:
        if len(self.heap) < self.k:
            return len(self.heap)
        return round((self.k - 1) * _FULL / (self.floor + 1))

    def __getstate__(self) -> tuple[int, list[int]]:
        return self.k, sorted(self.hashes)

    def __setstate__(self, state: tuple[int, list[int]]) -> None:
        self.k, hashes = state
        self.hashes = set(hashes) if hashes else _NO_HASHES
        self.heap = [-h for h in hashes]
        heapify(self.heap)
        self.floor = -self.heap[0] if len(self.heap) >= self.k else _FULL


def spam_like(text: str, norm: str | None = None) -> bool:
    """Whether a post reads as promotion or a ticker list rather than a person's words:
    three cashtags or more (pump lists, "$AAPL $GOOG $C ..."), more cashtags, handles
    and links than words when it holds a cashtag, or words of promotion, read off
    ``norm`` (the text as ``normalise_text`` gives it) when the caller has it. A row of
    handles and hashtags alone is *not* spam: people tag a brand that way in a storm.

    >>> spam_like("Keeping my Eye on $C $TFX $IXYS #money http://t.co/x")
    True
    >>> spam_like("@NorthwindTel @NorthwindHelp #northwinddown")
    False
    >>> spam_like("Subscribe for our free daily picks")
    True
    >>> spam_like("my phone has had no signal since this morning, free me")
    False
    """
    if "$" in text:  # most texts hold no cashtag: one test, not three scans
        cashtags = len(_CASHTAG.findall(text))
        if cashtags >= 3:
            return True
        if cashtags:
            words = len(_WORD.findall(_LINK.sub(" ", text)))
            junk = cashtags + len(_HANDLE.findall(text)) + len(_LINK.findall(text))
            if junk > words:
                return True
    vocabulary = set((normalise_text(text) if norm is None else norm).split())
    return not vocabulary.isdisjoint(PROMO_STRONG) or len(vocabulary & PROMO_WEAK) >= 2


def retweet_source(text: str) -> str | None:
    """The handle an old-style retweet ("RT @acme: ...") repeats, lower case."""
    m = _RT_SOURCE.match(text)
    return m.group(1).lower() if m else None


def speculative(text: str, term_at: int) -> bool:
    """Whether the clause holding a watch term (at ``term_at`` in ``text``) wonders
    rather than tells: a question ("data breach?") or a hedge ("I think", "maybe",
    "rumour"). Three customers asking whether spam calls mean a breach are one rumour,
    not three witnesses.

    >>> speculative("Did @acme have a data breach? I get spam calls", 17)
    True
    >>> speculative("Acme confirms data breach. Cards stolen?", 13)
    False
    """
    start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, term_at)), default=0)
    end_match = _CLAUSE_END.search(text, term_at)
    clause = text[start:end_match.end() if end_match else len(text)]
    return clause.rstrip().endswith("?") or _HEDGES.search(clause) is not None


@dataclass(frozen=True)
class SupportConfig:
    """What a burst needs to page: ``min_voices`` distinct people in their own words,
    or one widely shared negative original (``viral_retweets``); no more than
    ``max_own_share`` of the brand's own content and ``max_spam_share`` of spam; and
    not a handful of accounts posting over and over."""

    min_voices: int = 3
    viral_retweets: int = 20
    few_accounts: int = 5  # this few accounts posting ...
    posts_per_account: float = 3.0  # ... this many times each is a bot or a template
    max_own_share: float = 0.5
    max_spam_share: float = 0.5


@dataclass(frozen=True, slots=True)
class Support:
    """The support of a burst, as an incident shows it."""

    mentions: int
    authors: int  # distinct authors
    voices: int  # distinct authors of original, non-spam posts not by the brand
    originals: int  # distinct originals its retweets repeat
    retweets: int
    top_retweets: int  # retweets of the most retweeted original
    own: int  # the brand's own posts and retweets of them
    spam: int
    spam_authors: int

    @property
    def own_share(self) -> float:
        return self.own / self.mentions if self.mentions else 0.0

    @property
    def spam_share(self) -> float:
        return self.spam / self.mentions if self.mentions else 0.0

    @property
    def retweet_share(self) -> float:
        return self.retweets / self.mentions if self.mentions else 0.0

    def to_dict(self) -> dict[str, int | float]:
        return {"mentions": self.mentions, "authors": self.authors, "voices": self.voices,
                "originals": self.originals, "retweets": self.retweets,
                "retweet_share": round(self.retweet_share, 3),
                "top_retweets": self.top_retweets, "own": self.own,
                "own_share": round(self.own_share, 3), "spam": self.spam,
                "spam_share": round(self.spam_share, 3), "spam_authors": self.spam_authors}


QuietKind = Literal["own", "spam", "few accounts", "few voices", "quiet term", "marked noise"]


class Quiet(NamedTuple):
    """Why an incident pages nobody: ``kind`` for machines, ``reason`` for people, as
    its summary says it."""

    kind: QuietKind
    reason: str


def verdict(s: Support, negative: bool, cfg: SupportConfig) -> Quiet | None:
    """Why this burst should not page anyone (None: it may). ``negative``: its tone
    reads negative, which makes one widely shared original a viral complaint."""
    if s.mentions == 0:
        return None
    if s.own_share > cfg.max_own_share:
        return Quiet("own", f"your own post is being shared ({s.own_share:.0%} of it the "
                     "brand's own posts or retweets of them)")
    if s.spam_share > cfg.max_spam_share:
        accounts = f"{s.spam_authors} account{'s' if s.spam_authors != 1 else ''}"
        return Quiet("spam", f"mostly spam ({s.spam_share:.0%} of it) from {accounts}")
    if s.authors <= cfg.few_accounts and s.mentions >= cfg.posts_per_account * s.authors:
        return Quiet("few accounts", f"{s.mentions} posts from only {s.authors} account"
                     f"{'s' if s.authors != 1 else ''}: a bot or a template, not a public")
    if s.voices >= cfg.min_voices:
        return None
    if negative and s.top_retweets >= cfg.viral_retweets:
        return None  # a viral complaint is a crisis
    people = f"{s.voices} {'person' if s.voices == 1 else 'people'}"
    return Quiet("few voices", f"only {people} in their own words ({s.mentions} mentions "
                 f"from {s.authors} account{'s' if s.authors != 1 else ''})")
