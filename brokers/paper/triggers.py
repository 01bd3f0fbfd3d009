"""Resting-order triggers of the paper broker: walk the bars since an order was placed, find its fill.

The rule is the backtest engine's (engine/sim/kernels.py, step 1 of a bar), so a paper stop exits on the bar
and at the price a backtest would: per bar, first the open (a stop the bar gaps through fills at the open; a
limit the bar opens through fills at the open), then the range (a stop touched by the low / high fills at its
level; a limit touched fills at its limit). The stop is checked before the limit on both steps, as in the
engine. A trailing stop's level comes from the best price seen BEFORE the bar (the entry price, then the
highest high for a sell stop protecting a long, the lowest low for a buy stop protecting a short), and the mark
moves only on a bar that did not trigger. Prices are raw (before slippage; the caller applies the costs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd


@dataclass(frozen=True)
class Watch:
    """What one resting order (or an OCO pair: stop + limit) waits for.

    side: the order's side ("sell" exits a long). stop: fixed stop level. limit: limit price (a take-profit,
    or a plain limit order, or a stop-limit's limit once `triggered`). trail_percent (percent) / trail_price
    (currency) with `extreme`, the best price so far. stop_limit: True when a stop converts into a limit at
    `limit` once triggered instead of filling at once.
    """

    side: str
    stop: float | None = None
    limit: float | None = None
    trail_percent: float | None = None
    trail_price: float | None = None
    extreme: float | None = None
    stop_limit: bool = False
    triggered: bool = False


@dataclass(frozen=True)
class Hit:
    """A fill found on bar `time` at raw `price`; leg "stop" or "limit" (which of an OCO pair filled)."""

    time: pd.Timestamp
    price: float
    leg: str


def stop_level(w: Watch) -> float:
    """The stop level in force before the next bar (inf/-inf = none): fixed stop and trailing level, the
    tighter of the two."""
    sell = w.side == "sell"
    level = w.stop if w.stop is not None else (-math.inf if sell else math.inf)
    if w.extreme is not None and (w.trail_percent is not None or w.trail_price is not None):
        away = w.extreme * w.trail_percent / 100.0 if w.trail_percent is not None else float(w.trail_price or 0.0)
        tl = w.extreme - away if sell else w.extreme + away
        level = max(level, tl) if sell else min(level, tl)
    return level


def step(w: Watch, o: float, h: float, lo: float, check_open: bool = True) -> tuple[float, str] | Watch:
    """One bar: the (raw price, leg) of a fill, or the updated Watch (trailing mark moved, stop-limit armed)."""
    sell = w.side == "sell"
    if w.stop_limit and w.triggered:  # an armed stop-limit is a plain limit
        w = replace(w, stop=None, stop_limit=False)
    level = stop_level(w) if not (w.stop_limit and w.triggered) else (-math.inf if sell else math.inf)
    lim = w.limit if w.limit is not None and not w.stop_limit else (math.inf if sell else -math.inf)
    gap_stop = check_open and not math.isnan(o) and (o <= level if sell else o >= level)
    gap_limit = check_open and not math.isnan(o) and (o >= lim if sell else o <= lim)
    if gap_stop or (not gap_limit and (lo <= level if sell else h >= level)):
        p = o if gap_stop else level
        if not w.stop_limit:
            return p, "stop"
        assert w.limit is not None
        if (p >= w.limit) if sell else (p <= w.limit):
            return p, "stop"
        return replace(w, triggered=True)  # armed: rests as a limit from the next bar
    if gap_limit:
        return o, "limit"
    if (h >= lim) if sell else (lo <= lim):
        return lim, "limit"
    if w.extreme is not None:
        return replace(w, extreme=max(w.extreme, h) if sell else min(w.extreme, lo))
    return w


def walk(w: Watch, bars: pd.DataFrame, check_first_open: bool = True) -> Hit | Watch:
    """Walk `bars` (columns open, high, low; ascending index; bars without a high/low are skipped) until the
    order fills (a Hit) or the bars run out (the updated Watch). check_first_open=False when the order came to
    life at the first bar's open (the engine's entry bar: only its range is checked)."""
    first = True
    for t, o, h, lo in zip(bars.index, bars["open"], bars["high"], bars["low"], strict=True):
        if math.isnan(h) or math.isnan(lo):
            continue
        got = step(w, float(o), float(h), float(lo), check_open=check_first_open or not first)
        first = False
        if isinstance(got, Watch):
            w = got
        else:
            return Hit(pd.Timestamp(t), got[0], got[1])
    return w
