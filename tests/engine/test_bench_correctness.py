"""The benchmark harness's IvyBT cells reproduce the WORKLOADS.md reference numbers (W1-W4). Not timed.

Runs the very callables `python -m benchmarks.run` times (benchmarks.peers.ivybt.prepare), on the bundled
sample (the same files as ../shared/data/daily), and checks them with the harness's own check against the
reference numbers copied from ../shared/bench/WORKLOADS.md, where four independent engines agree on them.
Also checks that the check itself catches a wrong number, and that the harness's numpy floor (an
independent numpy-only implementation) and the W5 series construction hold their definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.peers import Inputs, ivybt
from benchmarks.workloads import (
    REFERENCE,
    W3_REFERENCE,
    Outcome,
    check_agreement,
    check_reference,
    load_frames,
    numpy_floor,
    scaled_series,
)
from engine.data import SAMPLE_DIR


@pytest.fixture(scope="module")
def cells():
    frames = load_frames(SAMPLE_DIR)
    assert len(frames) == 36 and len(frames["SPY"]) == 8397
    return ivybt.prepare(Inputs(SAMPLE_DIR, frames, "SPY"))


pytestmark = pytest.mark.usefixtures("home")


@pytest.mark.parametrize("workload", ["W1", "W2", "W4", "W4 sim"])
def test_single_backtests_match_reference(cells, workload):
    outcome = cells[workload]()
    ref = REFERENCE[workload.split()[0]]
    assert check_reference(workload.split()[0], outcome) == []
    # the same numbers, stated directly (reference values as printed in WORKLOADS.md)
    assert outcome.trades == ref.trades
    assert outcome.final == pytest.approx(ref.final, abs=0.01)
    assert outcome.sharpe == pytest.approx(ref.sharpe, abs=1e-4)
    assert outcome.max_dd_pct == pytest.approx(ref.max_dd_pct, abs=1e-4)


def test_w3_grid_matches_reference(cells):
    outcome = cells["W3"]()
    assert check_reference("W3", outcome) == []
    assert outcome.count == 90 and outcome.skipped == 10
    assert outcome.best_return == (45, 200) and outcome.best_sharpe == (10, 200)
    assert outcome.best_return_pct == pytest.approx(W3_REFERENCE.best_return_pct, abs=0.01)


def test_check_names_the_wrong_number():
    ref = REFERENCE["W1"]
    wrong = Outcome(ref.final + 0.02, ref.total_return_pct, ref.trades + 1, ref.max_dd_pct, ref.sharpe)
    problems = check_reference("W1", wrong)
    assert any("trades = 105" in p for p in problems)
    assert any(p.startswith("W1: final = 839252.62") for p in problems)
    assert len(problems) == 2
    assert check_agreement("W5", "a", ref, "b", wrong) != []


def test_numpy_floor_reproduces_w1_and_w2_is_not_it():
    spy = load_frames(SAMPLE_DIR, ["SPY"])["SPY"]
    floor = numpy_floor(spy["open"].to_numpy(), spy["close"].to_numpy())
    assert check_reference("W1", floor) == []
    assert check_reference("W2", floor) != []  # fee-free floor must not pass the fee workload


def test_w5_series_construction():
    hd = load_frames(SAMPLE_DIR, ["HD"])["HD"]
    length = len(hd)
    assert length == 8397
    n = 2 * length + 7
    w5 = scaled_series(hd, n)
    assert len(w5) == n and list(w5.index[:3]) == [0, 1, 2]
    close = w5["close"].to_numpy()
    assert close[length - 1] == pytest.approx(close[0], rel=1e-12)  # detrended: last close = first
    g = math.log(hd["close"].iloc[-1] / hd["close"].iloc[0]) / (length - 1)
    t = 1234
    assert w5["high"].iloc[t] == pytest.approx(hd["high"].iloc[t] * math.exp(-g * t), rel=1e-12)
    assert w5["open"].iloc[length + t] == w5["open"].iloc[t]  # tiled end to end
    assert np.array_equal(w5["volume"].to_numpy()[length : 2 * length], hd["volume"].to_numpy())
