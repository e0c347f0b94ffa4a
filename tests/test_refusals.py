"""Refused records said where the user looks: the end-of-run summary counts the commonest
reasons and says what fixes each."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crisiswatch.cli.refusals import refusal_lines
from crisiswatch.store.embedded import free_port
from tests.helpers.cli import cli


def test_the_commonest_reasons_come_first_with_what_to_do() -> None:
    kept = ([{"reason": "no brand: field 'brand' is absent and no brand query matches"}] * 5
            + [{"reason": "ts has no time zone: '2024-09-05 08:11:04' (add 'Z' ...)"}] * 2
            + [{"reason": "ts not a timestamp: 'yesterday'"}]
            + [{"reason": "field 'brand' must be a string, got int"}])
    lines = refusal_lines(kept, total=12)
    assert lines[0] == "dead-lettered (among the 9 kept), by reason (GET /deadletters lists them):"
    assert lines[1].startswith("  5 x no brand: add --map brand=COLUMN to the import, or brand "
                               "queries")
    assert lines[2].startswith("  2 x ts has no time zone: import with --tz ZONE")
    assert lines[3].startswith("  1 x ts not a timestamp: import with --ts-format")
    assert len(lines) == 4  # the top three
    assert refusal_lines([], total=0) == []
    assert refusal_lines(kept[-1:], total=1)[1] == "  1 x field 'brand' must be a string, got int"


@pytest.mark.slow
def test_an_import_without_brands_is_refused_saying_how_to_fix_it(tmp_path: Path) -> None:
    """The path of the issue: an export without a brand column, imported and run."""
    with (tmp_path / "mine.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Message", "Date"])
        out.writerows([f"the delivery {i} never came", f"2026-03-0{i}T10:00:00Z"]
                      for i in range(1, 9))
    r = cli("import", "csv", "mine.csv", "-o", "mine.jsonl", "--map", "text=Message,ts=Date",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no brand column mapped" in r.stderr
    r = cli("run", "mine.jsonl", "--no-serve", "--port", str(free_port()), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "0 processed" in r.stderr and "8 dead-lettered" in r.stderr
    assert "  8 x no brand: add --map brand=COLUMN to the import, or brand queries (handles, " \
        "keywords, hashtags) under brands: in the settings" in r.stderr
