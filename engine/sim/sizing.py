"""The sizing overlay: any strategy's raw target weights -> sized weights (`BacktestConfig.sizing`).

One function, `size_weights`, used by every path that simulates a strategy: `run_backtest` (hence the daily
signals of a preset, engine.ops.signals, which trade the backtest's last bar), `run_grid` (hence optimization
and walk-forward). Method "none" (the default) never reaches this module.

Methods (`engine.config.Sizing` holds their settings; every estimate at bar t reads bars 0..t only):
- vol_target: the raw weights w_t held over the last `lookback` bars' asset returns give the portfolio
  returns p_s = r_s . w_t; scale_t = target_vol / (std(p) x sqrt(periods_per_year)). Bars where a held symbol
  has a missing return in the window (warm-up, before its listing) get weight 0.
- fixed_fraction: |w| = risk_per_trade / stop distance (the tightest of the strategy's or the config's
  stop-loss and trailing stop on that bar: the live risk rules' sizing, engine.ops.risk); the raw weight gives
  the side. No stop configured at all is a ConfigError; a bar without a stop distance gets weight 0.
- kelly: the raw signal's trades (per symbol: entry when its side leaves 0 or flips, exit when it changes
  again; return = side x (close at exit / close at entry - 1), decision closes) closed at bars <= t give the
  win rate W and the payoff R = average win / average loss; scale_t = clip(kelly_fraction x (W - (1 - W) / R),
  0, kelly_cap), 0 until `min_trades` trades closed. Sized = raw x scale.
- atr: |w| = risk_per_trade / (atr_multiple x ATR_t / close_t): a stop atr_multiple ATRs away loses
  risk_per_trade of equity (ATR from pandas-ta, Wilder's RMA, on each symbol's own bars).

When a size is decided: at a symbol's decision bars only (its raw weight changes, or the config's rebalance
schedule says so; vol_target: a whole row when any raw weight changes), and held in between, so "on_change"
rebalancing does not trade every bar a volatility estimate moves. Last, every bar whose sum |w| exceeds
`max_leverage` is scaled down to it. NaN raw weights (no opinion) stay NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.config import BacktestConfig, Sizing
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.strategies.common import ffill, indicator, per_symbol, ta

OFF = "none"


@dataclass(frozen=True)
class SizingInputs:
    """What sizing reads from the data, computed once per data set (a grid sizes every parameter set with it):
    close (forward-filled), asset returns, the decision mask of the rebalance schedule, ATR / close."""

    close: np.ndarray
    returns: np.ndarray
    rebalance: np.ndarray
    atr_fraction: np.ndarray | None


def sizing_inputs(data: MarketData, config: BacktestConfig, rebalance: np.ndarray) -> SizingInputs:
    """The shared inputs of `size_weights` for `data` under `config` (`rebalance`: the schedule's mask)."""
    close = ffill(data.close.to_numpy(dtype="float64"))
    returns = np.full_like(close, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns[1:] = close[1:] / close[:-1] - 1.0
    atr = None
    if config.sizing.method == "atr":
        length = config.sizing.atr_length
        atr = per_symbol(data, lambda bars: _atr_fraction(bars, length), ("high", "low", "close")).to_numpy()
        atr = ffill(atr)
    return SizingInputs(close, returns, np.asarray(rebalance, dtype=bool), atr)


def _atr_fraction(bars: pd.DataFrame, length: int) -> pd.Series:
    atr = indicator(ta.atr(bars["high"], bars["low"], bars["close"], length=length, talib=False), bars.index)
    return atr / bars["close"]


def size_weights(
    weights: np.ndarray,
    inputs: SizingInputs,
    config: BacktestConfig,
    stops: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """`weights` (bars x symbols, raw targets) sized by `config.sizing` (see the module docstring).

    stops: the kernel's (stop_loss, trailing_stop) distance arrays (engine.sim.simulate.stop_arrays; (1, N)
    NaN placeholders when off), read by fixed_fraction only."""
    sizing = config.sizing
    raw = np.asarray(weights, dtype=np.float64)
    if sizing.method == OFF:
        return raw
    side = np.nan_to_num(raw)
    decided = _decision_bars(raw, inputs.rebalance)
    if sizing.method == "vol_target":
        row: np.ndarray = np.asarray(decided.any(axis=1))
        scale = _vol_scale(side, inputs.returns, np.flatnonzero(row), sizing, config.periods_per_year)
        sized = raw * _held(np.repeat(scale[:, None], raw.shape[1], axis=1), np.repeat(row[:, None], raw.shape[1], 1))
    elif sizing.method == "kelly":
        scale = kelly_scale(side, inputs.close, sizing)
        sized = raw * _held(np.repeat(scale[:, None], raw.shape[1], axis=1), decided)
    else:
        unit = _fixed_fraction(raw, stops, sizing) if sizing.method == "fixed_fraction" else _atr_unit(inputs, sizing)
        sized = np.sign(raw) * _held(unit, decided)
        sized[np.isnan(raw)] = np.nan
        sized[side == 0] = raw[side == 0]
    return cap_leverage(sized, sizing.max_leverage)


def cap_leverage(weights: np.ndarray, max_leverage: float) -> np.ndarray:
    """Every row whose sum |w| exceeds `max_leverage` scaled down to it (NaN counts as 0)."""
    gross = np.nansum(np.abs(weights), axis=1)
    factor = np.where(gross > max_leverage, max_leverage / np.where(gross > 0, gross, 1.0), 1.0)
    return weights * factor[:, None]


def _decision_bars(raw: np.ndarray, rebalance: np.ndarray) -> np.ndarray:
    """True where a symbol's size is decided: bar 0, a change of its raw weight (NaN-aware), a scheduled rebalance."""
    out = np.zeros(raw.shape, dtype=bool)
    out[0] = True
    prev, cur = raw[:-1], raw[1:]
    same = (prev == cur) | (np.isnan(prev) & np.isnan(cur))
    out[1:] = ~same
    out |= rebalance[:, None]
    return out


def _held(values: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """values[t, j] replaced by its value at the last decision bar <= t of column j."""
    rows = np.where(decided, np.arange(len(values))[:, None], 0)
    last = np.maximum.accumulate(rows, axis=0)
    return np.take_along_axis(values, last, axis=0)


def _vol_scale(
    side: np.ndarray, returns: np.ndarray, rows: np.ndarray, sizing: Sizing, periods_per_year: float
) -> np.ndarray:
    """At each bar t of `rows` (else 0): target_vol / the annualized std of r_s . w_t over the `lookback`
    returns ending at t, capped so the row's gross is at most max_leverage; 0 where a held symbol lacks a return
    in the window (and before the window is full: returns start at bar 1)."""
    n, lookback = len(side), sizing.lookback
    scale = np.zeros(n)
    rows = rows[rows >= lookback]
    if len(rows) == 0:
        return scale
    missing = np.isnan(returns)
    clean = np.where(missing, 0.0, returns)
    windows = np.lib.stride_tricks.sliding_window_view(clean, lookback, axis=0)  # window i: rows i..i+L-1
    counts = np.concatenate([np.zeros((1, side.shape[1])), np.cumsum(missing, axis=0)])
    for part in np.array_split(rows, max(1, len(rows) // 256)):  # bounded memory: 256 windows at a time
        w = side[part]
        portfolio = np.einsum("tnl,tn->tl", windows[part - lookback + 1], w)
        vol = portfolio.std(axis=1, ddof=1) * np.sqrt(periods_per_year)
        gross = np.abs(w).sum(axis=1)
        cap = np.where(gross > 0, sizing.max_leverage / np.where(gross > 0, gross, 1.0), 0.0)
        want = np.where(vol > 0, sizing.target_vol / np.where(vol > 0, vol, 1.0), np.inf)
        gaps = counts[part + 1] - counts[part + 1 - lookback]
        ok = ~((w != 0) & (gaps > 0)).any(axis=1)
        scale[part] = np.where(ok, np.minimum(want, cap), 0.0)
    return scale


def raw_trades(side: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exit bar, return) of every closed trade of the raw signal, sorted by exit bar: per symbol a trade runs
    from a bar where its side (sign of the raw weight) becomes non-zero to the next bar where it changes;
    return = side x (close at exit / close at entry - 1). Trades without an entry close are left out."""
    exits, rets = [], []
    sign = np.sign(side)
    for j in range(sign.shape[1]):
        s = sign[:, j]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(s)) + 1))
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            if s[a] != 0 and np.isfinite(close[a, j]) and close[a, j] > 0:
                exits.append(b)
                rets.append(s[a] * (close[b, j] / close[a, j] - 1.0))
        # a trade still open at the end has no exit: it never counts
    order = np.argsort(np.asarray(exits, dtype=np.int64), kind="stable")
    return np.asarray(exits, dtype=np.int64)[order], np.asarray(rets, dtype=np.float64)[order]


def kelly_fraction_of(returns: np.ndarray) -> float:
    """Kelly's f = W - (1 - W) / R of trade returns (W: share of returns > 0; R: average win / average |loss|
    of the others); W when nothing lost, 0 when nothing won."""
    wins, losses = returns[returns > 0], returns[returns <= 0]
    if len(returns) == 0 or len(wins) == 0:
        return 0.0
    w = len(wins) / len(returns)
    avg_loss = float(np.abs(losses).mean()) if len(losses) else 0.0
    if avg_loss == 0.0:
        return w
    return w - (1.0 - w) / (float(wins.mean()) / avg_loss)


def kelly_scale(side: np.ndarray, close: np.ndarray, sizing: Sizing) -> np.ndarray:
    """Per bar t: clip(kelly_fraction x f, 0, kelly_cap) of the raw signal's trades closed at bars <= t
    (0 until `min_trades` closed)."""
    exits, rets = raw_trades(side, close)
    scale = np.zeros(len(side))
    counts = np.searchsorted(exits, np.arange(len(side)), side="right")
    for k in np.unique(counts):
        if k >= sizing.min_trades:
            f = sizing.kelly_fraction * kelly_fraction_of(rets[:k])
            scale[counts == k] = min(max(f, 0.0), sizing.kelly_cap)
    return scale


def _fixed_fraction(raw: np.ndarray, stops: tuple[np.ndarray, np.ndarray] | None, sizing: Sizing) -> np.ndarray:
    """risk_per_trade / the tightest stop distance per bar and symbol (NaN -> 0); ConfigError without any stop."""
    if stops is None or not any(np.isfinite(s).any() for s in stops):
        raise ConfigError(
            "sizing fixed_fraction needs a stop distance: set risk.stop_loss or risk.trailing_stop, or use a "
            "strategy with its own stops"
        )
    distance = np.fmin(*(np.broadcast_to(s, raw.shape) for s in stops))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(distance > 0, sizing.risk_per_trade / distance, 0.0)
    return np.nan_to_num(unit)


def _atr_unit(inputs: SizingInputs, sizing: Sizing) -> np.ndarray:
    """risk_per_trade / (atr_multiple x ATR / close) per bar and symbol (0 while the ATR is undefined)."""
    atr = inputs.atr_fraction
    if atr is None:
        raise ConfigError("sizing atr: the inputs were prepared without the ATR (sizing_inputs of another config)")
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(atr > 0, sizing.risk_per_trade / (sizing.atr_multiple * atr), 0.0)
    return np.nan_to_num(unit)


def sized_weights(
    data: MarketData,
    config: BacktestConfig,
    weights: np.ndarray,
    stops: tuple[np.ndarray, np.ndarray],
    rebalance: np.ndarray,
    inputs: SizingInputs | None = None,
) -> np.ndarray:
    """The weights the simulator trades: `weights` (a strategy's raw targets on `data`; `stops` its kernel stop
    arrays) sized by `config.sizing`, C-contiguous; `weights` itself when sizing is off. `inputs`: the data's
    `sizing_inputs` when at hand (a grid prepares them once for all its parameter sets)."""
    if config.sizing.method == OFF:
        return weights
    inputs = inputs or sizing_inputs(data, config, rebalance)
    return np.ascontiguousarray(size_weights(weights, inputs, config, stops))
