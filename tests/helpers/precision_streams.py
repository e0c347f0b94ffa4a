"""Synthetic streams for the alert-precision cases of issue 21, each laid over a brand's
ordinary traffic (``storm_streams.ordinary``) at a known time: the brand's own post
retweeted in a burst, a boycott of one brand retweeted into another's stream, twenty
template posts from three accounts, a small new topic alone, a stream a few hours old
whose volume and complaints rise together, and a hashtag burst that a team will mark
noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crisiswatch.config.settings import BrandQuerySettings, Settings
from tests.conftest import write_jsonl
from tests.helpers import storm_streams as ss

AT = ss.STORM_AT  # every case happens 30 h into its brand's stream
OWN = "Acme Air"  # 180 retweets of @AcmeAir's own anniversary post in 15 minutes
AIMED, BYSTANDER = "Brand A", "Brand B"  # "BOYCOTT ... @BrandA" in both brands' streams
TEMPLATED = "Tmpl Co"  # 21 posts of one tag from 3 accounts in 10 minutes
TOPICAL = "Topic Co"  # 12 posts of one complaint, a new topic, and nothing else
YOUNG = "Newco"  # 3 h at 50 an hour (30 % negative), then 130 an hour (54 %)
NOISY = "Gift Co"  # a hashtag burst, twice: a team marks the first one noise

OWN_POST = "RT @AcmeAir: 20 years of flying together! Share your favourite memory #acme20"
BOYCOTT = "@BrandB @BrandA join the BOYCOTT of ALL @BrandA brands now"
TEMPLATE = "Tmpl Co stole my money, stay away #tmplscam {n}"
NEGATIVE = "my internet is down again and nobody answers, this is terrible"
NEUTRAL = "what time does the shop on the high street open tomorrow"
NOISE_TEXT = "#giftcodown the app will not load again"
TOPIC_TEXT = "signal lost in manchester since this morning"  # no watch term in it


def brands(settings: Settings) -> Settings:
    """The brands whose handles the cases need: the own accounts, the boycott's target."""
    for name, handle in ((OWN, "@AcmeAir"), (AIMED, "@BrandA"), (BYSTANDER, "@BrandB")):
        settings.brands[name] = BrandQuerySettings(handles=[handle])
    return settings


def write(path: Path, seed: int = 21) -> Path:
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    end = AT + 3 * ss.HOUR
    for brand in (OWN, AIMED, BYSTANDER, TEMPLATED):
        records += ss.ordinary(brand, brand.replace(" ", ""), ss.T0, end, 8, rng)
    records += ss.ordinary(TOPICAL, "TopicCo", ss.T0, end, 30, rng)
    records += [ss.mention(OWN, AT + i * 5, OWN_POST, f"fan-{i}", is_retweet=True,
                           retweet_of="acme-anniversary") for i in range(180)]
    for i in range(12):  # one post, in both brands' streams (a stream per brand query)
        for brand in (AIMED, BYSTANDER):
            records.append(ss.mention(brand, AT + i * 150, BOYCOTT, f"activist-{i}"))
    records += [ss.mention(TEMPLATED, AT + i * 25, TEMPLATE.format(n=i), f"bot-{i % 3}")
                for i in range(21)]
    records += [ss.mention(TOPICAL, AT + 20 + i * 20, TOPIC_TEXT, f"customer-{i}")
                for i in range(12)]
    records += young(rng)
    return _numbered(path, records)


def young(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Three hours at 50 mentions an hour (30 % negative), then one at 130 (54 %)."""
    out = []
    for start, hours, per_hour, negative in ((AT - 3 * ss.HOUR, 3, 50, 0.3),
                                             (AT, 1, 130, 0.54)):
        for _ in range(int(rng.poisson(per_hour * hours))):
            text = NEGATIVE if rng.random() < negative else NEUTRAL
            out.append(ss.mention(YOUNG, start + float(rng.uniform(0, hours * ss.HOUR)),
                                  f"@Newco {text}", f"n{int(rng.integers(10**6))}"))
    return out


def write_noisy(path: Path, start: float, seed: int) -> Path:
    """``NOISY``'s ordinary traffic from ``start`` and, 30 h later, its hashtag burst:
    120 people in 15 minutes."""
    rng = np.random.default_rng(seed)
    at = start + 30 * ss.HOUR
    records = ss.ordinary(NOISY, "GiftCo", start, at + 2 * ss.HOUR, 8, rng)
    records += [ss.mention(NOISY, at + i * 7.5, f"@GiftCo {NOISE_TEXT}", f"g{seed}-{i}")
                for i in range(120)]
    return _numbered(path, records, f"{seed}-")


def _numbered(path: Path, records: list[dict[str, Any]], prefix: str = "") -> Path:
    records.sort(key=lambda r: r["ts"])
    for i, r in enumerate(records):
        r["id"] = f"{prefix}{i}"
    return write_jsonl(path, records)
