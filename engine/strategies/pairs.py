"""`pairs`: statistical arbitrage on two cointegrated prices (the first two symbols: y, then x).

On the bars where both have a price, at each bar t over the last `window` bars up to t:

- hedge ratio: OLS of y on a constant and x (statsmodels `RollingOLS`): y = a + b x + e;
- spread z-score: z_t = e_t / sd(e), e_t = y_t - a_t - b_t x_t, sd = the sample std (ddof=1) of the window's
  residuals (their mean is 0 with a constant);
- cointegration filter: the Engle-Granger p-value of the window (statsmodels `coint`, constant, one lag
  (`maxlag=1, autolag=None`) to keep it fast), recomputed every `coint_every` bars and held in between; a
  trade is entered only while it is at most `max_pvalue` (1.0 turns the filter off).

Short the spread (short y, long b x) when z > entry_z; long it when z < -entry_z; close a long when z rises
to -exit_z, a short when z falls to exit_z. The hedge ratio of the entry bar is kept for the whole trade.
Legs: "dollar" puts gross/2 of equity in each leg; "beta" holds 1 unit of y per b units of x (y's share of
`gross` = y / (y + |b| x) at the decision close). Further symbols are not traded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import ffill, hold, require_symbols


def rolling_hedge(y: np.ndarray, x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intercept a, hedge ratio b, z-score of the residual at t) per bar, from OLS on the last `window` bars."""
    from statsmodels.regression.rolling import RollingOLS

    n = len(y)
    if n < window:
        return np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    exog = np.column_stack([np.ones(n), x])
    res = RollingOLS(y, exog, window=window).fit(params_only=False)
    params = np.asarray(res.params)
    a, b = params[:, 0], params[:, 1]
    resid = y - a - b * x
    sd = np.sqrt(np.asarray(res.ssr) / (window - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, resid / sd, np.nan)
    return a, b, z


def coint_pvalues(y: np.ndarray, x: np.ndarray, window: int, every: int) -> np.ndarray:
    """The Engle-Granger p-value of the last `window` bars, computed at bars window-1, window-1+every, ... and
    held in between (NaN before the first)."""
    import warnings

    from statsmodels.tsa.stattools import coint

    n = len(y)
    out = np.full(n, np.nan)
    for t in range(window - 1, n, every):
        ys, xs = y[t - window + 1 : t + 1], x[t - window + 1 : t + 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[t] = coint(ys, xs, trend="c", maxlag=1, autolag=None)[1]
            except (ValueError, np.linalg.LinAlgError):
                out[t] = np.nan
    return ffill(out) if n else out


class Pairs(Strategy):
    """Mean reversion of the spread of the first two symbols, sized dollar- or beta-neutral."""

    name = "pairs"
    description = "Pairs trade: rolling OLS hedge ratio, z-score entry/exit, Engle-Granger filter (first two symbols)."

    @dataclass(frozen=True)
    class Params:
        window: int = param(60, 20, 250, 10, doc="OLS / z-score / cointegration window, bars")
        entry_z: float = param(2.0, 1.0, 3.0, 0.5, doc="enter when |z| exceeds this")
        exit_z: float = param(0.5, 0.0, 1.0, 0.25, doc="exit when z is back within this")
        max_pvalue: float = param(
            0.1, 0.05, 0.25, 0.05, doc="enter only while the cointegration p-value is at most this"
        )
        coint_every: int = param(21, 5, 63, 1, doc="recompute the cointegration test every N bars")
        neutral: str = param("dollar", choices=("dollar", "beta"), doc="leg sizing: equal dollars or 1 : b units")
        gross: float = param(1.0, 0.5, 2.0, 0.5, doc="sum of |leg weights| while in a trade")

        def __post_init__(self) -> None:
            require(self.window >= 10, f"window must be >= 10 bars, got {self.window}")
            require(self.entry_z > self.exit_z >= 0, f"need entry_z > exit_z >= 0, got {self.entry_z}, {self.exit_z}")
            require(0 < self.max_pvalue <= 1, f"max_pvalue must be in (0, 1], got {self.max_pvalue}")
            require(self.coint_every >= 1, f"coint_every must be >= 1 bar, got {self.coint_every}")
            require(self.neutral in ("dollar", "beta"), f"neutral must be dollar or beta, got {self.neutral!r}")
            require(self.gross > 0, f"gross must be > 0, got {self.gross}")

    def _common(self, data: MarketData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        require_symbols(self.name, data, 2)
        close = data.close.to_numpy(dtype="float64")
        both = ~np.isnan(close[:, 0]) & ~np.isnan(close[:, 1])
        return both, close[both, 0], close[both, 1]

    def signals(self, data: MarketData) -> dict[str, np.ndarray]:
        """On the pair's common bars: hedge ratio b, z-score, p-value, position (+1 long / -1 short spread) and
        the hedge ratio held from the entry bar."""
        p = self.params
        both, y, x = self._common(data)
        _, b, z = rolling_hedge(y, x, p.window)
        pvalue = coint_pvalues(y, x, p.window, p.coint_every)
        ok = pvalue <= p.max_pvalue
        with np.errstate(invalid="ignore"):
            position = hold(ok & (z < -p.entry_z), z >= -p.exit_z, ok & (z > p.entry_z), z <= p.exit_z)
        changed = np.r_[position[:1] != 0, position[1:] != position[:-1]]
        held_b = ffill(np.where(changed & (position != 0), b, np.nan))
        return {"both": both, "y": y, "x": x, "b": b, "z": z, "pvalue": pvalue, "position": position, "held_b": held_b}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        s = self.signals(data)
        pos, b, y, x = s["position"], s["held_b"], s["y"], s["x"]
        if p.neutral == "dollar":
            wy = np.full(len(y), p.gross / 2.0)
            wx = -np.sign(b) * p.gross / 2.0
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                wy = p.gross * y / (y + np.abs(b) * x)
                wx = -np.sign(b) * p.gross * np.abs(b) * x / (y + np.abs(b) * x)
        own = np.zeros((len(y), 2))
        own[:, 0] = np.where(pos != 0, pos * wy, 0.0)
        own[:, 1] = np.where(pos != 0, pos * wx, 0.0)
        out = np.full(data.close.shape, np.nan)
        out[s["both"], :2] = own
        out[:, :2] = np.nan_to_num(ffill(out[:, :2]), nan=0.0)  # held over rows where a leg has no bar
        out[:, 2:] = 0.0
        return pd.DataFrame(out, index=data.index, columns=data.close.columns)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The spread's z-score with the entry and exit levels, in a z-score panel (on both legs)."""
        p = self.params
        s = self.signals(data)
        z = np.full(len(data.index), np.nan)
        z[s["both"]] = s["z"]
        cols = data.close.columns

        def frame(values: np.ndarray) -> pd.DataFrame:
            out = pd.DataFrame(np.nan, index=data.index, columns=cols)
            out.iloc[:, 0] = out.iloc[:, 1] = np.where(s["both"], values, np.nan)
            return out

        level = np.ones(len(data.index))
        return {
            "spread z-score": PlotSeries(frame(z), "z-score"),
            f"entry +-{p.entry_z:g}": PlotSeries(frame(level * p.entry_z), "z-score"),
            f"exit +-{p.exit_z:g}": PlotSeries(frame(level * p.exit_z), "z-score"),
        }
