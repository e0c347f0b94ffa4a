"""``crisiswatch backtest``: incidents matched across two runs, and the command end to
end on a synthetic history under two sensitivities."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from crisiswatch.config.settings import DEFAULT_CONFIG
from crisiswatch.evaluation.backtest import match
from tests.conftest import write_jsonl
from tests.helpers.cli import cli
from tests.helpers.streams import CLEAR, MODEST, T0, WINDOW, counts, spiky, stream

pytestmark = pytest.mark.slow  # see pyproject's markers


def incident(brand: str, first: int, last: int, severity: str = "warning") -> dict:
    return {"id": f"{brand}-{first}", "brand": brand, "severity": severity, "kinds": ["volume"],
            "first_window": T0 + first * WINDOW, "last_window": T0 + last * WINDOW,
            "window_s": WINDOW, "explanation": {"summary": f"{brand} at {first}"}}


def test_incidents_match_by_brand_and_overlapping_time() -> None:
    old = [incident("A", 10, 20), incident("A", 50, 60), incident("B", 10, 20),
           incident("C", 100, 110, "info")]
    new = [incident("A", 12, 25), incident("A", 80, 90), incident("B", 10, 20, "critical"),
           incident("C", 95, 100, "info"), incident("C", 101, 120, "info")]
    got = {(p.change, (p.old or {}).get("id"), (p.new or {}).get("id")) for p in match(old, new)}
    assert got == {
        ("unchanged", "A-10", "A-12"),  # opened two windows later: the same incident
        ("vanished", "A-50", None),
        ("appeared", None, "A-80"),
        ("severity changed", "B-10", "B-10"),
        ("unchanged", "C-100", "C-101"),  # the larger overlap wins ...
        ("appeared", None, "C-95"),  # ... and an incident is matched once at most
    }
    assert match([incident("A", 10, 20)], [incident("B", 10, 20)])[0].change in (
        "vanished", "appeared")  # another brand is another incident


def config_with(tmp_path: Path, sensitivity: str) -> Path:
    """The shipped configuration with another sensitivity: what a team would write."""
    text = DEFAULT_CONFIG.read_text()
    assert "\nsensitivity: balanced\n" in text
    path = tmp_path / f"{sensitivity}.yaml"
    path.write_text(text.replace("\nsensitivity: balanced\n", f"\nsensitivity: {sensitivity}\n"))
    return path


def test_backtest_lists_what_a_new_sensitivity_raises_and_silences(tmp_path: Path) -> None:
    """One brand's history: a modest spike (only `more` alerts), a clear one (`balanced`
    and `more`) and a storm (all three)."""
    history = write_jsonl(tmp_path / "history.jsonl", stream("Acme", counts(
        {**spiky(330, MODEST), **spiky(430, CLEAR), **spiky(530, 5.0)})))
    fewer, more = config_with(tmp_path, "fewer"), config_with(tmp_path, "more")

    r = cli("backtest", str(history), "-c", str(more), "--against", str(fewer), "--json",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = orjson.loads(r.stdout)
    assert report["counts"] == {"appeared": 2, "vanished": 0, "severity changed": 0,
                                "unchanged": 1}, report
    assert report["settings_changed"] == [{"setting": "sensitivity", "old": "fewer",
                                           "new": "more"}]
    assert "sensitivity fewer" in report["old"]["configuration"]
    assert "sensitivity more" in report["new"]["configuration"]
    appeared = [c for c in report["changes"] if c["change"] == "appeared"]
    assert [(c["new"]["first_window"] - T0) // WINDOW // 100 for c in appeared] == [3, 4]
    assert all(c["old"] is None and c["brand"] == "Acme" for c in appeared)

    r = cli("backtest", str(history), "-c", str(fewer), "--against", str(more), cwd=tmp_path,
            env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "vanished 2" in r.stderr and "unchanged 1" in r.stderr
    assert "settings that differ (old → new): sensitivity: more → fewer" in r.stderr
    assert "new configuration against old" in r.stderr and "2023-11-" in r.stderr

    r = cli("backtest", "nope.jsonl", "--against", str(fewer), cwd=tmp_path)
    assert r.returncode == 2 and "no such input file" in r.stderr
