"""The consecutive-loss stop as a backtest overlay (engine.sim.overlays), checked against a plain re-implementation
over the unrestricted backtest's fill log and trades, against the live rule (engine.ops.round_trips +
engine.ops.risk's consecutive_losses check with a real kill switch file), and through `ivybt backtest`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from engine import jit
from engine.batch.models import ConfigModel
from engine.config import BacktestConfig, Risk
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.ops.rebalance import build_plan
from engine.ops.risk import RiskCheckFailed, RiskLimits, check_plan, kill_switch_reason, require_approved
from engine.ops.round_trips import round_trips
from engine.request import BacktestRequest, run_request
from engine.sim.grid import run_grid
from engine.sim.kernels import simulate_kernel
from engine.sim.overlays import hold_weights
from engine.sim.simulate import financing_settings, kernel_settings, rebalance_mask, run_backtest, stop_arrays
from engine.store.presets import Preset, load_preset, save_preset
from engine.store.runs import RunStore
from engine.strategies.registry import create_strategy, get_strategy
from tests.engine.cli_helpers import cli

PROTECTIVE = {"stop_loss", "take_profit", "trailing_stop"}
START, END = "2012-01-01", "2020-12-31"
BIG8 = ["AAPL", "MSFT", "AMZN", "GOOGL", "META", "NVDA", "TSLA", "JPM"]
CASES = {  # strategy, params, symbols, risk, fill, limit: each stops with positions open
    "sma-trailing-next_close": ("sma_cross", {"fast": 10, "slow": 50}, ["AAPL", "MSFT", "XLE", "GLD"],
                                {"trailing_stop": 0.08}, "next_close", 3),
    "macd-stops-same_close": ("macd", {}, ["SPY", "QQQ", "GLD", "TLT"], {"stop_loss": 0.04, "take_profit": 0.1},
                              "same_close", 3),
    "sma-stop-next_open": ("sma_cross", {"fast": 10, "slow": 50}, ["SPY", "QQQ", "GLD", "TLT"],
                           {"stop_loss": 0.05}, "next_open", 3),
    "ema_trend-own-stops": ("ema_trend", {}, ["SPY", "QQQ"], {}, "next_open", 3),
    # several exits on one bar: their order within the bar, and the run counted at the bar's close, decide
    "rotation-order-in-bar": ("momentum_rotation", {}, BIG8, {}, "next_open", 2),
    "rotation-run-at-close": ("momentum_rotation", {}, BIG8, {}, "next_close", 3),
    "macd-stop-at-close": ("macd", {}, BIG8, {"stop_loss": 0.03}, "next_close", 3),
}  # fmt: skip


def _request(case: str, on: bool) -> BacktestRequest:
    strategy, params, symbols, risk, fill, limit = CASES[case]
    cfg = BacktestConfig.from_dict({"risk": risk, "fill": fill, "max_consecutive_losses": limit if on else None})
    return BacktestRequest(strategy=strategy, params=params, symbols=tuple(symbols), start=START, end=END, config=cfg)


def _closing_fills(fills: pd.DataFrame) -> list[tuple[str, int]]:
    """(symbol, row in the fill log) of every fill that returns a position to 0 or flips it, in log order."""
    held: dict[str, float] = {}
    out = []
    for i, (sym, qty) in enumerate(zip(fills["symbol"], fills["quantity"], strict=True)):
        before = held.get(sym, 0.0)
        after = before + qty
        if before != 0.0 and (after == 0.0 or (after > 0) != (before > 0)):
            out.append((sym, i))
        held[sym] = after
    return out


def _expected_stop(result, limit: int) -> tuple[pd.Timestamp, list[int]] | None:
    """By hand: closed trades in the order of their closing fills in the log; at the end of each bar, the
    trailing run of losses; the first bar where it reaches `limit` and the trades (row labels) of that run."""
    trades, fills = result.trades, result.fills
    per_symbol = {s: list(g.index) for s, g in trades[trades["exit_reason"] != "open"].groupby("symbol", sort=False)}
    seen: dict[str, int] = {}
    ordered = []  # (exit time, trade row) in closing order
    for sym, i in _closing_fills(fills):
        k = seen.get(sym, 0)
        seen[sym] = k + 1
        row = per_symbol[sym][k]
        assert trades.loc[row, "exit_time"] == fills["time"].iloc[i]
        ordered.append((fills["time"].iloc[i], row))
    assert sum(seen.values()) == sum(len(v) for v in per_symbol.values())
    run: list[int] = []
    for n, (when, row) in enumerate(ordered):
        run = [*run, row] if trades.loc[row, "pnl"] < 0 else []
        end_of_bar = n + 1 == len(ordered) or ordered[n + 1][0] != when
        if end_of_bar and len(run) >= limit:
            return when, run
    return None


@pytest.mark.parametrize("case", list(CASES))
def test_stop_bar_and_holding_match_a_plain_reimplementation(case) -> None:
    limit = CASES[case][-1]
    free = run_request(_request(case, False))
    stopped = run_request(_request(case, True))
    expected = _expected_stop(free, limit)
    assert expected is not None, f"the case must contain {limit} losses in a row"
    when, run = expected
    stop = stopped.stopped
    assert stop is not None and stop.time == when and stop.limit == limit
    assert len(stop.trades) == len(run) >= limit
    for col in ("symbol", "entry_time", "exit_time", "pnl"):
        assert list(stop.trades[col]) == list(free.trades.loc[run, col])
    assert f"{len(run)} consecutive losing trades (limit {limit})" in stop.reason

    t = stopped.equity.index.get_loc(when)
    # up to the stop bar nothing differs (the decision at t uses trades closed up to t only)
    assert np.array_equal(stopped.equity.to_numpy()[: t + 1], free.equity.to_numpy()[: t + 1])
    assert np.array_equal(stopped.positions.to_numpy()[: t + 1], free.positions.to_numpy()[: t + 1])
    # after it: only protective exits trade; units stay as they were until their exit, then 0
    later = stopped.fills[stopped.fills["time"] > when]
    assert set(later["reason"]) <= PROTECTIVE
    pos = stopped.positions.to_numpy()
    for j, sym in enumerate(stopped.symbols):
        exits = later[later["symbol"] == sym]
        assert len(exits) <= 1
        cut = len(pos) if exits.empty else stopped.equity.index.get_loc(exits["time"].iloc[0])
        assert np.all(pos[t + 1 : cut, j] == pos[t, j]), sym
        assert np.all(pos[cut:, j] == 0.0), sym
        if not exits.empty:
            assert exits["quantity"].iloc[0] == -pos[t, j]
    # equity = cash + units x close (held over missing closes), cash moves only by the protective exits
    close = load_market_data(list(stopped.symbols), START, END).close.ffill().fillna(0.0).to_numpy()
    cash = stopped.cash.to_numpy()
    assert stopped.equity.to_numpy()[t:] == pytest.approx(cash[t:] + (pos[t:] * close[t:]).sum(axis=1), rel=1e-12)
    flows = -(later["quantity"] * later["price"]) - later["commission"]
    assert cash[-1] == pytest.approx(cash[t] + flows.sum(), rel=1e-12)


def test_some_case_exercises_protective_exits_after_the_stop() -> None:
    exits = 0
    for case in CASES:
        res = run_request(_request(case, True))
        exits += int((res.fills["time"] > res.stopped.time).sum())
    assert exits >= 2


@pytest.mark.parametrize(
    "strategy, params, symbols",
    [
        ("sma_cross", {"fast": 10, "slow": 50}, ["SPY", "QQQ"]),
        ("momentum_rotation", {}, ["SPY", "QQQ", "GLD", "TLT", "XLE"]),
        ("rsi_reversion", {}, ["SPY"]),
        ("ema_trend", {}, ["SPY"]),
    ],
)
def test_off_is_the_kernel_untouched_bit_for_bit(strategy, params, symbols) -> None:
    data = load_market_data(symbols, START, END)
    strat = create_strategy(strategy, params)
    config = BacktestConfig(risk=Risk(stop_loss=0.05))
    off = run_backtest(data, strat, config)
    assert off.stopped is None
    # the kernel called by hand with the same inputs: the overlay adds nothing when it is off
    arrays = data.to_arrays()
    (sl, tp, ts), use = stop_arrays(strat, data, config)
    weights = strat.weight_values(data)
    weights = strat.target_weights(data).to_numpy("float64") if weights is None else weights
    ro = jit.readonly
    raw = jit.kernel(simulate_kernel, data.close.size)(
        arrays["open"], arrays["high"], arrays["low"], arrays["close"], ro(np.ascontiguousarray(weights)),
        ro(rebalance_mask(data.index, config.rebalance)), sl, tp, ts, *kernel_settings(config), use,
        *financing_settings(config, data.symbols),
    )  # fmt: skip
    assert np.array_equal(off.equity.to_numpy(), raw[0])
    assert np.array_equal(off.positions.to_numpy(), raw[2])
    # a limit that never engages: the same results, bit for bit
    never = run_backtest(data, strat, BacktestConfig(risk=Risk(stop_loss=0.05), max_consecutive_losses=1000))
    assert never.stopped is None
    assert np.array_equal(never.equity.to_numpy(), off.equity.to_numpy())
    assert never.fills.equals(off.fills)


def test_grid_columns_equal_single_backtests_with_the_stop() -> None:
    data = load_market_data(["SPY", "QQQ", "GLD", "TLT"], START, END)
    config = BacktestConfig(risk=Risk(stop_loss=0.05), max_consecutive_losses=2)
    sets = [{"fast": 10, "slow": 50}, {"fast": 20, "slow": 100}]
    grid = run_grid(data, get_strategy("sma_cross"), sets, config, workers=1)
    for k, p in enumerate(sets):
        single = run_backtest(data, create_strategy("sma_cross", p), config)
        assert single.stopped is not None
        assert np.array_equal(grid.equity[k].to_numpy(), single.equity.to_numpy())
        free = run_backtest(data, create_strategy("sma_cross", p), BacktestConfig(risk=Risk(stop_loss=0.05)))
        assert not np.array_equal(grid.equity[k].to_numpy(), free.equity.to_numpy())


@pytest.mark.parametrize("case", ["macd-stops-same_close", "sma-stop-next_open"])
def test_targets_are_held_from_the_first_decision_after_the_stop(case) -> None:
    res = run_request(_request(case, True))
    t = res.stopped.bar
    first = t + 1 if res.config.fill == "same_close" else t  # a same_close decision at t filled at t's close
    w = res.weights.to_numpy()
    assert np.array_equal(w[first:], np.repeat(w[first - 1 : first], len(w) - first, axis=0))
    free = run_request(_request(case, False)).weights.to_numpy()
    assert np.array_equal(w[:first], free[:first]) and not np.array_equal(w[first:], free[first:])


def test_hold_weights_keep_every_target_the_kernel_carries_over_missing_bars() -> None:
    rng = np.random.default_rng(7)
    T, N, first = 80, 4, 40
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (T, N)), axis=0))
    close[rng.random((T, N)) < 0.15] = np.nan  # symbols without a bar, also just before `first`
    close[first - 3 : first, 1] = np.nan
    close[:first, 3] = np.nan  # a symbol that has no bar at all before the stop
    weights = np.round(rng.random((T, N)) * 4) / 16
    weights[rng.random((T, N)) < 0.2] = np.nan  # no opinion
    held = hold_weights(weights, close, first)
    assert np.array_equal(held[:first], weights[:first], equal_nan=True)
    nans = np.full((1, N), np.nan)
    ro = jit.readonly
    out = jit.kernel(simulate_kernel, close.size)(
        ro(close), ro(close * 1.01), ro(close * 0.99), ro(close), ro(held), ro(np.zeros(T, dtype=bool)),
        ro(nans), ro(nans), ro(nans), 100_000.0, 0.0, 0.0, 0.0, 0, True, 0.0, 1.0, 1.0, np.inf, False,
        1.0, ro(np.zeros(N)),
    )  # fmt: skip
    targets = out[3]
    assert np.array_equal(targets[first:], np.repeat(targets[first - 1 : first], T - first, axis=0))


def test_the_config_field_bounds_and_serialisation(home, presets) -> None:
    with pytest.raises(ConfigError, match=r"config\.max_consecutive_losses: 0 must be >= 1"):
        BacktestConfig(max_consecutive_losses=0)
    with pytest.raises(ConfigError, match="max_consecutive_losses' must be an integer, got 'abc'"):
        BacktestConfig.from_dict({"max_consecutive_losses": "abc"})
    assert BacktestConfig.from_dict({}).max_consecutive_losses is None  # an old preset's config section
    assert ConfigModel.model_validate({"max_consecutive_losses": 3}).max_consecutive_losses == 3  # batch YAML
    with pytest.raises(ValidationError):
        ConfigModel.model_validate({"max_consecutive_losses": 1001})
    request = _request("sma-stop-next_open", True)
    assert BacktestRequest.from_dict(request.to_dict()) == request
    save_preset(Preset.from_request("losses3", request))
    assert load_preset("losses3").to_request().config.max_consecutive_losses == 3
    result = run_request(request)
    stored = RunStore().load(RunStore().save(result, request)).result  # found again in the stored trades
    assert stored.config.max_consecutive_losses == 3
    assert stored.stopped is not None and stored.stopped.time == result.stopped.time
    assert stored.stopped.reason == result.stopped.reason


def _plan():
    return build_plan(
        preset="r",
        data_timestamp="2024-03-07",
        targets={"SPY": 0.1},
        equity=100_000.0,
        cash=100_000.0,
        prices={"SPY": 100.0},
        positions={},
        broker="paper",
        account_id="P1",
        cash_buffer=0.0,
    )


def test_live_rule_engages_the_kill_switch_on_the_trade_the_overlay_stops(home) -> None:
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY", "QQQ"),
        start="2015-01-01",
        end="2020-12-31",
    )
    free = run_request(request)
    stopped = run_request(request.with_changes(config=BacktestConfig(max_consecutive_losses=3))).stopped
    assert stopped is not None
    trades, fills = free.trades, free.fills
    closed = trades[trades["exit_reason"] != "open"]
    # every trade opens and closes in one fill each: one live round trip per backtest trade
    assert len(fills) == 2 * len(closed) + (len(trades) - len(closed))
    # the backtest's fills, scripted as broker fills in the order they happened
    script = pd.DataFrame(
        {
            "symbol": fills["symbol"],
            "side": np.where(fills["quantity"] > 0, "buy", "sell"),
            "quantity": fills["quantity"].abs(),
            "price": fills["price"],
            "time": pd.to_datetime(fills["time"]).dt.tz_localize("UTC") + pd.to_timedelta(np.arange(len(fills)), "us"),
        }
    )
    live = round_trips(script)
    assert len(live) == len(closed)
    assert (live["pnl"] < 0).sum() == (closed["pnl"] < 0).sum()
    day = live["exit_time"].dt.tz_convert(None).dt.normalize()
    limits = RiskLimits(max_consecutive_losses=3)

    def check(upto: pd.DataFrame):
        return next(c for c in check_plan(_plan(), limits, trades=upto) if c.name == "consecutive_losses")

    engaged = next(d for d in day.unique() if check(live[day <= d]).status == "fail")  # at each day's close
    assert engaged == stopped.time
    upto = live[day <= engaged]
    last, overlay_last = upto.iloc[-1], stopped.trades.iloc[-1]
    assert (last["symbol"], day[upto.index[-1]]) == (overlay_last["symbol"], overlay_last["exit_time"])
    assert last["exit_price"] == pytest.approx(overlay_last["exit_price"], rel=1e-12)
    assert check(upto.iloc[:-1]).status == "pass"  # not one trade earlier
    plan = _plan()
    with pytest.raises(RiskCheckFailed, match="consecutive_losses"):
        require_approved(plan.with_checks(check_plan(plan, limits, trades=upto)))
    reason = kill_switch_reason()
    assert reason is not None and reason.startswith(f"risk stop: {len(stopped.trades)} consecutive losing trades")
    assert f"{overlay_last['symbol']} {overlay_last['quantity']:g} @ {overlay_last['entry_price']:,.2f}" in reason


def test_cli_prints_when_trading_stopped_and_rejects_bad_values(tmp_path) -> None:
    base = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY,QQQ", "--param", "fast=10", "--param", "slow=50"]
    base += ["--start", "2015-01-01", "--end", "2020-12-31"]
    expected = run_request(
        BacktestRequest(
            strategy="sma_cross",
            params={"fast": 10, "slow": 50},
            symbols=("SPY", "QQQ"),
            start="2015-01-01",
            end="2020-12-31",
            config=BacktestConfig(max_consecutive_losses=3),
        )
    ).stopped
    proc = cli(*base, "--max-consecutive-losses", "3", home=tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("trading stopped on"))
    assert line.startswith(f"trading stopped on {expected.time:%Y-%m-%d}: 3 consecutive losing trades (limit 3)")
    for bad, says in (("0", "max_consecutive_losses: 0 must be >= 1"), ("abc", "invalid int value: 'abc'")):
        proc = cli(*base, "--max-consecutive-losses", bad, home=tmp_path / "ws")
        assert proc.returncode == 2 and proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr, proc.stderr
