"""Compiled simulation kernel: target weights -> fills, positions, cash and equity (DESIGN §3).

Everything path-dependent (pending orders across NaN bars, cash, stops) lives here, in one numba loop over
bars. `engine.sim.simulate` is the thin pandas wrapper around it. Bar timing per bar t:

1. financing for the time since the last close, on the state at that close: positive cash earns its per-bar
   rate, negative cash pays the margin rate, each short pays its borrow fee on its market value at that close
   (per-bar rates from engine.sim.costs.rate_per_period; each amount is its own output column);
2. `next_open`: orders decided at the close of t-1 fill at open[t];
3. stops are checked against bar t's open (gaps), low and high for every open position;
4. `next_close`: orders decided at t-1 fill at close[t];
5. the decision at the close of t is read (a symbol with no bar at t keeps its previous target); per-position
   cap, then gross-leverage scaling; `same_close` fills it at close[t] at once (optimistic);
6. equity is marked at the close (last known close for symbols without a bar).
"""

from __future__ import annotations

import numpy as np

from engine.jit import njit

NEXT_OPEN, NEXT_CLOSE, SAME_CLOSE = 0, 1, 2
FILL_MODES = {"next_open": NEXT_OPEN, "next_close": NEXT_CLOSE, "same_close": SAME_CLOSE}
REASON_SIGNAL, REASON_REBALANCE, REASON_STOP_LOSS, REASON_TAKE_PROFIT, REASON_TRAILING = 0, 1, 2, 3, 4
REASONS = ("signal", "rebalance", "stop_loss", "take_profit", "trailing_stop")
DUST = 1e-9  # orders smaller than this fraction of equity are float residue and skipped
# columns of the fill log
F_BAR, F_SYM, F_QTY, F_PRICE, F_FEE, F_REASON = 0, 1, 2, 3, 4, 5
# columns of the financing output: borrow fee paid, margin interest paid, cash interest earned
FIN_BORROW, FIN_MARGIN, FIN_CASH = 0, 1, 2


@njit(cache=True)
def _record(fills, n, bar, sym, qty, price, fee, reason):
    if n >= fills.shape[0]:
        bigger = np.empty((fills.shape[0] * 2 + 16, 6))
        bigger[:n] = fills[:n]
        fills = bigger
    fills[n, F_BAR] = bar
    fills[n, F_SYM] = sym
    fills[n, F_QTY] = qty
    fills[n, F_PRICE] = price
    fills[n, F_FEE] = fee
    fills[n, F_REASON] = reason
    return fills, n + 1


@njit(cache=True)
def _fee(qty, price, comm, min_comm):
    f = abs(qty) * price * comm
    return f if f > min_comm else min_comm


@njit(cache=True)
def _any_pending(pending, pending_rebal):
    for j in range(pending.shape[0]):
        if pending[j] or pending_rebal[j]:
            return True
    return False


@njit(cache=True, nogil=True)
def simulate_kernel(
    open_,
    high,
    low,
    close,
    target,
    rebal,
    sl_frac,
    tp_frac,
    ts_frac,
    init_cash,
    comm,
    min_comm,
    slip,
    fill_mode,
    fractional,
    drift,
    cash_growth,
    max_lev,
    max_pos,
    use_stops,
    margin_growth,
    borrow,
):
    """Simulate one portfolio with shared cash.

    Args:
        open_, high, low, close: (T, N) prices, NaN where a symbol has no bar.
        target: (T, N) target weights decided at each close (NaN = 0 on a bar the symbol has).
        rebal: (T,) True where the decision at that close is a scheduled rebalance.
        sl_frac, tp_frac, ts_frac: (T, N) stop distances (fractions of entry) decided at each close; NaN = off.
        init_cash: starting cash. comm: commission rate (fraction of notional). min_comm: minimum per order.
        slip: slippage rate. fill_mode: NEXT_OPEN / NEXT_CLOSE / SAME_CLOSE. fractional: units may be fractional.
        drift: on scheduled rebalances, skip a symbol whose weight is within `drift` of its target.
        cash_growth: per-bar growth factor of cash (1 + rate per bar). max_lev: gross leverage cap.
        max_pos: per-position |weight| cap (inf = none). use_stops: skip the stop logic when False.
        margin_growth: per-bar growth factor of negative cash (1 + margin rate per bar).
        borrow: (N,) per-bar borrow fee rate of each symbol's short market value (0 = none).

    Returns:
        equity (T,), cash (T,), positions (T, N), weights (T, N) as simulated, turnover (T,) as traded
        notional / |equity| at the close, gross exposure (T,) as sum |position value| / |equity| at the close
        (both 0 for a zero-equity account), the last known close per symbol (N,), and fills (n, 6) with
        columns bar, symbol, quantity, price, commission, reason, and financing (T, 3): per bar the borrow fee
        and margin interest paid and the cash interest earned (FIN_BORROW, FIN_MARGIN, FIN_CASH).
    """
    T, N = close.shape
    equity = np.empty(T)
    cash_out = np.empty(T)
    pos_out = np.empty((T, N))
    w_out = np.empty((T, N))
    turnover = np.zeros(T)
    gross_out = np.zeros(T)
    fills = np.empty((64, 6))
    nf = 0
    financing = np.zeros((T, 3))
    any_borrow = False
    for j in range(N):
        if borrow[j] != 0.0:
            any_borrow = True

    cash = init_cash
    q = np.zeros(N)
    last_close = np.full(N, np.nan)
    tgt = np.zeros(N)  # current target (after caps), carried over bars without data
    raw = np.zeros(N)  # current raw target as the strategy gave it
    pending = np.zeros(N, dtype=np.bool_)
    pending_rebal = np.zeros(N, dtype=np.bool_)
    stopped = np.zeros(N, dtype=np.bool_)
    decision_bar = -1  # bar whose decision the pending orders carry
    # stop state per symbol
    sl_price = np.full(N, np.nan)
    tp_price = np.full(N, np.nan)
    ts_dist = np.full(N, np.nan)
    extreme = np.full(N, np.nan)  # highest high (long) / lowest low (short) since entry
    entered_open = np.zeros(N, dtype=np.bool_)
    dq = np.zeros(N)
    reason = np.zeros(N, dtype=np.int64)
    new_tgt = np.empty(N)

    for t in range(T):
        if t > 0:
            cash = _finance(t, cash, q, last_close, cash_growth, margin_growth, borrow, any_borrow, financing)
        for j in range(N):
            entered_open[j] = False

        for step in range(3):
            # step 0: next_open fills, step 1: stops, step 2: next_close fills
            if step == 1:
                if not use_stops:
                    continue
                for j in range(N):
                    if q[j] == 0.0 or np.isnan(low[t, j]) or np.isnan(high[t, j]):
                        continue
                    o = open_[t, j]
                    exit_px = np.nan
                    why = 0
                    if q[j] > 0:
                        level = -np.inf
                        lw = REASON_STOP_LOSS
                        if not np.isnan(sl_price[j]):
                            level = sl_price[j]
                        if not np.isnan(ts_dist[j]):
                            tl = extreme[j] * (1.0 - ts_dist[j])
                            if tl > level:
                                level = tl
                                lw = REASON_TRAILING
                        up = tp_price[j] if not np.isnan(tp_price[j]) else np.inf
                        if not entered_open[j] and not np.isnan(o) and o <= level:
                            exit_px, why = o, lw
                        elif not entered_open[j] and not np.isnan(o) and o >= up:
                            exit_px, why = o, REASON_TAKE_PROFIT
                        elif low[t, j] <= level:
                            exit_px, why = level, lw
                        elif high[t, j] >= up:
                            exit_px, why = up, REASON_TAKE_PROFIT
                        elif high[t, j] > extreme[j]:
                            extreme[j] = high[t, j]
                    else:
                        level = np.inf
                        lw = REASON_STOP_LOSS
                        if not np.isnan(sl_price[j]):
                            level = sl_price[j]
                        if not np.isnan(ts_dist[j]):
                            tl = extreme[j] * (1.0 + ts_dist[j])
                            if tl < level:
                                level = tl
                                lw = REASON_TRAILING
                        dn = tp_price[j] if not np.isnan(tp_price[j]) else -np.inf
                        if not entered_open[j] and not np.isnan(o) and o >= level:
                            exit_px, why = o, lw
                        elif not entered_open[j] and not np.isnan(o) and o <= dn:
                            exit_px, why = o, REASON_TAKE_PROFIT
                        elif high[t, j] >= level:
                            exit_px, why = level, lw
                        elif low[t, j] <= dn:
                            exit_px, why = dn, REASON_TAKE_PROFIT
                        elif low[t, j] < extreme[j]:
                            extreme[j] = low[t, j]
                    if not np.isnan(exit_px):
                        qty = -q[j]
                        pf = exit_px * (1.0 + slip) if qty > 0 else exit_px * (1.0 - slip)
                        fee = _fee(qty, pf, comm, min_comm)
                        cash -= qty * pf + fee
                        turnover[t] += abs(qty) * pf
                        fills, nf = _record(fills, nf, t, j, qty, pf, fee, why)
                        q[j] = 0.0
                        stopped[j] = True
                        pending[j] = False
                        pending_rebal[j] = False
                        sl_price[j] = np.nan
                        tp_price[j] = np.nan
                        ts_dist[j] = np.nan
                continue
            if t == 0 or decision_bar < 0:
                continue
            if (step == 0 and fill_mode != NEXT_OPEN) or (step == 2 and fill_mode != NEXT_CLOSE):
                continue
            if not _any_pending(pending, pending_rebal):
                continue
            prices = open_ if step == 0 else close
            cash, nf, fills = _execute(
                t, prices, q, cash, last_close, tgt, stopped, pending, pending_rebal, decision_bar, sl_frac, tp_frac,
                ts_frac, sl_price, tp_price, ts_dist, extreme, entered_open, step == 0, comm, min_comm, slip,
                fractional, drift, max_lev, turnover, fills, nf, dq, reason, use_stops
            )  # fmt: skip

        for j in range(N):
            if not np.isnan(close[t, j]):
                last_close[j] = close[t, j]

        # decision at the close of t
        any_change = False
        for j in range(N):
            if not np.isnan(close[t, j]):
                v = target[t, j]
                raw[j] = 0.0 if np.isnan(v) else v
        gross = 0.0
        for j in range(N):
            v = raw[j]
            if v > max_pos:
                v = max_pos
            elif v < -max_pos:
                v = -max_pos
            new_tgt[j] = v
            gross += abs(v)
        if gross > max_lev:
            scale = max_lev / gross
            for j in range(N):
                new_tgt[j] *= scale
        for j in range(N):
            if abs(new_tgt[j] - tgt[j]) > 1e-12:  # float noise of the scaling is not a change
                any_change = True
                pending[j] = True
                stopped[j] = False
            tgt[j] = new_tgt[j]
            w_out[t, j] = new_tgt[j]
            if rebal[t]:
                pending_rebal[j] = True
        if any_change or rebal[t]:
            decision_bar = t
        if fill_mode == SAME_CLOSE and t < T - 1 and _any_pending(pending, pending_rebal):
            cash, nf, fills = _execute(
                t, close, q, cash, last_close, tgt, stopped, pending, pending_rebal, decision_bar, sl_frac, tp_frac,
                ts_frac, sl_price, tp_price, ts_dist, extreme, entered_open, False, comm, min_comm, slip, fractional,
                drift, max_lev, turnover, fills, nf, dq, reason, use_stops
            )  # fmt: skip

        value = cash
        gross = 0.0
        for j in range(N):
            if q[j] != 0.0:
                mv = q[j] * last_close[j]
                value += mv
                gross += abs(mv)
            pos_out[t, j] = q[j]
        equity[t] = value
        cash_out[t] = cash
        if value != 0.0:
            gross_out[t] = gross / abs(value)
            turnover[t] /= abs(value)
    return equity, cash_out, pos_out, w_out, turnover, gross_out, last_close, fills[:nf].copy(), financing


@njit(cache=True)
def _finance(t, cash, q, last_close, cash_growth, margin_growth, borrow, any_borrow, financing):
    """Cash after bar t's financing, each amount written to financing[t] (see `simulate_kernel`)."""
    before = cash
    if cash > 0.0 and cash_growth != 1.0:
        cash *= cash_growth
        financing[t, FIN_CASH] = cash - before
    elif cash < 0.0 and margin_growth != 1.0:
        cash *= margin_growth
        financing[t, FIN_MARGIN] = before - cash
    if any_borrow:
        fee = 0.0
        for j in range(q.shape[0]):
            if q[j] < 0.0 and borrow[j] != 0.0:
                fee -= q[j] * last_close[j] * borrow[j]
        cash -= fee
        financing[t, FIN_BORROW] = fee
    return cash


@njit(cache=True, nogil=True)
def _execute(
    t,
    prices,
    q,
    cash,
    last_close,
    tgt,
    stopped,
    pending,
    pending_rebal,
    decision_bar,
    sl_frac,
    tp_frac,
    ts_frac,
    sl_price,
    tp_price,
    ts_dist,
    extreme,
    entered_open,
    at_open,
    comm,
    min_comm,
    slip,
    fractional,
    drift,
    max_lev,
    turnover,
    fills,
    nf,
    dq,
    reason,
    use_stops,
):
    """Fill the pending orders of every symbol that has a price on bar t: sells first, then buys."""
    N = q.shape[0]
    value = cash
    for j in range(N):
        if q[j] != 0.0:
            p = prices[t, j]
            value += q[j] * (p if not np.isnan(p) else last_close[j])
    for j in range(N):
        dq[j] = 0.0
        if not (pending[j] or pending_rebal[j]):
            continue
        p = prices[t, j]
        if np.isnan(p):
            continue  # no bar: the order waits for the symbol's next bar
        w = 0.0 if stopped[j] else tgt[j]
        is_signal = pending[j]
        pending[j] = False
        pending_rebal[j] = False
        if not is_signal and value > 0.0 and abs(q[j] * p / value - w) <= drift:
            continue
        qb = w * value / (p * (1.0 + slip) * (1.0 + comm))
        qs = w * value / (p * (1.0 - slip) * (1.0 + comm))
        if not fractional:
            qb = np.trunc(qb)
            qs = np.trunc(qs)
        if q[j] < qb:
            dq[j] = qb - q[j]
        elif q[j] > qs:
            dq[j] = qs - q[j]
        reason[j] = REASON_SIGNAL if is_signal else REASON_REBALANCE
    for phase in range(2):
        for j in range(N):
            d = dq[j]
            if d == 0.0 or (phase == 0 and d > 0.0) or (phase == 1 and d < 0.0):
                continue
            p = prices[t, j]
            q_old = q[j]
            if d > 0.0:
                pf = p * (1.0 + slip)
                if q_old >= 0.0:
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
                            continue
            else:
                pf = p * (1.0 - slip)
            if abs(d) * pf <= DUST * abs(value) and q_old + d != 0.0:
                continue  # float residue (e.g. a buy with ~1e-12 cash left), not an order
            fee = _fee(d, pf, comm, min_comm)
            cash -= d * pf + fee
            turnover[t] += abs(d) * pf
            fills, nf = _record(fills, nf, t, j, d, pf, fee, reason[j])
            q_new = q_old + d
            if fractional and abs(q_new) <= 1e-12 * abs(q_old):
                q_new = 0.0
            q[j] = q_new
            if np.isnan(last_close[j]):
                last_close[j] = p
            if q_new == 0.0:
                sl_price[j] = np.nan
                tp_price[j] = np.nan
                ts_dist[j] = np.nan
            elif use_stops and (q_old == 0.0 or (q_old > 0.0) != (q_new > 0.0)):
                side = 1.0 if q_new > 0.0 else -1.0
                s = sl_frac[decision_bar, j]
                k = tp_frac[decision_bar, j]
                r = ts_frac[decision_bar, j]
                sl_price[j] = pf * (1.0 - side * s) if not np.isnan(s) else np.nan
                tp_price[j] = pf * (1.0 + side * k) if not np.isnan(k) else np.nan
                ts_dist[j] = r
                extreme[j] = pf
                entered_open[j] = at_open
    return cash, nf, fills
