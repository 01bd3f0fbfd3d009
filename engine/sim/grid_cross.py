"""The compiled fast path of `run_grid` for crossover strategies on one symbol: signal, fills, equity and every
metric of each parameter set in one pass, without a (bars x sets) weights, exposure or turnover array.

`engine.sim.grid.run_grid` takes it when the strategy describes its sets as a `CrossoverGrid` (each distinct
moving average once, and per set the rows of its two lines: `grid_crossover`) and the run uses nothing this
kernel leaves out: one symbol with a bar everywhere, next-open fills, rebalancing on change only, no stops,
sizing overlay, loss limit or financing (`fast_inputs` says which). Everything else runs the general path.

Per set, `cross_grid_kernel` runs what `run_backtest` runs, in the same floating-point order: the crossover
rules (`cross_step`, the strategy's own), the simulate kernel's next-open fill for one symbol (sizing with
costs, buying power, minimum commission, the dust rule), the close mark, the trade builder's round trips
(engine.sim.trades) and the metrics (`curve_column`, the fused metrics' own per-column pass; exposure,
turnover, trade sums and active return summed as the metric table sums them). Tests hold every set equal to
`run_backtest` (and to the general grid) on several symbols, long/short, fees, slippage and minimum commission.

numba caches a kernel by its own file: after editing `cross_step` or `curve_column`, touch this file too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine import jit
from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.jit import njit
from engine.metrics import activity, curve
from engine.metrics.fused import FUSED_NAMES, bench_stats, curve_column, exposure_outputs
from engine.metrics.registry import METRICS, Inputs
from engine.sim.kernels import DUST
from engine.sim.simulate import STOP_KEYS, financing_on
from engine.sim.sizing import OFF
from engine.strategies.base import Strategy
from engine.strategies.crossover import cross_step

N_FUSED = len(FUSED_NAMES)
EXTRA = ("count", "wins", "gross_profit", "gross_loss", "pnl", "returns")
"""Columns of the kernel's second output: the trade sums (engine.metrics.activity.TradeSums) and active return."""


@njit(cache=True)
def _fee(qty, price, comm, min_comm):
    f = abs(qty) * price * comm
    return f if f > min_comm else min_comm


@njit(cache=True, nogil=True)
def cross_grid_kernel(
    open_,
    close,
    lines,
    fast,
    slow,
    weight,
    allow_short,
    tie_rel,
    start,
    stop,
    init_cash,
    comm,
    min_comm,
    slip,
    fractional,
    max_lev,
    max_pos,
    periods,
    rf_bar,
    years,
    bench,
    bs,
    level,
    keep,
    fused,
    extra,
):
    """Sets start..stop-1 of a crossover grid on one symbol: row k of `fused` (FUSED_NAMES, NaN beforehand) and
    of `extra` (EXTRA) for set k, and its equity in keep[k] when `keep` has a row per set (else (0, T)).

    open_, close: (T,) prices, no NaN; lines: (L, T) moving averages; fast, slow: (K,) rows of `lines`;
    weight: (K,) weight held in a position; allow_short: (K,) bool; the rest as `simulate_kernel`'s and
    `curve_column`'s arguments (bs = fused.bench_stats(bench), computed once per grid; fill next_open, rebalance
    on change, no stops, no financing)."""
    T = close.shape[0]
    own = keep.shape[0] != fused.shape[0]
    buf = np.empty(T)
    r = np.empty(T)
    for k in range(start, stop):
        eq = buf if own else keep[k]
        fl = lines[fast[k]]
        sl = lines[slow[k]]
        w_k = weight[k]
        short = allow_short[k]
        cash = init_cash
        q = 0.0
        tgt = 0.0
        pending = False
        last = 0.0
        sig = 0.0
        # the trade builder's state: position, the open trade's pnl and cost, and the sums over closed trades
        tpos = 0.0
        t_pnl = 0.0
        t_cost = 0.0
        n_tr = 0.0
        wins = 0.0
        gp = 0.0
        gl = 0.0
        s_pnl = 0.0
        s_ret = 0.0
        n_pos = 0
        tot_g = 0.0
        tot_t = 0.0
        for t in range(T):
            turn = 0.0
            if pending:  # the decision of the last close fills at this open
                pending = False
                p = open_[t]
                value = cash
                if q != 0.0:
                    value += q * p
                qb = tgt * value / (p * (1.0 + slip) * (1.0 + comm))
                qs = tgt * value / (p * (1.0 - slip) * (1.0 + comm))
                if not fractional:
                    qb = np.trunc(qb)
                    qs = np.trunc(qs)
                d = 0.0
                if q < qb:
                    d = qb - q
                elif q > qs:
                    d = qs - q
                ok = d != 0.0
                pf = p
                if ok and d > 0.0:
                    pf = p * (1.0 + slip)
                    if q >= 0.0:
                        power = cash + (max_lev - 1.0) * value
                        if power < 0.0:
                            power = 0.0
                        if d * pf + _fee(d, pf, comm, min_comm) > power:
                            d = power / (pf * (1.0 + comm))
                            if d * pf * comm < min_comm:
                                d = (power - min_comm) / pf
                            if not fractional:
                                d = np.floor(d)
                            if d <= 0.0:
                                ok = False
                elif ok:
                    pf = p * (1.0 - slip)
                if ok and abs(d) * pf <= DUST * abs(value) and q + d != 0.0:
                    ok = False
                if ok:
                    fee = _fee(d, pf, comm, min_comm)
                    cash -= d * pf + fee
                    turn += abs(d) * pf
                    q_new = q + d
                    if fractional and abs(q_new) <= 1e-12 * abs(q):
                        q_new = 0.0
                    q = q_new
                    # the round trips (engine.sim.trades._build_trades for one symbol)
                    remaining = d
                    if tpos != 0.0 and (tpos > 0.0) != (d > 0.0):
                        close_qty = -tpos if abs(d) >= abs(tpos) else d
                        share = close_qty / d
                        t_pnl += -close_qty * pf - fee * share
                        tpos += close_qty
                        remaining = d - close_qty
                        fee = fee * (1.0 - share)
                        if abs(tpos) <= 1e-12 * abs(close_qty):
                            tpos = 0.0
                        if tpos == 0.0:
                            n_tr, wins, gp, gl, s_pnl, s_ret = _add_trade(
                                t_pnl, t_cost, n_tr, wins, gp, gl, s_pnl, s_ret
                            )
                    if remaining != 0.0 and abs(remaining) > 1e-15:
                        if tpos == 0.0:
                            t_pnl = -remaining * pf - fee
                            t_cost = abs(remaining) * pf + fee
                        else:
                            t_pnl += -remaining * pf - fee
                            t_cost += abs(remaining) * pf + fee
                        tpos += remaining
            c = close[t]
            # the decision at this close: the crossover's position times the weight, capped as the kernel caps
            last, sig = cross_step(fl[t], sl[t], tie_rel, short, last, sig)
            v = sig * w_k
            if v > max_pos:
                v = max_pos
            elif v < -max_pos:
                v = -max_pos
            gross = abs(v)
            if gross > max_lev:
                v *= max_lev / gross
            if abs(v - tgt) > 1e-12:
                pending = True
            tgt = v
            value = cash
            g = 0.0
            if q != 0.0:
                mv = q * c
                value += mv
                g = abs(mv)
            eq[t] = value
            if value != 0.0:
                if g != 0.0:
                    g = g / abs(value)
                if turn != 0.0:  # 0 / |value| is 0
                    turn /= abs(value)
            else:
                g = 0.0
            tot_g += g
            if g > 0.0:
                n_pos += 1
            tot_t += turn
        if tpos != 0.0:  # still open after the last bar: marked at the last close
            t_pnl += tpos * close[T - 1]
            n_tr, wins, gp, gl, s_pnl, s_ret = _add_trade(t_pnl, t_cost, n_tr, wins, gp, gl, s_pnl, s_ret)
        row = fused[k]
        curve_column(eq, init_cash, periods, rf_bar, years, bench, bs, level, r, row)
        exposure_outputs(row, T, periods, n_pos, tot_g, tot_t)
        ex = extra[k]
        ex[0] = n_tr
        ex[1] = wins
        ex[2] = gp
        ex[3] = gl
        ex[4] = s_pnl
        ex[5] = s_ret


@njit(cache=True)
def _add_trade(pnl, cost, n_tr, wins, gp, gl, s_pnl, s_ret):
    """The trade sums after one more round trip, summed as engine.metrics.activity.trade_sums sums."""
    n_tr += 1.0
    if pnl > 0.0:
        wins += 1.0
        gp += pnl
    if pnl < 0.0:
        gl += -pnl
    return n_tr, wins, gp, gl, s_pnl + pnl, s_ret + pnl / cost


def fast_inputs(data: MarketData, strategy_cls: type[Strategy], params: list[Any], config: BacktestConfig) -> Any:
    """The strategy's `CrossoverGrid` when this path can run the grid (module docstring), else None."""
    hook = getattr(strategy_cls, "grid_crossover", None)
    if hook is None or len(data.symbols) != 1 or len(data) < 2:
        return None
    if strategy_cls.stop_fractions is not Strategy.stop_fractions:
        return None
    if any(getattr(config.risk, key) is not None for key in STOP_KEYS):
        return None
    if config.fill != "next_open" or config.rebalance != "on_change" or config.sizing.method != OFF:
        return None
    if config.max_consecutive_losses is not None or financing_on(config):
        return None
    if np.isnan(data.open.to_numpy(dtype="float64")).any():
        return None
    return hook(data, params)


def run_cross_grid(
    data: MarketData,
    grid: Any,
    config: BacktestConfig,
    bench_returns: np.ndarray,
    kept: np.ndarray | None,
    bounds: list[tuple[int, int]],
    run: Callable[[Callable[[int, int], None], list[tuple[int, int]]], None],
) -> dict[str, np.ndarray] | None:
    """Every metric (METRIC_NAMES) of every set of `grid` (a CrossoverGrid), its equity in `kept` (K, T) when
    given; None when a curve has a return that is not finite (the general path handles it: the metric table
    refuses a curve that is not finite).

    run(fn, bounds) calls fn(start, stop) for each (start, stop) of `bounds` (the batches: engine.sim.grid's
    `batch_bounds`), on the grid's threads (the kernel releases the GIL), with its progress and cancel checks."""
    K, T = len(grid.fast), len(data)
    ro = jit.readonly
    open_ = ro(np.ascontiguousarray(data.open.to_numpy(dtype="float64")[:, 0]))
    close = ro(np.ascontiguousarray(data.close.to_numpy(dtype="float64")[:, 0]))
    risk, costs = config.risk, config.costs
    p = float(config.periods_per_year)
    years = float(curve.years_spanned(T, p, data.index))
    bench = ro(np.ascontiguousarray(bench_returns, dtype=np.float64))
    fused = np.full((K, N_FUSED), np.nan)
    extra = np.full((K, len(EXTRA)), np.nan)
    keep = kept if kept is not None else np.empty((0, T))
    kernel = jit.kernel(cross_grid_kernel, K * T)
    args = (ro(grid.lines), ro(grid.fast), ro(grid.slow), ro(grid.weight), ro(grid.allow_short), grid.tie_rel)
    settings = (
        float(config.initial_cash),
        costs.commission_bps / 1e4,
        float(costs.min_commission),
        costs.slippage_bps / 1e4,
        bool(config.fractional),
        float(risk.max_leverage),
        float(risk.max_position) if risk.max_position is not None else np.inf,
    )
    bs = ro(jit.kernel(bench_stats, T)(bench))
    rest = (p, 0.0, years, bench, bs, 0.95, keep, fused, extra)

    def one(start: int, stop: int) -> None:
        kernel(open_, close, *args, start, stop, *settings, *rest)

    run(one, bounds)
    if np.isnan(fused[:, 3]).any():  # a return that is not finite (annual volatility NaN): the general path's case
        return None
    slot = {name: i for i, name in enumerate(FUSED_NAMES)}
    sums = activity.TradeSums(*(extra[:, i].copy() for i in range(6)))
    inputs = Inputs(np.empty((0, K)), np.full(K, float(config.initial_cash)), p, years, trades=sums)
    out: dict[str, np.ndarray] = {}
    for m in METRICS:
        if m.key in slot:
            out[m.key] = fused[:, slot[m.key]].copy()
        else:
            out[m.key] = m.compute(inputs)  # the trade metrics, from the trade sums
    return out


def supported() -> bool:
    """Whether this path computes every metric of the registry (a metric added since is the general path's)."""
    return all(m.key in FUSED_NAMES or m.needs == "trades" for m in METRICS)
