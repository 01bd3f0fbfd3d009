"""`make bench`'s batch lines (issue 19 item 3) read benchmarks.batch_speedup's probe: the ratios are the times'
quotients worked out here, the targets judge the local pool at 2 workers and Dask / local at every count. Not
timed: the times are given."""

from __future__ import annotations

from benchmarks.report import batch_targets


def probe(local1: float, local2: float, dask1: float, dask2: float) -> dict:
    rows = [
        {"runner": r, "workers": w, "seconds": t, "start": 0.0, "warm": 0.0}
        for r, w, t in (("local", 1, local1), ("local", 2, local2), ("dask", 1, dask1), ("dask", 2, dask2))
    ]
    return {"rows": rows, "load_before": "0", "load_after": "0", "cores": 2, "repeat": 3, "batch": "b.yaml"}


def test_the_batch_lines_are_the_times_ratios_with_their_verdicts():
    lines = {name: (target, measured, ok) for name, target, measured, ok in batch_targets(probe(1.0, 0.5, 1.05, 0.6))}
    assert lines["issue 19: batch, local speed-up x2 over x1"] == (">= 1.8 x", "2.00 x", True)
    assert lines["issue 19: batch, dask speed-up x2 over x1"] == ("reported", f"{1.05 / 0.6:.2f} x", None)
    assert lines["issue 19: batch, dask / local at x1"] == ("<= 1.1", "1.05", True)
    assert lines["issue 19: batch, dask / local at x2"] == ("<= 1.1", "1.20", False)


def test_a_slow_pool_fails_and_a_failed_probe_says_why():
    lines = {name: ok for name, _, _, ok in batch_targets(probe(1.0, 0.6, 1.0, 0.6))}
    assert lines["issue 19: batch, local speed-up x2 over x1"] is False
    ((name, _, measured, ok),) = batch_targets({"error": "no cluster"})
    assert measured == "failed: no cluster" and ok is False
    assert batch_targets({}) == []


def test_the_alternate_rounds_judge_the_pools_speed_up_when_measured():
    result = {
        **probe(1.0, 0.6, 1.0, 0.6),
        "local_pair": {"ratio": 1.9, "rounds": 5, "a": 1.0, "b": 0.53},
        "dask_pairs": {"1": {"ratio": 1.04, "rounds": 5, "a": 1.04, "b": 1.0}},
    }
    lines = {name: (measured, ok) for name, _, measured, ok in batch_targets(result)}
    assert lines["issue 19: batch, local speed-up x2 over x1 (median of 5 alternate rounds)"] == ("1.90 x", True)
    assert lines["issue 19: batch, dask / local at x1 (median of 5 alternate rounds)"] == ("1.04", True)
    assert lines["issue 19: batch, dask / local at x2"] == ("1.00", True)  # no rounds of its own: the best times
