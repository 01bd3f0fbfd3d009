"""The benchmark's fused floor (issue 19 item 1): one compiled pass computes W1 and W2 as WORKLOADS.md prints
them, agrees with the numpy floor on W5's kind of series, and the report's target lines read it. Not timed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks.fused_floor import fused_floor
from benchmarks.report import fused_floor_targets
from benchmarks.timing import Timing
from benchmarks.workloads import check_agreement, check_reference, load_frames, numpy_floor, scaled_series
from engine.data import SAMPLE_DIR


@pytest.fixture(scope="module")
def frames():
    return load_frames(SAMPLE_DIR, ["HD", "SPY"])


def test_fused_floor_reproduces_w1_and_w2(frames):
    spy = frames["SPY"]
    o, c = spy["open"].to_numpy(), spy["close"].to_numpy()
    assert check_reference("W1", fused_floor(o, c)) == []
    assert check_reference("W2", fused_floor(o, c, fee=0.001)) == []
    assert check_reference("W2", fused_floor(o, c)) != []


def test_fused_floor_agrees_with_numpy_floor_on_a_long_series(frames):
    w5 = scaled_series(frames["HD"], 60_000)
    o, c = w5["open"].to_numpy(), w5["close"].to_numpy()
    fused, floor = fused_floor(o, c), numpy_floor(o, c)
    assert fused.trades > 500
    fields = ("final", "trades", "max_dd_pct", "sharpe")
    assert check_agreement("W5", "fused", fused, "numpy", floor, rel=1e-9, fields=fields) == []


def test_report_prints_the_three_fused_floor_targets():
    cell = SimpleNamespace(timing=Timing(0.02, 0.025, 5, 0.03))
    w5 = SimpleNamespace(timing=Timing(0.05, 0.06, 5, 0.07))
    run = SimpleNamespace(
        fused=cell,
        get=lambda workload, engine: w5 if (workload, engine) == ("W5", "IvyBT") else None,
        w7=[
            {"bars": 1_000_000, "per_bar_ns": 60.0, "floor_ns": 25.0},
            {"bars": 10_000_000, "per_bar_ns": 90.0, "floor_ns": 25.0},
        ],
    )
    lines = {name: (measured, ok) for name, _, measured, ok in fused_floor_targets(run)}
    assert lines["issue 19: W5 within 3 x the fused floor"] == ("2.40 x (60.0 vs 25.0 ms)", True)
    assert lines["issue 19: W7 1M bars within 3 x the fused floor"][1] is True
    assert lines["issue 19: W7 10M bars within 3 x the fused floor"] == ("3.60 x (90.0 vs 25.0 ns/bar)", False)


def test_paired_rounds_alternate_and_the_report_reads_their_ratio():
    from benchmarks.timing import Paired, measure_pair

    calls: list[str] = []
    pair = measure_pair(lambda: calls.append("a"), lambda: calls.append("b"), repeats=4)
    assert calls == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]  # warm-ups, then the order swaps
    assert pair.rounds == 4 and pair.a.n == pair.b.n == 4
    w5 = SimpleNamespace(timing=Timing(0.05, 0.06, 5, 0.07))
    run = SimpleNamespace(
        fused=SimpleNamespace(timing=Timing(0.02, 0.025, 5, 0.03)),
        get=lambda workload, engine: w5 if (workload, engine) == ("W5", "IvyBT") else None,
        w7=[],
        paired={"W5 fused": Paired(Timing(0.05, 0.055, 7, 0.06), Timing(0.02, 0.02, 7, 0.02), 2.75, 7)},
    )
    lines = {name: (measured, ok) for name, _, measured, ok in fused_floor_targets(run)}
    measured, ok = lines["issue 19: W5 within 3 x the fused floor"]
    assert measured.startswith("2.75 x (55.0 vs 20.0 ms; median of 7 alternate rounds)") and ok is True
