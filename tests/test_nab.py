"""NAB scoring against hand-computed cases, and ``crisiswatch eval --nab`` on a tiny
benchmark directory in NAB's layout.

The hand computations use NAB's scaled sigmoid σ(y) = 2 / (1 + e^{5y}) - 1, with
σ(-1) = 0.98661430. A series of 100 rows has a probation of floor(0.15 * 100) = 15 rows;
the window used below covers rows 40..49 (width 10).
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from crisiswatch.evaluation import nab
from crisiswatch.evaluation.nab_data import NabLayoutError, load
from crisiswatch.evaluation.nab_scoring import (
    CostMatrix,
    Score,
    SeriesScores,
    probation_rows,
    scaled_sigmoid,
    score_detections,
    sweep,
    total,
    window_rows,
)

STANDARD = CostMatrix(tp=1.0, fp=0.11, fn=1.0)
LOW_FN = CostMatrix(tp=1.0, fp=0.11, fn=2.0)
WINDOW = [(40, 49)]


def detections_at(*rows: int, n: int = 100) -> list[bool]:
    return [i in rows for i in range(n)]


def test_scaled_sigmoid_matches_nab() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661430)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828364)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661430)
    assert scaled_sigmoid(3.5) == -1.0


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(4032) == 604
    assert probation_rows(22695) == 750


def test_detection_at_window_start_earns_the_full_tp_weight() -> None:
    s = score_detections(detections_at(40), WINDOW, STANDARD)
    # position -(49 - 40 + 1) / 10 = -1: σ(-1) / σ(-1) = 1
    assert s.raw == pytest.approx(1.0)
    assert (s.detected, s.missed, s.false_positives) == (1, 0, 0)


def test_detection_at_window_end_earns_almost_nothing() -> None:
    s = score_detections(detections_at(49), WINDOW, STANDARD)
    # position -(49 - 49 + 1) / 10 = -0.1: σ(-0.1) / σ(-1) = 0.24491866 / 0.98661430
    assert s.raw == pytest.approx(0.24824155)
    wide = score_detections(detections_at(439, n=1000), [(40, 439)], STANDARD)
    # a 400-row window: σ(-1/400) / σ(-1) = 0.00624998 / 0.98661430
    assert wide.raw == pytest.approx(0.00633478, abs=1e-7)


def test_detection_mid_window() -> None:
    # position -(49 - 45 + 1) / 10 = -0.5: 0.84828364 / 0.98661430
    assert score_detections(detections_at(45), WINDOW, STANDARD).raw == pytest.approx(0.85979257)


def test_only_the_first_detection_in_a_window_counts() -> None:
    one = score_detections(detections_at(45), WINDOW, STANDARD)
    more = score_detections(detections_at(45, 46, 49), WINDOW, STANDARD)
    assert more.raw == pytest.approx(one.raw)
    assert more.false_positives == 0 and more.detected == 1


def test_detection_just_before_the_window_is_a_full_false_positive() -> None:
    s = score_detections(detections_at(39), WINDOW, STANDARD)
    # no window precedes row 39: -A_FP; the window is missed: -A_FN
    assert s.raw == pytest.approx(-0.11 - 1.0)
    assert (s.detected, s.missed, s.false_positives) == (0, 1, 1)


def test_false_positive_after_a_window_is_weighed_by_its_distance() -> None:
    right_after = score_detections(detections_at(40, 50), WINDOW, STANDARD)
    # (50 - 49) / (10 - 1) = 1/9: 0.11 * σ(1/9) = 0.11 * -0.27084712
    assert right_after.raw == pytest.approx(1.0 - 0.02979318)
    one_width = score_detections(detections_at(40, 58), WINDOW, STANDARD)
    # (58 - 49) / 9 = 1: 0.11 * σ(1) = 0.11 * -0.98661430
    assert one_width.raw == pytest.approx(1.0 - 0.10852757)
    far = score_detections(detections_at(40, 90), WINDOW, STANDARD)
    # (90 - 49) / 9 > 3: the full -A_FP
    assert far.raw == pytest.approx(1.0 - 0.11)
    assert far.false_positives == 1


def test_every_false_positive_row_costs() -> None:
    s = score_detections(detections_at(20, 21, 22), WINDOW, STANDARD)
    assert s.raw == pytest.approx(-3 * 0.11 - 1.0)
    assert s.false_positives == 3


def test_missed_window_costs_the_fn_weight_of_the_profile() -> None:
    assert score_detections(detections_at(), WINDOW, STANDARD).raw == pytest.approx(-1.0)
    assert score_detections(detections_at(), WINDOW, LOW_FN).raw == pytest.approx(-2.0)


def test_probationary_period_is_ignored() -> None:
    # rows 0..14 are probationary: a detection there costs nothing, row 15 does
    assert score_detections(detections_at(14), [], STANDARD).raw == 0.0
    s = score_detections(detections_at(15), [], STANDARD)
    assert s.raw == pytest.approx(-0.11) and s.false_positives == 1
    # a window wholly inside the probation is neither found nor missed
    inside = score_detections(detections_at(), [(2, 8)], STANDARD)
    assert (inside.raw, inside.null, inside.missed) == (0.0, 0.0, 0)
    # a window reaching past it is scored on its rows after the probation
    straddling = score_detections(detections_at(3, 16), [(10, 19)], STANDARD)
    # row 16: position -(19 - 16 + 1) / 10 = -0.4: σ(-0.4) / σ(-1) = 0.76159416 / 0.98661430
    assert straddling.raw == pytest.approx(0.77192685)


def test_normalisation_null_is_zero_and_perfect_is_one_hundred() -> None:
    windows = [(40, 49), (70, 79)]
    for cost in (STANDARD, LOW_FN):
        null = score_detections(detections_at(), windows, cost)
        perfect = score_detections(detections_at(40, 70), windows, cost)
        assert null.normalised == pytest.approx(0.0)
        assert perfect.normalised == pytest.approx(100.0)
    half = score_detections(detections_at(40), windows, STANDARD)
    # raw 1 - 1 = 0, null -2, perfect 2: 100 * (0 + 2) / (2 + 2)
    assert half.normalised == pytest.approx(50.0)
    assert score_detections(detections_at(20), [], STANDARD).normalised is None


def test_scores_add_up_over_series_before_normalising() -> None:
    a = score_detections(detections_at(40), WINDOW, STANDARD)  # raw 1
    b = score_detections(detections_at(20), WINDOW, STANDARD)  # raw -1.11
    both = total([a, b])
    assert both == a + b
    assert (both.raw, both.null, both.perfect) == (pytest.approx(-0.11), -2.0, 2.0)
    # 100 * (-0.11 + 2) / 4, not the mean of 100 and -2.75
    assert both.normalised == pytest.approx(47.25)
    assert total([]) == Score()


def test_sweep_picks_the_best_threshold() -> None:
    scores = [0.0] * 100
    scores[40], scores[90] = 0.9, 0.8  # the window's start, then a far false positive
    threshold, best = sweep([SeriesScores(scores, WINDOW)], STANDARD)
    assert threshold == 0.9 and best.raw == pytest.approx(1.0)
    scores[90] = 0.95  # now the false positive outranks the true one: take both
    threshold, best = sweep([SeriesScores(scores, WINDOW)], STANDARD)
    assert threshold == 0.9 and best.raw == pytest.approx(0.89)
    assert best.false_positives == 1
    threshold, best = sweep([SeriesScores([0.0] * 100, WINDOW)], STANDARD)
    assert best.raw == -1.0 and best.normalised == 0.0  # nothing beats detecting nothing


def test_sweep_agrees_with_fixed_detections() -> None:
    rng = random.Random(3)
    series = [SeriesScores([rng.random() for _ in range(300)], [(100, 129), (200, 239)])
              for _ in range(3)]
    threshold, best = sweep(series, STANDARD)
    fixed = total(score_detections([a >= threshold for a in s.anomaly_scores], s.windows,
                                   STANDARD) for s in series)
    assert best.raw == pytest.approx(fixed.raw)
    assert (best.detected, best.false_positives) == (fixed.detected, fixed.false_positives)


def test_window_rows_from_timestamps() -> None:
    t0 = datetime(2024, 1, 1)
    stamps = [t0 + timedelta(minutes=5 * i) for i in range(20)]
    exact = (stamps[3], stamps[7])
    loose = (stamps[10] + timedelta(minutes=1), stamps[14] - timedelta(minutes=1))
    outside = (t0 + timedelta(days=2), t0 + timedelta(days=3))
    assert window_rows(stamps, [loose, exact, outside]) == [(3, 7), (11, 13)]


# --- crisiswatch eval --nab on a tiny benchmark ------------------------------------------

ROWS = 1400  # 5-minute rows: ~4.9 days, past the detector's warm-up and NAB's probation
SPIKE = range(1200, 1212)


def write_benchmark(root: Path) -> None:
    """Two corpora: a count series with a tenfold burst inside its labelled window, and a
    non-count series (a noisy percentage) without anomalies."""
    rng = random.Random(11)
    t0 = datetime(2024, 3, 4)
    stamp = [(t0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(ROWS)]
    counts = [_poisson(rng, 500.0 if i in SPIKE else 50.0) for i in range(ROWS)]
    percent = [round(40 + rng.gauss(0, 2), 3) for _ in range(ROWS)]
    for corpus, name, values in (("realCounts", "mentions.csv", counts),
                                 ("noAnomaly", "cpu.csv", percent)):
        (root / "data" / corpus).mkdir(parents=True)
        with (root / "data" / corpus / name).open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["timestamp", "value"])
            w.writerows(zip(stamp, values, strict=True))
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps({
        "realCounts/mentions.csv": [[stamp[1195] + ".000000", stamp[1260] + ".000000"]],
        "noAnomaly/cpu.csv": [],
    }))
    (root / "profiles.json").write_text(json.dumps({
        name: {"CostMatrix": {"tpWeight": 1.0, "fnWeight": fn, "fpWeight": fp, "tnWeight": 1.0}}
        for name, fp, fn in (("standard", 0.11, 1.0), ("reward_low_FP_rate", 0.22, 1.0),
                             ("reward_low_FN_rate", 0.11, 2.0))}))


def _poisson(rng: random.Random, mu: float) -> int:
    return max(0, round(rng.gauss(mu, mu ** 0.5)))


def test_eval_nab_scores_and_writes_nab_result_files(tmp_path: Path) -> None:
    write_benchmark(tmp_path / "bench")
    out = io.StringIO()
    figures = nab.run(tmp_path / "bench", tmp_path / "results", Console(file=out, width=160))
    printed = out.getvalue()

    counts = figures["corpora"]["realCounts"]
    assert (counts["series"], counts["windows"], counts["detected"]) == (1, 1, 1)
    standard = figures["overall"]["profiles"]["standard"]
    assert standard["null"] == -1.0 and standard["perfect"] == 1.0
    assert standard["score"] > 50  # the burst is found within the first few rows
    assert figures["corpora"]["noAnomaly"]["profiles"]["standard"]["score"] is None
    assert set(figures["optimised"]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    for text in ("realCounts", "noAnomaly", "overall", "Numenta HTM", "Twitter ADVec",
                 "crisiswatch, its own alerts", "anomaly_score >= 0.5"):
        assert text in printed

    path = tmp_path / "results" / "realCounts" / "crisiswatch_mentions.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "label"]
    assert len(rows) == ROWS and rows[0]["timestamp"] == "2024-03-04 00:00:00"
    scores = [float(r["anomaly_score"]) for r in rows]
    assert all(0.0 <= a <= 1.0 for a in scores)
    assert not any(r["anomaly_score"].startswith("-") for r in rows)
    # label is NAB's ground truth: 1 on the rows of the labelled window
    assert [i for i, r in enumerate(rows) if r["label"] == "1"] == list(range(1195, 1261))
    # the detector's decision is anomaly_score >= the printed threshold: it fires in the burst
    alerts = [i for i, a in enumerate(scores) if a >= figures["threshold"]]
    assert alerts and alerts[0] in SPIKE
    # the burst is one incident, so one detection, however many windows it lasts
    assert len([i for i in alerts if 1195 <= i <= 1260]) == 1
    assert (tmp_path / "results" / "noAnomaly" / "crisiswatch_cpu.csv").is_file()


def test_eval_nab_rejects_a_directory_not_in_nab_layout(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(NabLayoutError, match=r"combined_windows\.json is missing"):
        nab.run(tmp_path, None, Console(file=io.StringIO()))
    r = subprocess.run([sys.executable, "-m", "crisiswatch.cli", "eval", "--nab", str(tmp_path)],
                       capture_output=True, text=True, timeout=60,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 2
    said = " ".join(r.stderr.split())  # rich wraps long lines
    assert "not in NAB's layout" in said and "combined_windows.json is missing" in said
    assert "Traceback" not in said


def test_eval_nab_reads_nabs_own_layout_with_config_profiles(tmp_path: Path) -> None:
    """A checkout of NAB keeps its profiles at config/profiles.json, not beside data/."""
    write_benchmark(tmp_path / "nab")
    (tmp_path / "nab" / "config").mkdir()
    (tmp_path / "nab" / "profiles.json").rename(tmp_path / "nab" / "config" / "profiles.json")
    bench = load(tmp_path / "nab")
    assert bench.profiles["reward_low_FN_rate"] == CostMatrix(tp=1.0, fp=0.11, fn=2.0)
    assert [s.key for s in bench.series] == ["noAnomaly/cpu.csv", "realCounts/mentions.csv"]
    (tmp_path / "nab" / "config" / "profiles.json").unlink()
    with pytest.raises(NabLayoutError, match=r"no scoring profiles \(expected "
                       r"config/profiles\.json or profiles\.json\)"):
        load(tmp_path / "nab")


def test_values_become_counts() -> None:
    assert nab.as_counts([3.0, 0.0, 12.0]) == [3, 0, 12]  # counts stay counts
    assert nab.as_counts([-1.0, 0.5, 1.0]) == [0, 75, 100]  # others span 0..100
    assert nab.as_counts([2.5, 2.5]) == [0, 0]
