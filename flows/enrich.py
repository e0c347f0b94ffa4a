"""What the detectors read off a mention's text, worked out once per distinct text.

Normalised text, sentiment (polarity and tone) and watch terms depend on the text
alone, and a stream repeats texts: every retweet of an original carries the same
"RT @author: ..." text, and campaigns paste one text many times. The enrichment of each
distinct text is therefore worked out once per input batch and cached, in insertion
order and bounded: past ``max_texts`` the oldest tenth is forgotten. On the synthetic
firehose (``bench.synth``) that saves 6 % of the texts within batches and 9 % more
across them with 20,000 texts cached (about 6 MB; 10 % with 50,000). Everything
cached is a function of the text as long as the sentiment model does not change, so the
cache is emptied whenever the model learns from new labels.

A text with no words of its own (a retweet stub, a list of handles, a row of hashtags, a
bare link) gets an *unknown* tone (``None``) and no polarity, whatever the model said:
its score is the model's bias, and a storm of such posts must not read as praise.

Each mention also gets its language (``detectors.language``): the collector's ``lang``
when it sent one, else the one identified from the text. The sentiment model reads
English only, so a mention in another language gets no score rather than a guess:
polarity 0 and an *unknown* tone (``None``), as for a wordless text, so that windows
count it in their ``unknown_share`` and leave it out of their tone shares, instead of
reading it as neutral.
"""

from __future__ import annotations

from itertools import islice

from crisiswatch.detectors.language import ENGLISH, LanguageIdentifier, normalise_lang
from crisiswatch.detectors.support import spam_like, speculative
from crisiswatch.detectors.text import has_own_words, normalise_text
from crisiswatch.detectors.types import Mention
from crisiswatch.detectors.watchlist import Watchlist
from crisiswatch.flows.sentiment import FlowSentiment

# norm_text, sentiment (None until scored: texts not in English are scored only when a
# mention says they are), tone (None: unknown), watch terms, the language of the text,
# spam-like, the watch terms it only wonders about
Enrichment = tuple[str, float | None, int | None, tuple[str, ...], str | None, bool,
                   tuple[str, ...]]


class Enricher:
    def __init__(self, sentiment: FlowSentiment, watchlist: Watchlist,
                 max_texts: int = 20_000) -> None:
        self.sentiment = sentiment
        self.watchlist = watchlist
        self.language = LanguageIdentifier()
        self.max_texts = max_texts
        self.cache: dict[str, Enrichment] = {}

    def enrich(self, mentions: list[Mention]) -> None:
        """Fill in each mention's ``norm_text``, ``sentiment``, ``tone``, ``watch`` and
        ``lang`` (in place: they are the parser's fresh objects, and a copy costs more
        than the work), scoring the batch's new texts at once.

        A text's language is identified only when a mention of it came without one
        (most collectors send it: the firehose bench's all do), and only texts that
        are, or may be, English are scored."""
        if self.sentiment.refresh():
            self.cache.clear()
        cache = self.cache
        new = list(dict.fromkeys(m.text for m in mentions if m.text not in cache))
        if new:
            unlabelled = {m.text for m in mentions if m.lang is None}
            norms = [normalise_text(t) for t in new]
            ask = [i for i, t in enumerate(new) if t in unlabelled]
            langs: list[str | None] = [None] * len(new)
            for i, lang in zip(ask, self.language.identify([new[i] for i in ask]),
                               strict=True):
                langs[i] = lang
            scored = [i for i, lang in enumerate(langs) if lang in (None, ENGLISH)]
            polarity, tone = self.sentiment.score([new[i] for i in scored])
            scores: list[tuple[float | None, int]] = [(None, 0)] * len(new)
            for i, p, t in zip(scored, polarity, tone, strict=True):
                scores[i] = (p, t)
            match, cached = self.watchlist.match, cache.__setitem__
            for text, norm, (p, t), lang in zip(new, norms, scores, langs, strict=True):
                if not has_own_words(norm):  # the normalised text: same answer, faster
                    p, t = 0.0, None
                watch = match(norm)
                cached(text, (norm, p, t, watch, lang, spam_like(text, norm),
                              self._hedged(text) if watch else ()))
        late: list[Mention] = []
        for m in mentions:
            norm, p, t, watch, lang, m.spam, m.hedged = cache[m.text]
            m.norm_text, m.watch = norm, watch
            if t is None:  # no words of its own: unknown tone in any language
                m.sentiment, m.tone = 0.0, None
            given = m.lang
            if given is None:
                if lang is None:  # cached for a mention that said its language
                    late.append(m)
                    continue
                given = m.lang = lang
            elif given != ENGLISH:
                given = m.lang = normalise_lang(given)
            if given == ENGLISH:
                if p is None:
                    late.append(m)
                else:
                    m.sentiment, m.tone = p, t
            else:  # not English: the model cannot read it, tone unknown
                m.sentiment, m.tone = 0.0, None
        if late:
            self._complete(late)
        if len(cache) > self.max_texts:
            for text in list(islice(cache, len(cache) - self.max_texts * 9 // 10)):
                del cache[text]

    def _hedged(self, text: str) -> tuple[str, ...]:
        """The watch terms the text only wonders about (``detectors.support.speculative``)."""
        return tuple(sorted({term for term, at in self.watchlist.spans(text)
                             if speculative(text, at)}))

    def _complete(self, mentions: list[Mention]) -> None:
        """What the cache lacks for these mentions, worked out now: the language of a
        text first cached for a mention that gave its own, or the score of a text
        identified as another language that a collector says is English (the
        collector's ``lang`` wins)."""
        cache = self.cache
        texts = list(dict.fromkeys(m.text for m in mentions))
        missing = [t for t in texts if cache[t][4] is None]
        for text, lang in zip(missing, self.language.identify(missing),
                              strict=True):
            norm, p, t, watch, _, spam, hedged = cache[text]
            cache[text] = (norm, p, t, watch, lang, spam, hedged)
        for m in mentions:
            if m.lang is None:
                m.lang = cache[m.text][4]
        english = list(dict.fromkeys(m.text for m in mentions if m.lang == ENGLISH))
        unscored = [t for t in english if cache[t][1] is None]
        polarity, tone = self.sentiment.score(unscored)
        for text, p, t in zip(unscored, polarity, tone, strict=True):
            norm, _, _, watch, lang, spam, hedged = cache[text]
            cache[text] = (norm, *((p, t) if has_own_words(norm) else (0.0, None)), watch,
                           lang, spam, hedged)
        for m in mentions:
            if m.lang == ENGLISH:
                _, m.sentiment, m.tone, *_ = cache[m.text]  # type: ignore[assignment]
            else:  # identified as another language: tone unknown
                m.sentiment, m.tone = 0.0, None
