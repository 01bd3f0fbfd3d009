"""Active return (issue 18 item 4): registered with a label, unit and definition, equal to a hand calculation
(annualized strategy return minus annualized benchmark return, geometric over the paired bars, empyrical's
annual_return on each side), and measured against the benchmark chosen per run."""

from __future__ import annotations

import empyrical
import numpy as np
import pytest

from engine.config import BacktestConfig
from engine.metrics import registry
from engine.metrics.benchmark import active_return
from engine.metrics.table import metrics_table
from engine.request import BacktestRequest, run_request


def test_registered_with_label_unit_and_definition() -> None:
    m = registry.metric("active_return")
    assert "active_return" in registry.KEYS
    assert m.label == "Active return (% per year)" and m.unit == "fraction per year" and m.fmt == "percent"
    assert m.kind == "benchmark" and m.needs == "benchmark" and m.higher_is_better and m.annualized
    assert "benchmark" in m.definition.lower()


def test_hand_computed_case() -> None:
    # 4 bars, P = 4 (one year): strategy +10 %, -5 %, +2 %, 0 %; benchmark +1 % each bar
    r = np.array([[0.10], [-0.05], [0.02], [0.0]])
    rb = np.array([0.01, 0.01, 0.01, 0.01])
    strategy = 1.10 * 0.95 * 1.02 * 1.0 - 1  # one year: the compound return itself
    bench = 1.01**4 - 1
    assert active_return(r, rb, 4.0)[0] == pytest.approx(strategy - bench, rel=1e-14)
    # a benchmark gap drops that bar on both sides: 3 bars over P = 4 -> power 4/3
    rb_gap = np.array([0.01, np.nan, 0.01, 0.01])
    want = (1.10 * 1.02) ** (4 / 3) - 1 - (1.01**3) ** (4 / 3) + 1
    assert active_return(r, rb_gap, 4.0)[0] == pytest.approx(want, rel=1e-14)


def test_equals_empyrical_annual_returns_difference_in_the_table() -> None:
    rng = np.random.default_rng(3)
    rb = rng.normal(0.0004, 0.01, 500)
    r = 0.5 * rb + rng.normal(0.0003, 0.008, 500)
    cash = 100.0
    equity = cash * np.cumprod(1 + r)
    table = metrics_table(equity, initial_cash=cash, benchmark_returns=rb)
    want = empyrical.annual_return(r, annualization=252) - empyrical.annual_return(rb, annualization=252)
    assert table["active_return"].iloc[0] == pytest.approx(want, rel=1e-10)


def test_measured_against_the_benchmark_chosen_for_the_run(home) -> None:
    def run(benchmark: str | None):
        request = BacktestRequest(
            strategy="sma_cross",
            params={"fast": 20, "slow": 100},
            symbols=("QQQ", "SPY"),
            start="2012-01-01",
            end="2018-12-31",
            config=BacktestConfig(benchmark=benchmark),
        )
        return run_request(request)

    for choice in ("TLT", "equal_weight"):
        result = run(choice)
        cash = result.config.initial_cash
        eq, be = result.equity.to_numpy(), result.benchmark.to_numpy()
        r = np.diff(np.concatenate(([cash], eq))) / np.concatenate(([cash], eq[:-1]))
        rb = np.diff(np.concatenate(([cash], be))) / np.concatenate(([cash], be[:-1]))
        want = np.prod(1 + r) ** (252 / len(r)) - np.prod(1 + rb) ** (252 / len(rb))
        assert result.metrics["active_return"] == pytest.approx(want, rel=1e-9), choice
    assert run("TLT").metrics["active_return"] != pytest.approx(run("equal_weight").metrics["active_return"])
