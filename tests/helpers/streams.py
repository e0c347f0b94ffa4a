"""Synthetic mention streams: per-window counts of a steady brand with planted spikes,
and the mentions that make them (one brand, spread over each window)."""

from __future__ import annotations

T0 = 1_700_006_400  # a window boundary
WINDOW = 300
QUIET = (27, 30, 33, 30, 28, 32)  # a steady 30 a window, deterministic
MODEST, CLEAR = 1.8, 2.5  # spikes of three windows: below and above balanced's 2x lift


def counts(spikes: dict[int, float], n: int = 600) -> list[int]:
    """Per-window counts: two days of a steady brand (past the one-day warm-up), with
    three-window spikes of the given lift at the given windows."""
    return [round(30 * spikes[w]) if w in spikes else QUIET[w % len(QUIET)]
            for w in range(n)]


def spiky(at: int, lift: float) -> dict[int, float]:
    return {w: lift for w in range(at, at + 3)}


def stream(brand: str, series: list[int]) -> list[dict]:
    """Mentions of one brand with the given count in each window, spread over it."""
    out = []
    for w, n in enumerate(series):
        for i in range(n):
            out.append({"id": f"{brand}-{w}-{i}", "ts": T0 + w * WINDOW + i * WINDOW // (n + 1),
                        "brand": brand, "text": "a quick question about my plan"})
    return out
