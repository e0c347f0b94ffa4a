"""The synthetic stream's words and lines (``bench/synth.py`` draws, this renders):
brand names, hashtags, texts from templates with slot variation, and the writer that
turns the draws into JSON lines, re-sent and broken records included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

if TYPE_CHECKING:
    from bench.synth import Incident

BASE_ID = 1_900_000_000_000_000_000  # ids grow with event time, like tweet ids

_PREFIXES = ["North", "Blue", "Red", "Silver", "Green", "Star", "Bright", "Iron", "Golden",
             "Swift", "Clear", "Pine", "Oak", "River", "Stone", "Sun", "Moon", "High", "Deep",
             "Rapid", "True", "Prime", "Nova", "Alpha", "Metro", "Urban", "Coastal", "Summit",
             "Harbor", "Maple", "Cedar", "Falcon", "Eagle", "Polar", "Crystal", "Amber",
             "Cobalt", "Vertex", "Zenith", "Orbit"]
_ROOTS = ["wind", "field", "gate", "bridge", "point", "line", "wave", "path", "crest",
          "ridge", "vale", "brook", "haven", "light", "stream", "port", "view", "wood",
          "works", "mark", "shore", "peak", "rock", "land", "side", "way", "ford", "bay",
          "star", "fire", "well", "spring", "hill", "dale", "mont", "burg", "tree", "moor",
          "glen", "cliff"]

# sector: (brand name suffix, products, issues, thanks-for)
_SECTORS: dict[str, tuple[str, list[str], list[str]]] = {
    "telecom": ("Telecom", ["phone plan", "5G signal", "broadband", "SIM card", "router",
                            "family plan", "roaming pass"],
                ["no signal", "dropped calls", "slow data", "a billing error", "an outage",
                 "no internet", "a double charge"]),
    "airline": ("Air", ["flight", "seat upgrade", "checked bag", "lounge pass",
                        "boarding app", "miles account"],
                ["a delay of 3 hours", "a cancelled flight", "lost luggage", "an overbooked flight",
                 "being stranded at the gate", "a missed connection", "a broken seat"]),
    "bank": ("Bank", ["credit card", "mortgage", "banking app", "savings account",
                      "debit card", "loan"],
             ["a frozen account", "a declined card", "the app logging me out", "a hidden fee",
              "a failed transfer", "a double charge", "fraud on my card"]),
    "retail": ("Mart", ["order", "delivery", "store card", "return", "online checkout",
                        "gift card"],
               ["a late delivery", "a wrong item", "a refund that never came",
                "a crashed checkout", "a rude cashier", "a cancelled order"]),
    "food": ("Foods", ["burger", "app order", "coffee", "meal deal", "breakfast menu",
                       "delivery"],
             ["a cold meal", "a missing item", "food poisoning", "a wrong order",
              "an hour-long wait", "a closed store"]),
    "streaming": ("Stream", ["subscription", "new series", "4K plan", "TV app",
                             "family profile", "live sport"],
                  ["buffering", "a price hike", "the app crashing", "an outage",
                   "a cancelled show", "login errors"]),
    "auto": ("Motors", ["new car", "service appointment", "EV charger", "lease",
                        "software update", "warranty"],
             ["a recall", "the brakes failing", "a dead battery", "a 6-week wait for parts",
              "a broken infotainment screen", "a denied warranty claim"]),
    "energy": ("Energy", ["tariff", "smart meter", "solar panels", "bill", "heat pump",
                          "account"],
               ["a power cut", "an estimated bill", "a price hike", "a meter fault",
                "a missed engineer visit", "an outage"]),
    "pharma": ("Pharma", ["prescription", "vaccine", "allergy tablets", "painkiller",
                          "pharmacy app", "repeat order"],
               ["a side effect", "an adverse reaction", "a shortage", "a wrong dose",
                "a recall", "a delayed delivery"]),
    "tech": ("Tech", ["laptop", "phone", "cloud account", "smartwatch", "update",
                      "headphones"],
             ["a data breach", "a bricked device", "a battery that dies in an hour",
              "lost files", "an outage", "a login loop"]),
}
_SECTOR_NAMES = list(_SECTORS)

_CITIES = ["London", "Manchester", "Leeds", "Glasgow", "Dublin", "Paris", "Lyon", "Berlin",
           "Hamburg", "Madrid", "Lisbon", "Rome", "Milan", "Amsterdam", "Brussels", "Vienna",
           "Zurich", "Oslo", "Stockholm", "Warsaw", "Prague", "New York", "Boston", "Chicago",
           "Denver", "Austin", "Seattle", "Miami", "Atlanta", "Toronto", "Vancouver",
           "Sydney", "Melbourne", "Auckland", "Singapore", "Mumbai", "Delhi", "Tokyo",
           "Seoul", "Cape Town", "Nairobi", "Lagos", "Sao Paulo", "Mexico City", "Dallas",
           "Phoenix", "Houston", "Bristol", "Cardiff", "Edinburgh"]
_DAYS = ["this morning", "today", "yesterday", "last night", "this week", "Monday",
         "the weekend", "Friday", "all day", "tonight"]
_FEELINGS = ["honestly", "seriously", "again", "as usual", "for real", "lol", "smh", "ugh",
             "wow", "tbh", "!!", "..."]

_TEMPLATES: dict[str, list[str]] = {
    "negative": [
        "{h} my {p} has been useless for {n} days, {i} again {f}",
        "{i} in {c} since {d}, {h} any update?",
        "{h} worst {p} ever. {i} and no answer after {n} calls",
        "so tired of {h}: {i} {d}, fix it {f}",
        "{h} waited {n} minutes on hold about my {p}, still nothing",
        "@{u} same with my {h} {p} in {c}, {i} {f}",
        "never buying a {p} from {h} again after {i}",
        "{h} {i} {d} and your chat bot just loops. {n} times now",
    ],
    "neutral": [
        "{h} does the {p} work in {c}?",
        "anyone tried the new {p} from {h}? @{u}",
        "{h} what time does the {c} store open {d}?",
        "thinking about switching my {p} to {h}",
        "{h} is the {p} offer still on? asking for {n} of us",
        "saw a {h} ad for the {p} in {c} {d}",
    ],
    "positive": [
        "{h} thanks, the {p} works great now {f}",
        "really happy with my new {p} from {h}",
        "{h} shout out to the team in {c}, sorted my {p} in {n} minutes",
        "love the {p} from {h}, best decision {d}",
        "@{u} you should get the {h} {p}, no regrets",
        "{h} great service {d}, {p} upgrade done in {n} minutes",
    ],
    "incident": [
        "{h} {i} everywhere in {c}, nothing works {f}",
        "is {h} down? {i} for {n} minutes now",
        "{h} outage again, cannot use my {p} {d}",
        "{n} hours of {i}, {h} this is unacceptable",
        "@{u} same here in {c}, {h} {p} dead since {d}",
        "{h} {i} and no word from you. cancelling my {p}",
        "thousands stranded by {h} {i} in {c}, boycott them",
    ],
}
_TAILS = {  # a second clause on most originals: real posts run ~18 words, not ~12
    "negative": ["not happy at all", "can someone call me back", "third time this month",
                 "this is getting ridiculous", "absolutely fed up", "really disappointed",
                 "no one answers the phone", "I want a refund", "do better",
                 "what a joke", "terrible experience", "never again"],
    "neutral": ["just wondering", "any info appreciated", "thanks in advance",
                "asking for a friend", "will check later", "let me know",
                "no rush", "curious what others think", "saw it on the news"],
    "positive": ["great job team", "really impressed", "made my day", "well done",
                 "highly recommend", "five stars", "so easy", "keep it up",
                 "best support I have had", "thank you so much"],
    "incident": ["this is a disaster", "no updates anywhere", "everyone here is affected",
                 "worst outage in years", "losing money every hour", "absolutely furious",
                 "how is this still happening", "someone please fix this"],
}
TAIL_SHARE = 0.6
_MOODS = ("negative", "neutral", "positive")
_INCIDENT_SUFFIXES = ("down", "outage", "fail", "boycott")
_MOOD_P = np.array([0.3, 0.4, 0.3])

_HEAD_TAGS = ["fail", "help", "customerservice", "travel", "delay", "outage", "deals",
              "sale", "news", "breaking", "tech", "money", "food", "music", "sports",
              "weekend", "monday", "friday", "love", "angry", "fixit", "notimpressed",
              "happy", "thanks", "wtf", "scam", "refund", "ux", "5g", "wifi", "ev", "crypto",
              "health", "work", "wfh", "london", "nyc", "paris", "berlin", "summer",
              "winter", "holiday", "family", "kids", "gaming", "tv", "movies", "finance",
              "ai", "climate"]
_TAIL_WORDS = ["update", "promo", "live", "fans", "team", "day", "night", "city", "talk",
               "tips", "life", "deal", "club", "zone", "week", "show", "chat", "crew",
               "vibes", "goals", "trip", "drop", "launch", "story", "moment", "watch",
               "review", "hack", "guide", "news"]


def brand_names(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct (name, sector) pairs such as ("Northwind Telecom", "telecom")."""
    rng = np.random.default_rng(seed)
    combos = [(p, r, s) for p in _PREFIXES for r in _ROOTS for s in _SECTOR_NAMES]
    order = rng.permutation(len(combos))
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    round_ = 0
    while len(out) < n:
        for k in order:
            p, r, s = combos[k]
            name = f"{p}{r} {_SECTORS[s][0]}" + (f" {round_ + 1}" if round_ else "")
            if name.lower() not in seen:
                seen.add(name.lower())
                out.append((name, s))
                if len(out) == n:
                    break
        round_ += 1
    return out


def topical_tag(i: int) -> str:
    """The name of topical tag ``i``: common words first, then word+number forever."""
    if i < len(_HEAD_TAGS):
        return _HEAD_TAGS[i]
    j = i - len(_HEAD_TAGS)
    return f"{_TAIL_WORDS[j % len(_TAIL_WORDS)]}{j // len(_TAIL_WORDS)}"


# Broken records carry the event time of their neighbours (a paced replay waits for
# whatever time a line names), with the zone dropped where the zone is what is wrong.
_BAD_RECORDS = [b'{"id": "bad-%d", "ts": "yesterday", "brand": "x", "text": "hello %s"}',
                b'{"id": "bad-%d", "ts": "%s", "brand": "x", "text": "no zone"}',
                b'{"id": "bad-%d", "brand": "x", "ts": "%sZ"}',
                b"not json at all %d %s"]
RESENT_FROM = 64  # a re-sent record repeats one of the last this many lines


class _Writer:
    """Turns the per-mention draws into JSON lines in event-time order.

    The draws arrive as numpy arrays and are turned into Python lists once: indexing a
    list in the write loop costs a fraction of indexing an array.
    """

    def __init__(self, names: list[tuple[str, str]], handles: list[str], slugs: list[str],
                 incidents: list[Incident], followers: list[int], *arrays: Any) -> None:
        self.names, self.handles, self.slugs = names, handles, slugs
        self.incident_tags = [inc.hashtag for inc in incidents]
        self.followers = followers
        (brand, mood, kind, incident_of, parent, position, author, ptr, tag_ids, brand_tagged,
         in_field, slots) = arrays
        self.brand, self.mood, self.kind = brand.tolist(), mood.tolist(), kind.tolist()
        self.incident_of, self.parent = incident_of.tolist(), parent.tolist()
        self.position, self.author = position.tolist(), author.tolist()
        self.ptr, self.tag_ids = ptr.tolist(), tag_ids.tolist()
        self.brand_tagged, self.in_field = brand_tagged.tolist(), in_field.tolist()
        self.slots = [s.tolist() for s in slots]
        self.tag_names: dict[int, str] = {}

    def tags(self, i: int) -> list[str]:
        if self.kind[i] == 1:
            out = [self.incident_tags[self.incident_of[i]]]
        else:
            out = []
            names = self.tag_names
            for t in self.tag_ids[self.ptr[i]:self.ptr[i + 1]]:
                name = names.get(t)
                if name is None:
                    name = names[t] = topical_tag(t)
                out.append(name)
        if self.brand_tagged[i]:
            out.append(self.slugs[self.brand[i]])
        return list(dict.fromkeys(out))

    def text(self, i: int, tags: list[str]) -> str:
        b = self.brand[i]
        _, products, issues = _SECTORS[self.names[b][1]]
        mood = "incident" if self.kind[i] == 1 else _MOODS[self.mood[i]]
        templates = _TEMPLATES[mood]
        tpl, p, iss, c, n, d, f, u = (s[i] for s in self.slots)
        body = templates[tpl % len(templates)].format(
            h=self.handles[b], p=products[p % len(products)], i=issues[iss % len(issues)],
            c=_CITIES[c], n=n, d=_DAYS[d], f=_FEELINGS[f], u=f"user{u}")
        if tpl % 10 < TAIL_SHARE * 10:
            tails = _TAILS[mood]
            body += (" " if body[-1] in "?!." else ", ") + tails[(tpl // 10) % len(tails)]
        return body + "".join(" #" + t for t in tags)

    def write(self, f: Any, order: list[int], ts_text: list[str], extra: list[int],
              texts: list[str | None], progress: Any) -> tuple[int, int]:
        """Write every mention, with re-sent and broken lines where ``extra`` says;
        return how many of each were written."""
        names, kind, parent, author, followers = (self.names, self.kind, self.parent,
                                                  self.author, self.followers)
        recent: list[bytes] = []
        n_dup = n_bad = 0
        chunk: list[bytes] = []
        for pos, i in enumerate(order):
            is_rt = kind[i] == 2
            src = parent[i] if is_rt else i
            tags = self.tags(src)
            text = texts[src]
            if text is None:
                text = texts[src] = self.text(src, tags)
            a = author[i]
            rec: dict[str, Any] = {
                "id": str(BASE_ID + pos), "ts": ts_text[pos], "brand": names[self.brand[i]][0],
                "text": f"RT @user{author[src]}: {text}" if is_rt else text,
                "author": {"id": str(10_000_000 + a), "handle": f"user{a}",
                           "followers": followers[a]},
                "platform": "twitter", "lang": "en",
            }
            if self.in_field[src]:
                rec["hashtags"] = tags
            if is_rt:
                rec["is_retweet"] = True
                rec["retweet_of"] = str(BASE_ID + self.position[src])
            line = orjson.dumps(rec)
            chunk.append(line)
            recent.append(line)
            if len(recent) > RESENT_FROM:
                del recent[0]
            if extra[pos] == 1:  # a collector re-sends a record it sent a little earlier
                chunk.append(recent[(pos * 7919) % len(recent)])
                n_dup += 1
            elif extra[pos] == 2:
                chunk.append(_BAD_RECORDS[n_bad % len(_BAD_RECORDS)]
                             % (n_bad, ts_text[pos][:-1].encode()))
                n_bad += 1
            if len(chunk) >= 10_000:
                f.write(b"\n".join(chunk) + b"\n")
                chunk.clear()
                progress(pos + 1)
        if chunk:
            f.write(b"\n".join(chunk) + b"\n")
        return n_dup, n_bad
