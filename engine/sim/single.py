"""The single-series fast path of `run_backtest` (issue 19 item 1): one symbol, fills at the next open, no stops,
no schedule, no financing.

`engine.sim.kernels.simulate_kernel` is general: N symbols with shared cash, stops, scheduled rebalances with
drift, three fill modes, financing between bars. Most of its time on one long series goes to that generality
(loops over symbols, per-bar state arrays, (T, N) outputs). `single_kernel` is the same bar timing with one
symbol and none of those features, written as a transcription of the general kernel for N = 1: the same float
operations in the same order, so equity, fills and metrics are the same numbers (tests hold the two paths
equal on every bundled symbol). It writes only the equity per bar; the exposure metrics' inputs (gross exposure,
turnover) are summed in the loop, in the order the metrics sum the general kernel's per-bar arrays. Positions,
cash and weights are rebuilt on first access from the fill log (`after`: quantity and cash after each fill) and
the targets (`single_weights`), bit for bit what the general kernel writes.

`eligible` says when a request may take this path; anything it lacks (several symbols, stops, a rebalance
schedule, next_close / same_close fills, cash rate, margin or borrow fees, the consecutive-loss stop) falls
back to the general kernel.
"""

from __future__ import annotations

import numpy as np

from engine import jit
from engine.config import BacktestConfig
from engine.jit import njit, readonly
from engine.sim.kernels import DUST, F_BAR, F_FEE, F_PRICE, F_QTY, F_REASON, F_SYM, NEXT_OPEN, REASON_SIGNAL
from engine.sim.result import Deferred

SingleOutputs = tuple[np.ndarray, Deferred, Deferred, Deferred, None, None, np.ndarray, np.ndarray, Deferred]
"""`run_single`'s outputs in simulate_kernel's order: cash, positions, weights and financing deferred, no per-bar
turnover or gross exposure (their sums come beside them)."""


@njit(cache=True, nogil=True)
def single_kernel(open_, close, target, init_cash, comm, min_comm, slip, fractional, max_lev, max_pos):
    """Simulate one symbol with next-open fills (engine.sim.kernels.simulate_kernel for N = 1, without stops,
    schedule or financing).

    Args:
        open_, close: (T,) prices, NaN where the symbol has no bar. target: (T,) weights decided at each close
        (NaN = 0). Scalars as for simulate_kernel.

    Returns:
        equity (T,), the exposure sums (1, 3) (bars ending with a position, gross exposure and turnover summed over
        the bars in time order: engine.metrics.fused's exposure_sums), the last known close (1,), fills (n, 6) in
        simulate_kernel's columns, and after (n, 2): the quantity held and the cash right after each fill.
    """
    T = close.shape[0]
    equity = np.empty(T)
    n_held = 0.0  # the exposure sums, as engine.metrics.fused sums the general kernel's gross and turnover
    gross_sum = 0.0
    turnover_sum = 0.0
    cap = 64
    fills = np.empty((cap, 6))
    after = np.empty((cap, 2))
    nf = 0
    cash = init_cash
    q = 0.0
    last_close = np.nan
    tgt = 0.0
    raw = 0.0
    pending = False
    t = 0
    while t < T:
        traded = 0.0
        p = open_[t]
        if pending and not np.isnan(p):  # the order decided at the last close fills at this open
            value = cash
            if q != 0.0:
                value += q * p
            pending = False
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
            skip = d == 0.0
            pf = p
            if d > 0.0:
                pf = p * (1.0 + slip)
                if q >= 0.0:
                    power = cash + (max_lev - 1.0) * value
                    if power < 0.0:
                        power = 0.0
                    f = abs(d) * pf * comm
                    if d * pf + (f if f > min_comm else min_comm) > power:
                        d = power / (pf * (1.0 + comm))
                        if d * pf * comm < min_comm:
                            d = (power - min_comm) / pf
                        if not fractional:
                            d = np.floor(d)
                        if d <= 0.0:
                            skip = True
            elif d < 0.0:
                pf = p * (1.0 - slip)
            if not skip and not (abs(d) * pf <= DUST * abs(value) and q + d != 0.0):
                fee = abs(d) * pf * comm
                if fee <= min_comm:
                    fee = min_comm
                cash -= d * pf + fee
                traded += abs(d) * pf
                q_new = q + d
                if fractional and abs(q_new) <= 1e-12 * abs(q):
                    q_new = 0.0
                q = q_new
                if np.isnan(last_close):
                    last_close = p
                if nf >= cap:
                    cap = cap * 2 + 16
                    bigger = np.empty((cap, 6))
                    bigger[:nf] = fills[:nf]
                    fills = bigger
                    more = np.empty((cap, 2))
                    more[:nf] = after[:nf]
                    after = more
                fills[nf, F_BAR] = t
                fills[nf, F_SYM] = 0
                fills[nf, F_QTY] = d
                fills[nf, F_PRICE] = pf
                fills[nf, F_FEE] = fee
                fills[nf, F_REASON] = REASON_SIGNAL
                after[nf, 0] = q
                after[nf, 1] = cash
                nf += 1
        # the bars up to the next decision that changes the target: a tight loop, the fill code above stays out
        # of it
        while True:
            c = close[t]
            if not np.isnan(c):
                last_close = c
                v = target[t]
                raw = 0.0 if np.isnan(v) else v
            v = raw
            if v > max_pos:
                v = max_pos
            elif v < -max_pos:
                v = -max_pos
            g = abs(v)
            if g > max_lev:
                v *= max_lev / g
            if abs(v - tgt) > 1e-12:
                pending = True
            tgt = v
            value = cash
            g = 0.0
            if q != 0.0:
                mv = q * last_close
                value += mv
                g = abs(mv)
            equity[t] = value
            # as simulate_kernel: x / |value| (x itself on a zero-equity bar); 0 / |value| is 0 unless value is NaN,
            # so the division runs only on bars that hold or trade
            if value != 0.0 and (g != 0.0 or value != value):
                g = g / abs(value)
            else:
                g = 0.0
            gross_sum += g
            if g > 0.0:
                n_held += 1.0
            if value != 0.0 and (traded != 0.0 or value != value):
                turnover_sum += traded / abs(value)
            else:
                turnover_sum += traded
            t += 1
            traded = 0.0
            if pending or t >= T:
                break
    last = np.empty(1)
    last[0] = last_close
    exposure = np.empty((1, 3))
    exposure[0, 0] = n_held
    exposure[0, 1] = gross_sum
    exposure[0, 2] = turnover_sum
    return equity, exposure, last, fills[:nf].copy(), after[:nf].copy()


@njit(cache=True, nogil=True)
def single_weights(close, target, max_lev, max_pos):
    """(T,) weights as `single_kernel` (and simulate_kernel) simulate them: the last target of a bar with a close
    (NaN = 0), capped at max_pos, scaled down to max_lev."""
    T = close.shape[0]
    out = np.empty(T)
    raw = 0.0
    for t in range(T):
        if not np.isnan(close[t]):
            v = target[t]
            raw = 0.0 if np.isnan(v) else v
        v = raw
        if v > max_pos:
            v = max_pos
        elif v < -max_pos:
            v = -max_pos
        g = abs(v)
        if g > max_lev:
            v *= max_lev / g
        out[t] = v
    return out


def eligible(
    n_symbols: int, config: BacktestConfig, use_stops: bool, rebal: np.ndarray, settings: tuple, fin: tuple
) -> bool:
    """Whether `single_kernel` can run this request: one symbol, next-open fills, no stops, no rebalance
    schedule, no cash growth, margin rate or borrow fee, no consecutive-loss stop (`settings` and `fin` as
    engine.sim.simulate.kernel_settings / financing_settings give them)."""
    cash_growth = settings[7]
    margin_growth, borrow = fin
    return (
        n_symbols == 1
        and not use_stops
        and settings[4] == NEXT_OPEN
        and cash_growth == 1.0
        and margin_growth == 1.0
        and not bool(np.any(borrow))
        and config.max_consecutive_losses is None
        and not bool(rebal.any())
    )


def held(bars: np.ndarray, values: np.ndarray, n_bars: int, before: float) -> np.ndarray:
    """(T,) per bar the value after the last fill on or before it (`values` per fill, fills on `bars`, in bar
    order), `before` until the first fill: positions and cash between fills."""
    out = np.full(n_bars, before, dtype=np.float64)
    if len(bars):
        starts = bars.astype(np.int64)
        # several fills on one bar: the last one holds at the close
        last = np.ones(len(starts), dtype=bool)
        last[:-1] = starts[1:] != starts[:-1]
        starts, vals = starts[last], values[last]
        stops = np.append(starts[1:], n_bars)
        out[starts[0] :] = np.repeat(vals, stops - starts)
    return out


def run_single(
    open_: np.ndarray, close: np.ndarray, weights: np.ndarray, settings: tuple
) -> tuple[SingleOutputs, np.ndarray]:
    """`single_kernel` on (T, 1) prices and weights: simulate_kernel's outputs (equity, cash, positions, weights,
    turnover and gross None, last close, fills, financing), cash, positions, weights and financing as `Deferred`s
    built from the fill log and the targets when first read; and the (1, 3) exposure sums."""
    init_cash, comm, min_comm, slip, _, fractional, _, _, max_lev, max_pos = settings
    o, c, w = (readonly(np.ascontiguousarray(a[:, 0])) for a in (open_, close, weights))
    n = c.shape[0]
    kernel = jit.kernel(single_kernel, n)
    equity, exposure, last_close, fills, after = kernel(
        o, c, w, init_cash, comm, min_comm, slip, fractional, max_lev, max_pos
    )
    bars = fills[:, 0]

    def simulated_weights() -> np.ndarray:
        return jit.kernel(single_weights, n)(c, w, max_lev, max_pos)[:, None]

    return (
        equity,
        Deferred(lambda: held(bars, after[:, 1], n, init_cash)),
        Deferred(lambda: held(bars, after[:, 0], n, 0.0)[:, None]),
        Deferred(simulated_weights),
        None,
        None,
        last_close,
        fills,
        Deferred(lambda: np.zeros((n, 3))),
    ), exposure
