"""A slow, obviously correct bar-by-bar reference of DESIGN §3, written independently of engine.sim.kernels.

Plain Python floats and dicts, one bar at a time, no numba, no numpy in the loop. The property tests compare
the compiled simulator against it. Stops are not modelled here (they have hand-worked tests of their own).
"""

from __future__ import annotations

import math


def reference_backtest(
    open_,
    close,
    weights,
    *,
    cash=100_000.0,
    commission=0.0,
    min_commission=0.0,
    slippage=0.0,
    fill="next_open",
    fractional=True,
    rebalance_at=None,
    drift=0.0,
    max_leverage=1.0,
    max_position=math.inf,
):
    """Returns (equity list, fills list of (bar, symbol, qty, price, fee)).

    open_, close, weights: lists of rows (lists of floats, NaN = no bar / no opinion).
    rebalance_at: set of bars whose decision is a scheduled rebalance.
    """
    n_bars, n_sym = len(close), len(close[0])
    rebalance_at = rebalance_at or set()
    qty = [0.0] * n_sym
    last_close = [math.nan] * n_sym
    target = [0.0] * n_sym  # after caps, carried over bars without data
    raw = [0.0] * n_sym
    orders = {}  # symbol -> "signal" | "rebalance", waiting for a price
    equity, fills = [], []

    def execute(bar, prices):
        value = cash_box[0]
        for j in range(n_sym):
            if qty[j] != 0:
                p = prices[j] if not math.isnan(prices[j]) else last_close[j]
                value += qty[j] * p
        wanted = {}
        for j, kind in list(orders.items()):
            p = prices[j]
            if math.isnan(p):
                continue
            del orders[j]
            w = target[j]
            if kind == "rebalance" and value > 0 and abs(qty[j] * p / value - w) <= drift:
                continue
            buy_target = w * value / (p * (1 + slippage) * (1 + commission))
            sell_target = w * value / (p * (1 - slippage) * (1 + commission))
            if not fractional:
                buy_target, sell_target = float(math.trunc(buy_target)), float(math.trunc(sell_target))
            if qty[j] < buy_target:
                wanted[j] = buy_target - qty[j]
            elif qty[j] > sell_target:
                wanted[j] = sell_target - qty[j]
        sells = [(j, d) for j, d in sorted(wanted.items()) if d < 0]
        buys = [(j, d) for j, d in sorted(wanted.items()) if d > 0]
        for j, d in sells + buys:
            if d > 0:
                price = prices[j] * (1 + slippage)
                if qty[j] >= 0:
                    power = max(cash_box[0] + (max_leverage - 1) * value, 0.0)
                    if d * price + max(d * price * commission, min_commission) > power:
                        d = power / (price * (1 + commission))
                        if d * price * commission < min_commission:
                            d = (power - min_commission) / price
                        if not fractional:
                            d = float(math.floor(d))
                        if d <= 0:
                            continue
            else:
                price = prices[j] * (1 - slippage)
            if abs(d) * price <= 1e-9 * abs(value) and qty[j] + d != 0:
                continue  # dust: leftover float residue is not an order
            fee = max(abs(d) * price * commission, min_commission)
            cash_box[0] -= d * price + fee
            new_qty = qty[j] + d
            if fractional and abs(new_qty) <= 1e-12 * abs(qty[j]):
                new_qty = 0.0
            qty[j] = new_qty
            if math.isnan(last_close[j]):
                last_close[j] = prices[j]
            fills.append((bar, j, d, price, fee))

    cash_box = [cash]
    for t in range(n_bars):
        if t > 0 and fill == "next_open" and orders:
            execute(t, open_[t])
        if t > 0 and fill == "next_close" and orders:
            execute(t, close[t])
        for j in range(n_sym):
            if not math.isnan(close[t][j]):
                last_close[j] = close[t][j]
                raw[j] = 0.0 if math.isnan(weights[t][j]) else weights[t][j]
        capped = [min(max(r, -max_position), max_position) for r in raw]
        gross = sum(abs(c) for c in capped)
        if gross > max_leverage:
            capped = [c * max_leverage / gross for c in capped]
        for j in range(n_sym):
            if abs(capped[j] - target[j]) > 1e-12:
                orders[j] = "signal"
            elif t in rebalance_at and j not in orders:
                orders[j] = "rebalance"
            target[j] = capped[j]
        if fill == "same_close" and t < n_bars - 1 and orders:
            execute(t, close[t])
        value = cash_box[0] + sum(qty[j] * last_close[j] for j in range(n_sym) if qty[j] != 0)
        equity.append(value)
    return equity, fills
