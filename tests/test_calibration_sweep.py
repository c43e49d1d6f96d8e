"""benchmarks/calibrate_reader.py sweep: the Pareto front of "not found" thresholds, with the thresholds in
use shown under it and the rows that beat them on every aim marked."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.config import CALIBRATED
from tests.conftest import ROOT


def row(source: str, answerable: bool, margin: float, f1: float = 0.0) -> dict:
    """One question's evidence, as `calibrate_reader.py gather` writes it, strong on everything but the margin."""
    return {
        "source": source, "answerable": answerable, "f1": f1, "kind": "other", "chinese": True,
        "dense": 0.95, "coverage": 1.0, "sentence_coverage": 1.0, "reader_margin": margin,
    }


def test_the_sweep_marks_thresholds_that_beat_those_in_use(tmp_path):
    shipped = CALIBRATED["model"]["min_reader_margin"]
    # Answerable questions read just below the margin in use, every question without an answer far below it:
    # a lower margin keeps the answers and still says "not found" to all the others.
    rows = [row("validation-zh", True, shipped - 1.0, f1=1.0) for _ in range(20)]
    rows += [row("validation-zh", False, -50.0) for _ in range(20)]
    rows += [row("made-zh", False, -50.0) for _ in range(20)]
    rows += [row("out_of_corpus-odd", False, -50.0) for _ in range(5)]
    evidence = tmp_path / "evidence.jsonl"
    evidence.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "calibrate_reader.py"), "sweep", str(evidence)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    in_use = lines.index(next(line for line in lines if "in use (bot/config.py" in line))
    shipped_row = lines[in_use + 1].split()
    assert shipped_row[:4] == ["1.00", "1.00", "1.00", "0.000"]  # everything refused, the answers too
    assert float(shipped_row[7]) == shipped
    marked = [line.split() for line in lines[:in_use] if line.startswith("*")]
    assert marked, result.stdout
    assert all(fields[1:5] == ["1.00", "1.00", "1.00", "1.000"] and float(fields[8]) < shipped for fields in marked)
