"""Estimates before a research run: the counts equal an independent count of the grid with the strategy's rule
applied by hand, the count shown equals the number of sets the optimizer runs, the ETA is the measured
per-set time times the sets (a fake clock stands in for the stopwatch), and the thresholds ask first."""

from __future__ import annotations

import itertools
import math

import pytest

from engine.config import CONFIRM_SECONDS, CONFIRM_SETS
from engine.data import load_market_data
from engine.jit import INTERPRET_MAX_CELLS
from engine.research import estimate as est
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward

FAST = list(range(5, 61, 5))
SLOW = list(range(10, 101, 10))
WEIGHT = [0.5, 1.0, 12.0]  # 12 is above sma_cross's weight limit (0, 10]


@pytest.fixture(scope="module")
def data():
    return load_market_data(["SPY"], "2015-01-01", "2016-12-31")


def _spec(**kw) -> OptimizeSpec:
    return OptimizeSpec(
        strategy="sma_cross",
        symbols=("SPY",),
        start="2015-01-01",
        end="2016-12-31",
        ranges={"fast": FAST, "slow": SLOW},
        **kw,
    )


def test_counts_equal_the_grid_with_the_rule_applied_by_hand() -> None:
    spec = _spec()
    e = est.estimate_optimize(spec, timed=False)
    product = list(itertools.product(FAST, SLOW))
    kept = [(f, s) for f, s in product if f < s]
    assert e.total == len(product) == 120
    assert e.to_run == len(kept)
    assert e.pruned == {"fast must be shorter than slow": len(product) - len(kept)}
    assert e.pruned_count == e.total - e.to_run
    assert e.seconds is None
    assert f"fast must be shorter than slow: {len(product) - len(kept):,} sets" in " ".join(e.lines())


def test_two_rules_each_with_its_count() -> None:
    spec = OptimizeSpec(strategy="sma_cross", symbols=("SPY",), ranges={"fast": FAST, "slow": SLOW, "weight": WEIGHT})
    e = est.estimate_optimize(spec, timed=False)
    combos = list(itertools.product(FAST, SLOW, WEIGHT))
    # a value outside a parameter's hard limits is refused first, then the cross-field rule fast < slow
    out_of_range = [w > 10 for _, _, w in combos]
    crossed = [w <= 10 and f >= s for f, s, w in combos]
    assert e.total == len(combos)
    assert e.pruned == {
        "fast must be shorter than slow": sum(crossed),
        "weight is out of range; must be a finite number in [0, 10]": sum(out_of_range),
    }
    assert e.to_run == sum(1 for f, s, w in combos if f < s and 0 < w <= 10)


def test_count_shown_equals_the_sets_the_optimizer_runs(data) -> None:
    spec = _spec()
    shown = est.estimate_optimize(spec, timed=False)
    result = run_optimization(spec, data=data)
    assert len(result.table) == shown.to_run
    random = _spec(method="random", n_trials=30)
    assert est.estimate_optimize(random, timed=False).to_run == 30 == len(run_optimization(random, data=data).table)
    everything = _spec(method="random", n_trials=1000)  # more trials than valid sets: every valid set once
    assert est.estimate_optimize(everything, timed=False).to_run == shown.to_run
    assert len(run_optimization(everything, data=data).table) == shown.to_run


def test_eta_is_the_measured_time_per_set_times_the_sets(data) -> None:
    est.forget_measurements()
    ticks = itertools.count()
    clock = lambda: float(next(ticks))  # noqa: E731 - each reading one second after the last
    e = est.estimate_optimize(_spec(), data=data, clock=clock)
    valid = sum(1 for f, s in itertools.product(FAST, SLOW) if f < s)
    # sets timed: at least 8, and enough bars x sets for the compiled simulator tier, at most the valid sets
    timed = min(valid, max(8, math.ceil((INTERPRET_MAX_CELLS + 1) / len(data.index))))
    assert f"calibration run of {timed} sets" in e.basis
    assert e.seconds == pytest.approx(valid * 1.0 / timed)  # each pass read 1 s on the fake clock
    again = est.estimate_optimize(_spec(), data=data, clock=lambda: 1 / 0)  # measured once per process
    assert again.seconds == e.seconds
    est.forget_measurements()


def test_walkforward_counts_windows_times_sets_and_matches_the_run(data) -> None:
    wf = WalkForwardSpec(optimize=_spec(), in_sample=250, out_of_sample=100)
    e = est.estimate_walkforward(wf, data=data, timed=False)
    per_window = sum(1 for f, s in itertools.product(FAST, SLOW) if f < s)
    windows = len(run_walkforward(wf, data=data).windows)
    assert windows == math.ceil((len(data.index) - 250) / 100)
    assert e.to_run == per_window * windows and e.total == 120 * windows
    assert e.pruned_count == (120 - per_window) * windows


def test_confirmation_thresholds() -> None:
    assert not est.needs_confirmation(CONFIRM_SETS, CONFIRM_SECONDS)
    assert est.needs_confirmation(CONFIRM_SETS + 1, None)
    assert est.needs_confirmation(10, CONFIRM_SECONDS + 1)
    big = OptimizeSpec(
        strategy="sma_cross", symbols=("SPY",), ranges={"fast": list(range(1, 201)), "slow": list(range(2, 402))}
    )
    e = est.estimate_optimize(big, timed=False)
    assert e.to_run == sum(1 for f in range(1, 201) for s in range(2, 402) if f < s) > CONFIRM_SETS
    assert e.needs_confirmation


def test_rule_text_and_durations() -> None:
    assert est.rule_of("fast (20) must be shorter than slow (10)") == "fast must be shorter than slow"
    assert est.rule_of("weight must be in (0, 10], got 12.0") == "weight must be in (0, 10]"
    assert est.rule_of("parameter 'slow': 0 is out of range; must be >= 2") == "slow is out of range; must be >= 2"
    assert est.remaining_seconds(25, 100, 5.0) == pytest.approx(15.0)
    assert est.remaining_seconds(0, 100, 5.0) is None and est.remaining_seconds(100, 100, 9.0) == 0.0
    assert [est.format_duration(s) for s in (0.4, 12.3, 754, 7260)] == ["under 1 s", "12 s", "12 min 34 s", "2 h 1 min"]
