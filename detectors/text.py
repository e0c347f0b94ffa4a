"""Text features that every detector reads: hashtags, normalised text, terms.

Kept dependency-free and regex-based so they cost microseconds per mention.
"""

from __future__ import annotations

import re

_HASHTAG = re.compile(r"(?<![\w&])#(\w{1,100})")
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_RT_PREFIX = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w#@']+")
# Words of letters (any alphabet: "opinión" is one word, not "opinio"), apostrophes only
# inside them ("christmas'" is "christmas"), three letters or more.
_TOKEN = re.compile(r"[^\W\d_]{3,}(?:'[^\W\d_]+)*|[^\W\d_]{1,2}'[^\W\d_]+")
# The same pattern for ASCII texts, where a letter is [A-Za-z]: 40 % faster, same terms.
_ASCII_TOKEN = re.compile(r"[A-Za-z]{3,}(?:'[A-Za-z]+)*|[A-Za-z]{1,2}'[A-Za-z]+")

# Short, closed list: terms exist to explain an alert, so function words only add noise.
STOPWORDS = frozenset(
    [
        "the", "and", "for", "you", "your", "are", "was", "were", "but", "not", "with",
        "this", "that", "have", "has", "had", "just", "from", "they", "them", "their",
        "what", "when", "will", "would", "can", "could", "should", "about", "there", "been",
        "being", "into", "out", "our", "ours", "all", "any", "get", "got", "its", "it's",
        "i'm", "im", "you're", "don't", "didn't", "can't", "won't", "isn't", "wasn't",
        "dont", "didnt", "cant", "wont", "isnt", "how", "why", "who", "now", "one", "two",
        "more", "very", "still", "some", "than", "then", "too", "also", "only", "over",
        "even", "here", "back", "again", "like", "amp", "http", "https", "www", "com",
        "via", "rt", "thanks", "thank", "please", "let", "know", "need"
    ]
)


def extract_hashtags(text: str) -> tuple[str, ...]:
    """Hashtags in order of first appearance, lower-cased, without '#', deduplicated.

    >>> extract_hashtags("Down again #Outage #outage #fail")
    ('outage', 'fail')
    """
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(text):
        seen.setdefault(tag.lower(), None)
    return tuple(seen)


def normalise_hashtag(tag: str) -> str:
    return tag.lstrip("#").lower()


def is_retweet_text(text: str) -> bool:
    """Old-style manual retweets ("RT @user: ...") carry no flag in most exports."""
    return _RT_PREFIX.match(text) is not None


def normalise_text(text: str) -> str:
    """The key under which copies of one text are the same text.

    Drops the retweet prefix, URLs and handles, folds case and whitespace: retweets and
    copy-paste campaigns then collapse to one key, which caches and clustering rely on.

    >>> normalise_text("RT @acme: My bill is WRONG http://x.co/1")
    'my bill is wrong'
    """
    at = "@" in text  # the retweet prefix and handles both hold one: without, skip both
    if at:
        text = _RT_PREFIX.sub("", text)
    text = _url_free(text)
    if at:
        text = _HANDLE.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def _url_free(text: str) -> str:
    """URLs out; the test first, because most texts have none and a scan costs more."""
    return _URL.sub(" ", text) if "http" in text or "www." in text else text


def has_own_words(text: str) -> bool:
    """Whether a text says anything beyond whom it addresses and where it points.

    A retweet stub, a list of @handles, a row of hashtags or a bare link carries no words
    of its own, so no tone can be read off it: a sentiment model asked anyway answers with
    its bias (a bare handle list scored about +0.66), and a storm of such posts then looks
    like a positive burst. Callers treat these texts as of *unknown* tone.

    Most texts hold a word of two letters or more between spaces, which none of the
    patterns below can remove (each needs an "@", "#", "://" or "www." inside the same
    run of non-space characters), except a leading "RT": such a text is answered
    without them, with the same answer.

    >>> has_own_words("@acme @help #fail https://t.co/x"), has_own_words("@acme my bill")
    (False, True)
    """
    for word in text.split():
        if len(word) > 1 and word.isalpha() and word.lower() != "rt":
            return True
    if "@" in text:
        text = _HANDLE.sub(" ", _RT_PREFIX.sub("", text))
    text = _HASHTAG.sub(" ", _url_free(text))
    letters = 0
    for c in text:  # letters, not a word pattern: marks split words of many scripts
        if c.isalpha():
            letters += 1
            if letters == 2:
                return True
    return False


def own_words(text: str) -> str:
    """The text without a retweet prefix, handles, hashtags and links: what its author
    wrote in their own words, in their own script. Unlike ``normalise_text`` it keeps
    every character of those words (its word pattern splits the vowel signs off
    Devanagari letters), which is what language identification reads.

    >>> own_words("RT @acme: my bill #fail https://t.co/x")
    'my bill'
    """
    if "@" in text:
        text = _HANDLE.sub(" ", _RT_PREFIX.sub("", text))
    return " ".join(_HASHTAG.sub(" ", _url_free(text)).split())


def terms(normalised: str) -> list[str]:
    """Content words of a normalised text, for "top terms" in explanations.

    >>> terms("my bill is wrong again")
    ['bill', 'wrong']
    """
    words = (_ASCII_TOKEN if normalised.isascii() else _TOKEN).findall(normalised)
    return [t for t in words if t not in STOPWORDS]
