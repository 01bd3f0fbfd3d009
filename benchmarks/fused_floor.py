"""The fused floor of W1/W5/W7 (issue 19 item 1): one compiled pass per bar for everything a backtest of the
SMA cross has to compute.

Per bar t, in one numba loop: the order decided at the close of t-1 fills at open[t] (all-in long, the commission
inside the spend as DESIGN §3 sizes it), equity is marked at close[t] and the rule-7 metrics (return, max
drawdown, Sharpe) are accumulated, then both SMAs take close[t] (TA-Lib's running sums, so the averages are bit
for bit the ones pandas-ta's TA-Lib path gives the engine), the crossover state with the tie rule
|fast - slow| <= 1e-9 |slow| is read and the next target decided (WORKLOADS rules 1-4). No arrays besides the
equity curve, no second pass: what the machine can do per bar, the yardstick IvyBT's per-bar cost is held to
("W5 within 3 x the fused floor").
"""

from __future__ import annotations

import math

import numba
import numpy as np

from benchmarks.workloads import CASH, FAST, SLOW, TIE_REL, Outcome


@numba.njit(cache=True, nogil=True)
def fused_w1(open_, close, fast, slow, cash, fee, tie_rel, equity):  # pragma: no cover - compiled
    """Fill equity[t] for every bar; returns (entries, max drawdown fraction, sum r, sum r^2) of the rule-7 returns."""
    n = close.shape[0]
    sum_f = 0.0
    sum_s = 0.0
    last = 0.0  # last non-zero crossover state
    want = 0.0  # target weight decided at the last close
    q = 0.0
    c = cash
    entries = 0
    prev = cash
    peak = -np.inf
    mdd = 0.0
    s1 = 0.0
    s2 = 0.0
    for t in range(n):
        if want == 1.0 and q == 0.0:  # buy all-in at the open: quantity = equity / (open * (1 + fee))
            o = open_[t]
            q = c / (o * (1.0 + fee))
            c -= q * o + q * o * fee
            entries += 1
        elif want == 0.0 and q != 0.0:
            o = open_[t]
            c += q * o - q * o * fee
            q = 0.0
        x = close[t]
        e = c + q * x
        equity[t] = e
        r = e / prev - 1.0
        prev = e
        s1 += r
        s2 += r * r
        if e > peak:
            peak = e
        dd = e / peak - 1.0
        if dd < mdd:
            mdd = dd
        sum_f += x
        sum_s += x
        if t >= slow - 1:
            f = sum_f / fast
            s = sum_s / slow
            state = 0.0
            if abs(f - s) > tie_rel * abs(s):
                state = 1.0 if f > s else -1.0
            if state == 1.0 and last == -1.0:
                want = 1.0
            elif state == -1.0 and last == 1.0:
                want = 0.0
            if state != 0.0:
                last = state
        if t >= fast - 1:
            sum_f -= close[t - fast + 1]
        if t >= slow - 1:
            sum_s -= close[t - slow + 1]
    return entries, mdd, s1, s2


def fused_floor(
    open_: np.ndarray, close: np.ndarray, fast: int = FAST, slow: int = SLOW, cash: float = CASH, fee: float = 0.0
) -> Outcome:
    """W1 (fee 0) or W2 (fee 0.001) on the arrays in one compiled pass, as a rule-7 Outcome (sample std, sqrt 252)."""
    open_ = np.ascontiguousarray(open_, dtype=np.float64)
    close = np.ascontiguousarray(close, dtype=np.float64)
    n = close.shape[0]
    equity = np.empty(n)
    entries, mdd, s1, s2 = fused_w1(open_, close, fast, slow, float(cash), float(fee), TIE_REL, equity)
    mean = s1 / n
    std = math.sqrt(max(s2 - s1 * mean, 0.0) / (n - 1))
    final = float(equity[-1])
    return Outcome(
        final=final,
        total_return_pct=(final / cash - 1.0) * 100.0,
        trades=int(entries),
        max_dd_pct=float(mdd) * 100.0,
        sharpe=mean / std * math.sqrt(252.0),
    )
