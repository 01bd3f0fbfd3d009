"""`--dry-run` of `ivybt optimize | walkforward | montecarlo | batch run`: prints the sets to run after pruning
(equal to a count by hand), the pruned count with its rule and an ETA, exits 0, and runs nothing (no run saved
even with --save, nothing queued)."""

from __future__ import annotations

import itertools
import json

import pytest

from engine.cli import main
from engine.store.runs import RunStore
from tests.engine.batch_helpers import grid_batch
from tests.engine.cli_helpers import cli, cli_json


def ivybt(capsys, *args: str) -> tuple[int, str]:
    """main(args) in this process (the console script's parser and commands): (exit code, stdout)."""
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


FAST, SLOW = range(5, 101, 5), range(10, 201, 10)
RANGES = ["--range", "fast=5:100:5", "--range", "slow=10:200:10"]
SOURCE = ["--strategy", "sma_cross", "--symbols", "SPY", "--start", "2012-01-01", "--end", "2016-12-31"]


def test_optimize_dry_run_prints_the_counts_and_saves_nothing(home, capsys) -> None:
    code, printed = ivybt(capsys, "optimize", *SOURCE, *RANGES, "--dry-run", "--save", "--json")
    assert code == 0
    out = json.loads(printed)
    product = list(itertools.product(FAST, SLOW))
    kept = sum(1 for f, s in product if f < s)
    e = out["estimate"]
    assert out["dry_run"] is True
    assert (e["total"], e["to_run"], e["pruned"]) == (len(product), kept, len(product) - kept)
    assert e["pruned_by_rule"] == {"fast must be shorter than slow": len(product) - kept}
    assert e["eta_seconds"] > 0 and "calibration run" in e["eta_basis"]
    assert len(RunStore(home / "ivybt.db")) == 0
    code, text = ivybt(capsys, "optimize", *SOURCE, *RANGES, "--dry-run")
    assert code == 0
    assert f"{kept:,} parameter sets to run of {len(product):,}" in text
    assert f"fast must be shorter than slow: {len(product) - kept:,} sets" in text
    assert "estimated time" in text and "nothing was run" in text


def test_walkforward_and_montecarlo_dry_runs(home, capsys) -> None:
    code, printed = ivybt(
        capsys, "walkforward", *SOURCE, *RANGES, "--in-sample", "500", "--out-of-sample", "250", "--dry-run", "--json"
    )
    assert code == 0
    out = json.loads(printed)
    kept = sum(1 for f, s in itertools.product(FAST, SLOW) if f < s)
    windows = int(out["estimate"]["what"].split("(")[1].split()[0])
    assert windows >= 1 and out["estimate"]["to_run"] == kept * windows
    code, printed = ivybt(capsys, "montecarlo", *SOURCE, "--sims", "3000", "--dry-run", "--save", "--json")
    assert code == 0
    mc = json.loads(printed)
    assert (mc["estimate"]["total"], mc["estimate"]["to_run"], mc["estimate"]["pruned"]) == (3000, 3000, 0)
    assert mc["estimate"]["unit"] == "paths" and mc["estimate"]["eta_seconds"] > 0
    assert len(RunStore(home / "ivybt.db")) == 0


@pytest.mark.slow
def test_batch_run_dry_run_queues_nothing(home, tmp_path) -> None:  # through the console script
    batch = tmp_path / "b.yaml"
    batch.write_text(
        "name: dry\ndefaults: {symbols: [SPY], start: 2012-01-01, end: 2016-12-31}\njobs:\n"
        "  - {name: base, strategy: buy_and_hold}\n"
        "  - name: grid\n    kind: optimize\n    strategy: sma_cross\n"
        "    optimize: {ranges: {fast: [5, 10, 20, 50], slow: [10, 50, 100]}}\n"
    )
    out = cli_json("batch", "run", str(batch), "--dry-run", home=home)
    jobs = {j["name"]: j for j in out["jobs"]}
    grid_kept = sum(1 for f, s in itertools.product([5, 10, 20, 50], [10, 50, 100]) if f < s)
    assert (jobs["grid"]["total"], jobs["grid"]["to_run"]) == (12, grid_kept)
    assert (jobs["base"]["to_run"], out["to_run"]) == (1, 1 + grid_kept)
    status = cli("batch", "status", "--json", home=home)
    assert json.loads(status.stdout)["batches"] == []
    assert len(RunStore(home / "ivybt.db")) == 0


@pytest.mark.slow
def test_batch_run_prints_progress_with_the_time_left(home, tmp_path, capsys) -> None:
    batch = tmp_path / "b.yaml"
    batch.write_text(grid_batch(2))
    code, text = ivybt(capsys, "batch", "run", str(batch), "--workers", "1")
    assert code == 0
    events = [line for line in text.splitlines() if line.startswith("  done")]
    assert len(events) == 2
    assert "(1 of 2, about " in events[0] and events[0].endswith(" left)")  # 1 left at the rate of the first
    assert events[1].endswith("(2 of 2)")
