"""engine.jit: the interpreted twins of the numba kernels give exactly the compiled numbers, and a process
with an empty numba cache answers a small backtest at once while a background warm-up fills the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import jit
from engine.config import BacktestConfig, Costs, Risk
from engine.data import load_market_data
from engine.sim.grid import expand_grid, run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy, get_strategy

REPO = Path(__file__).resolve().parents[2]


def _both(monkeypatch: pytest.MonkeyPatch, fn):
    out = {}
    for how in ("compiled", "interpreted"):
        monkeypatch.setenv("IVYBT_JIT", how)
        out[how] = fn()
    return out["compiled"], out["interpreted"]


@pytest.fixture(scope="module")
def market():
    return load_market_data(["SPY", "BTC-USD", "XLE"], start="2016-01-01", end="2018-12-31")


@pytest.mark.parametrize(
    "config",
    [
        BacktestConfig(),
        BacktestConfig(
            costs=Costs(commission_bps=10, min_commission=1.0, slippage_bps=5),
            fractional=False,
            risk=Risk(stop_loss=0.03, take_profit=0.08, trailing_stop=0.05, max_leverage=1.5),
        ),
        BacktestConfig(fill="next_close", rebalance="weekly", drift_threshold=0.01),
    ],
)
def test_interpreted_backtest_equals_compiled(monkeypatch, market, config) -> None:
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20, "allow_short": True})
    compiled, interpreted = _both(monkeypatch, lambda: run_backtest(market, strategy, config))
    np.testing.assert_array_equal(compiled.equity.to_numpy(), interpreted.equity.to_numpy())
    pd.testing.assert_frame_equal(compiled.trades, interpreted.trades)
    pd.testing.assert_frame_equal(compiled.fills, interpreted.fills)
    # bit for bit, metrics too: which tier runs (it depends on the process's cache state) never changes a
    # number, so a batch worker, a pool process and the app agree exactly
    assert compiled.metrics.keys() == interpreted.metrics.keys()
    for name, value in compiled.metrics.items():
        assert value == interpreted.metrics[name] or (np.isnan(value) and np.isnan(interpreted.metrics[name])), name
    stopped = compiled.fills["reason"].isin(["stop_loss", "take_profit", "trailing_stop"]).any()
    assert len(compiled.trades) > 10 and stopped == (config.risk.stop_loss is not None)  # the paths ran


def test_interpreted_grid_equals_compiled(monkeypatch, market) -> None:
    cls = get_strategy("sma_cross")
    sets = expand_grid({"fast": [3, 5, 8], "slow": [20, 40]}, strategy_cls=cls)
    compiled, interpreted = _both(monkeypatch, lambda: run_grid(market, cls, sets, BacktestConfig()))
    pd.testing.assert_frame_equal(compiled.metrics, interpreted.metrics, check_exact=True)
    np.testing.assert_array_equal(compiled.equity.to_numpy(), interpreted.equity.to_numpy())


def test_interpreted_twin_calls_twins_not_dispatchers() -> None:
    from engine.sim import kernels

    twin = jit.interpreted(kernels.simulate_kernel)
    assert twin.__code__ is kernels.simulate_kernel.py_func.__code__
    for name in ("_execute", "_record", "_fee", "_any_pending"):
        assert twin.__globals__[name] is jit.interpreted(getattr(kernels, name))
        assert not hasattr(twin.__globals__[name], "signatures")


def test_bad_mode_is_named(monkeypatch) -> None:
    monkeypatch.setenv("IVYBT_JIT", "fast")
    with pytest.raises(ValueError, match="IVYBT_JIT='fast'"):
        jit.mode()


PROBE = """
import json, time, sys
t0 = time.perf_counter()
from engine import jit
from engine.data import load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy
data = load_market_data(["SPY"])
t1 = time.perf_counter()
m = run_backtest(data, create_strategy("sma_cross", {"fast": 10, "slow": 50})).metrics
print(json.dumps({"warm": jit.is_warm(), "seconds": time.perf_counter() - t1, "final": m["final_equity"],
                  "trades": m["n_trades"]}))
"""


@pytest.mark.slow
def test_cold_cache_answers_now_and_warms_in_the_background(tmp_path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "IVYBT_HOME": str(tmp_path / "ws")}
    env.pop("IVYBT_JIT", None)

    def probe() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = probe()
    assert cold["warm"] is False
    assert cold["final"] == pytest.approx(839_252.60, abs=0.01) and cold["trades"] == 104  # WORKLOADS W1
    cache = tmp_path / "numba"
    deadline = time.monotonic() + 540
    while not list(cache.glob("ivybt-warm-*")) and time.monotonic() < deadline:
        time.sleep(1.0)
    assert list(cache.glob("ivybt-warm-*")), "the background warm-up never finished"
    while list(cache.glob("ivybt-warming-*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the lock goes right after the marker
    assert not list(cache.glob("ivybt-warming-*"))
    warm = probe()
    assert warm["warm"] is True
    assert (warm["final"], warm["trades"]) == (cold["final"], cold["trades"])


def test_warm_cache_interprets_small_jobs_until_the_load_pays(monkeypatch) -> None:
    """Cache warm but nothing loaded in this process: small jobs run interpreted (loading numba's context
    costs more) until LOAD_COST_S of interpreter time is spent; a big job, or a process that already holds a
    compiled kernel, gets the compiled tier."""

    @jit.njit()
    def fresh(x):
        return x + 1.0

    @jit.njit()
    def other(x):
        return x * 2.0

    monkeypatch.setenv("IVYBT_JIT", "auto")
    monkeypatch.setattr(jit, "is_warm", lambda: True)
    monkeypatch.setattr(jit, "_kernel_of", {})  # as in a process that compiled nothing yet
    monkeypatch.setattr(jit, "_interpreted_s", 0.0)
    small = jit.kernel(fresh, jit.WARM_INTERPRET_MAX_CELLS)
    assert small is not fresh and small(1.0) == 2.0 and not fresh.signatures  # interpreted, timed
    assert 0.0 < jit._interpreted_s < jit.LOAD_COST_S
    assert jit.kernel(fresh, jit.WARM_INTERPRET_MAX_CELLS + 1) is fresh.compiled()
    monkeypatch.setattr(jit, "_interpreted_s", jit.LOAD_COST_S)
    assert jit.kernel(fresh, 10) is fresh.compiled()  # budget spent: load
    monkeypatch.setattr(jit, "_interpreted_s", 0.0)
    assert fresh(1.0) == 2.0 and fresh.signatures  # now compiled in this process
    assert jit.kernel(other, 10) is other.compiled()  # numba's context is up: every later load is cheap


def test_importing_the_engine_imports_neither_numba_nor_pandas_ta() -> None:
    """A fresh process that runs one small backtest (interpreter tier) never pays for numba's or pandas-ta's
    import (~0.3-0.5 s here); the compiled tier and indicators other than TA-Lib's SMA import them on use."""
    code = (
        "import sys; import engine.sim.simulate, engine.data, engine.sim.grid, engine.strategies.registry; "
        "print('numba' in sys.modules, 'pandas_ta' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_kernels_bind_their_module_helpers_when_compiled() -> None:
    """Compiling a kernel turns the module's other kernels and `prange` into numba objects (numba types the
    globals a kernel calls); the twins keep calling twins."""
    import numba

    from engine.metrics import fused
    from engine.sim import kernels

    jit.as_kernel(kernels.simulate_kernel).compiled()  # module globals may hold dispatchers already
    assert isinstance(kernels._execute, numba.core.registry.CPUDispatcher)
    jit.as_kernel(fused._serial).compiled()
    assert fused.prange is numba.prange
    plain = jit.Kernel(fused._fused, {"cache": False, "parallel": True})  # no numpy twin: the code-object twin
    assert jit.interpreted(plain).__globals__["prange"] is range
    assert jit.interpreted(fused._parallel).func is fused.fused_numpy  # its registered numpy twin
