"""``crisiswatch eval --topics``: a measure that fragmenting cannot win, on any labelled CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from crisiswatch.evaluation.labelled_texts import LabelledFile, load_labelled
from crisiswatch.evaluation.topic_metrics import topic_figures
from crisiswatch.evaluation.topics import Complaint
from tests.helpers.cli import cli
from tests.helpers.topic_data import TEMPLATES, planted


def _rows(n: int = 40) -> list[Complaint]:
    return [Complaint(float(i * 60), str(i), text, TEMPLATES[label], "Acme")
            for i, (text, label) in enumerate(planted(n))]


def test_fragments_and_everything_in_no_topic_both_score_nothing() -> None:
    rows = _rows()
    labels = [r.reason for r in rows]
    alone = [f"c{i}" for i in range(len(rows))]
    # every text its own topic: AMI adjusts the fragments' chance agreement away, and a
    # reader gets as many topics as texts
    fragments = topic_figures(rows, alone, set(alone))
    assert abs(fragments["ami"]) < 0.05 and fragments["topics"] == len(rows)
    # the same fragments left unpublished: one "no topic" cluster, nothing covered
    hidden = topic_figures(rows, alone, set())
    assert hidden["ami"] == 0.0 and hidden["coverage"] == 0.0 and hidden["topics"] == 0
    assert hidden["ami_fragments"] == fragments["ami"]  # the earlier measure cannot tell
    # the labels themselves as topics, but only three of five shown: the texts of the two
    # hidden ones count together as "no topic", which costs agreement and coverage
    shown = set(TEMPLATES[:3])
    partial = topic_figures(rows, labels, shown)
    perfect = topic_figures(rows, labels, set(labels))
    assert perfect["ami"] == perfect["ami_brand"] == 1.0 and perfect["coverage"] == 1.0
    assert 0.5 < partial["ami"] < perfect["ami"] and partial["coverage"] == 0.6
    assert partial["topics"] == partial["per_brand_week_max"] == 3


def test_topics_per_brand_week_count_each_brands_weeks_apart() -> None:
    day = 86400.0
    rows = [Complaint(d * day, f"{b}{d}", "x", "late", b)
            for b in ("A", "B") for d in range(14)]
    clusters = [f"{r.brand}-week{int(r.ts // (7 * day))}-{int(r.ts // day) % 2}"
                for r in rows]
    figures = topic_figures(rows, clusters, set(clusters) - {c for c in clusters
                                                             if c.startswith("B-week1")})
    assert figures["per_brand_week_max"] == 2 and figures["per_brand_week_median"] == 2


def test_any_csv_with_its_own_column_names(tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["body", "kind", "shop"])
        w.writerows([["late again", "delivery", "Acme"], ["", "delivery", "Acme"],
                     ["love it", "", "Zenith"], ["broken box", "damage", "Zenith"]])
    loaded = load_labelled(LabelledFile(path, "body", "kind", "shop"))
    assert [(r.text, r.reason, r.brand) for r in loaded.rows] == [
        ("late again", "delivery", "Acme"), ("broken box", "damage", "Zenith")]
    assert loaded.left_out == 2  # no text, no label
    assert [r.ts for r in loaded.rows] == [0.0, 180.0]  # no time column: file order
    assert any("tweet_created" in n for n in loaded.notes)


def test_the_command_reads_the_file_it_names_and_refuses_missing_columns(
        tmp_path: Path) -> None:
    path = tmp_path / "complaints.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["when", "body", "kind", "shop"])
        for i, (text, label) in enumerate(planted(30)):
            w.writerow([f"2026-03-0{1 + i // 100}T{i % 24:02d}:00:00Z", text,
                        TEMPLATES[label].split()[-1], "Acme" if i % 2 else "Zenith"])
    args = ["eval", "--topics", "--labels", str(path), "--text-col", "body", "--label-col",
            "kind", "--brand-col", "shop", "--time-col", "when", "--minilm-limit", "0"]
    r = cli(*args, cwd=tmp_path, env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    title = r.stderr.split("Topics against the labels of", 1)[1].split("┏")[0]
    assert str(path) in "".join(title.split())  # the title names the file (wrapped)
    assert "150 labelled texts" in r.stderr and "5 labels in 'kind'" in r.stderr
    assert "minilm: skipped" in r.stderr and "k=5: AMI" in r.stderr
    bad = cli("eval", "--topics", "--labels", str(path), "--label-col", "reason", cwd=tmp_path)
    assert bad.returncode == 2 and "no column 'text', 'reason'" in bad.stderr
