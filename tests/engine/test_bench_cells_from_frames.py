"""The benchmark's IvyBT cells start from the pandas frames every peer gets (issue 19 item 5).

The conversion into MarketData (`MarketData.from_frames`) must run inside each timed cell, as vectorbt's own
conversion of the same frames runs inside its cells: counted here by wrapping from_frames. The grid's one-thread
cell (the peers' thread count) must give the every-core cell's numbers. Not timed.
"""

from __future__ import annotations

import pytest

from benchmarks.peers import Inputs, ivybt
from benchmarks.workloads import REFERENCE, check_reference, load_frames
from engine.data import SAMPLE_DIR
from engine.data.market import MarketData

pytestmark = pytest.mark.usefixtures("home")


@pytest.fixture(scope="module")
def frames():
    return load_frames(SAMPLE_DIR)


@pytest.fixture
def conversions(monkeypatch):
    """The symbols of every MarketData.from_frames call, in order."""
    calls: list[list[str]] = []
    original = MarketData.from_frames.__func__

    def counting(cls, frames):
        calls.append(list(frames))
        return original(cls, frames)

    monkeypatch.setattr(MarketData, "from_frames", classmethod(counting))
    return calls


def test_prepare_converts_only_what_the_sim_only_cell_runs_on(frames, conversions):
    ivybt.prepare(Inputs(SAMPLE_DIR, frames, "SPY"))
    assert conversions == [list(frames)]  # W4 sim's aligned data; every other cell converts when called


@pytest.mark.parametrize(
    ("workload", "expected"),
    [("W1", [["SPY"]]), ("W2", [["SPY"]]), ("W3", [["SPY"]]), ("W3 1 thread", [["SPY"]]), ("W4", "all")],
)
def test_each_cell_converts_the_frames_it_runs_on(frames, conversions, workload, expected):
    cells = ivybt.prepare(Inputs(SAMPLE_DIR, frames, "SPY"))
    conversions.clear()
    outcome = cells[workload]()
    assert conversions == ([list(frames)] if expected == "all" else expected)
    assert check_reference(workload.split()[0], outcome) == []


def test_sleeves_convert_each_symbol_and_reproduce_the_sum_of_single_runs(frames, conversions):
    cells = ivybt.prepare(Inputs(SAMPLE_DIR, frames, "SPY"))
    conversions.clear()
    outcome = cells["W4 sleeves"]()
    assert conversions == [[s] for s in frames]
    # each sleeve ends at its own last close; the summed final equity is the sum of the 36 single runs' ends
    finals = sum(ivybt.backtest(MarketData.from_frames({s: df}), cash=100_000 / 36).metrics["final_equity"]
                 for s, df in frames.items())  # fmt: skip
    assert outcome.final == pytest.approx(finals, rel=1e-12)
    assert outcome.trades == 3233


def test_one_thread_grid_gives_the_every_core_numbers(frames):
    cells = ivybt.prepare(Inputs(SAMPLE_DIR, frames, "SPY"))
    one, every = cells["W3 1 thread"](), cells["W3"]()
    assert one == every
    assert (one.best_return, one.best_sharpe, one.count) == ((45, 200), (10, 200), 90)


def test_w1_cell_answer_is_the_reference(frames):
    cells = ivybt.prepare(Inputs(SAMPLE_DIR, {"SPY": frames["SPY"]}, "SPY"))
    ref = REFERENCE["W1"]
    outcome = cells["W1"]()
    assert outcome.trades == ref.trades and outcome.final == pytest.approx(ref.final, abs=0.01)
