"""Market regimes from a price series, each label at bar t decided from bars 0..t only.

Two models (`REGIME_METHODS`):

- `voltrend`: trend x volatility. Trend is "bull" while the close is above its simple moving average
  (pandas-ta `sma`), "bear" otherwise; volatility is "volatile" while the rolling realized volatility (sample
  std of the last `vol_window` simple returns, x sqrt(252)) is above the `quantile` of every realized
  volatility up to and including bar t (pandas' expanding quantile, linear interpolation, from
  `min_history` values on), "calm" otherwise. Labels: "bull_calm", "bull_volatile", "bear_calm",
  "bear_volatile".
- `markov`: a two-state Markov-switching model of daily returns with switching mean and variance
  (statsmodels `MarkovRegression`, imported on first use), refitted on an expanding or
  rolling window every `refit_every` bars; the label at t is the state with the larger *filtered*
  probability (Hamilton filter on data up to t, never the smoothed one). States are named by their variance:
  "calm" (lower) and "volatile" (higher).

Labels are strings on the series' index, NaN while undefined (warm-up). These are building blocks of the
`regime_router` strategy and of the per-regime tables (`engine.research.regimes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.strategies.common import indicator, ta

REGIME_METHODS: tuple[str, ...] = ("voltrend", "markov")
VOLTREND_LABELS: tuple[str, ...] = ("bull_calm", "bull_volatile", "bear_calm", "bear_volatile")
MARKOV_LABELS: tuple[str, ...] = ("calm", "volatile")
TRADING_DAYS = 252
"""Bars per year used to annualize the realized volatility (daily bars)."""


@dataclass(frozen=True)
class RegimeModel:
    """Which regime model and its settings (the router's and the CLI's parameters, in one place)."""

    method: str = "voltrend"
    vol_window: int = 21
    vol_quantile: float = 0.8
    sma_length: int = 200
    min_history: int = 252
    markov_window: int = 0  # 0 = expanding window
    refit_every: int = 63

    def __post_init__(self) -> None:
        if self.method not in REGIME_METHODS:
            raise ConfigError(f"regime method {self.method!r} is unknown; expected one of {list(REGIME_METHODS)}")
        if self.vol_window < 2:
            raise ConfigError(f"vol_window must be >= 2 bars, got {self.vol_window}")
        if not 0.0 < self.vol_quantile < 1.0:
            raise ConfigError(f"vol_quantile must be in (0, 1), got {self.vol_quantile}")
        if self.sma_length < 2:
            raise ConfigError(f"sma_length must be >= 2 bars, got {self.sma_length}")
        if self.min_history < 20:
            raise ConfigError(f"min_history must be >= 20 bars, got {self.min_history}")
        if self.markov_window != 0 and self.markov_window < 20:
            raise ConfigError(f"markov_window must be 0 (expanding) or >= 20 bars, got {self.markov_window}")
        if self.refit_every < 1:
            raise ConfigError(f"refit_every must be >= 1 bar, got {self.refit_every}")

    @property
    def labels(self) -> tuple[str, ...]:
        return VOLTREND_LABELS if self.method == "voltrend" else MARKOV_LABELS


def realized_volatility(close: pd.Series, window: int) -> pd.Series:
    """Annualized sample std (ddof=1) of the last `window` simple returns at each bar (NaN before)."""
    returns = close.pct_change()
    return returns.rolling(window, min_periods=window).std(ddof=1) * math.sqrt(TRADING_DAYS)


def voltrend_labels(close: pd.Series, model: RegimeModel) -> pd.Series:
    """The voltrend label per bar of `close` (one symbol's own bars, no NaN inside), NaN during warm-up."""
    close = close.astype("float64")
    sma = indicator(ta.sma(close, length=model.sma_length, talib=False), close.index)
    vol = realized_volatility(close, model.vol_window)
    threshold = vol.expanding(min_periods=model.min_history).quantile(model.vol_quantile)
    trend = np.where(close.to_numpy() > sma.to_numpy(), "bull", "bear")
    level = np.where(vol.to_numpy() > threshold.to_numpy(), "volatile", "calm")
    defined = sma.notna().to_numpy() & threshold.notna().to_numpy()
    labels = np.char.add(np.char.add(trend.astype(str), "_"), level.astype(str)).astype(object)
    labels[~defined] = np.nan
    return pd.Series(labels, index=close.index, dtype=object, name="regime")


def regime_labels(close: pd.Series, model: RegimeModel) -> pd.Series:
    """Labels of `model` for one symbol's close on its own bars (NaN rows are dropped first and come back NaN)."""
    own = close.dropna()
    if model.method == "voltrend":
        labels = voltrend_labels(own, model)
    else:
        labels = markov_labels(own, model)
    return labels.reindex(close.index)


def refit_bars(n_bars: int, model: RegimeModel) -> list[int]:
    """The bars at whose close the Markov model is refitted: min_history, then every refit_every bars (counted
    from the first bar, so a run on fewer bars refits on the same bars)."""
    return list(range(model.min_history, n_bars, model.refit_every))


def markov_window_start(bar: int, model: RegimeModel) -> int:
    """First return (index into the returns, return i = bar i+1 over bar i) of the fit at `bar`."""
    last = bar - 1  # returns 0 .. bar-1 are known at the close of `bar`
    return 0 if model.markov_window == 0 else max(0, last - model.markov_window + 1)


def markov_fit(returns: np.ndarray, model: RegimeModel) -> tuple[object, np.ndarray, np.ndarray] | None:
    """Fit the two-state switching mean/variance model on `returns` (in %); (model, params, state order by
    variance) or None when statsmodels cannot fit it (too flat, singular)."""
    import warnings

    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and overflow chatter of the optimizer
        try:
            mod = MarkovRegression(returns, k_regimes=2, trend="c", switching_variance=True)
            res = mod.fit(disp=False)
        except (ValueError, np.linalg.LinAlgError):
            return None
    params = np.asarray(res.params, dtype="float64")
    if not np.isfinite(params).all():
        return None
    sigma2 = params[-2:]  # statsmodels orders the switching variances last: sigma2[0], sigma2[1]
    return mod, params, np.argsort(sigma2, kind="stable")


def markov_probabilities(close: pd.Series, model: RegimeModel) -> pd.DataFrame:
    """Filtered probability of "calm" and "volatile" at each bar of `close` (own bars, no NaN inside).

    At each refit bar r the model is fitted on the returns known at r's close (expanding, or the last
    `markov_window`); for r <= t < next refit, the probabilities at t come from the Hamilton filter with those
    parameters run over the same window's start .. t: data up to t only. NaN before the first refit.
    """
    import warnings

    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    values = close.astype("float64").to_numpy()
    n = len(values)
    returns = (values[1:] / values[:-1] - 1.0) * 100.0
    out = np.full((n, 2), np.nan)
    bars = refit_bars(n, model)
    for k, bar in enumerate(bars):
        stop = bars[k + 1] if k + 1 < len(bars) else n  # bars bar .. stop-1 use this fit
        start = markov_window_start(bar, model)
        fitted = markov_fit(returns[start:bar], model)
        if fitted is None:
            continue
        _, params, order = fitted
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            span = MarkovRegression(returns[start : stop - 1], k_regimes=2, trend="c", switching_variance=True)
            probs = np.asarray(span.filter(params).filtered_marginal_probabilities)
        # filtered probability at return i is the state at bar i+1
        out[bar:stop] = probs[bar - 1 - start : stop - 1 - start][:, order]
    return pd.DataFrame(out, index=close.index, columns=list(MARKOV_LABELS))


def markov_labels(close: pd.Series, model: RegimeModel) -> pd.Series:
    """ "calm" or "volatile" per bar: the state with the larger filtered probability (ties: calm); NaN before."""
    probs = markov_probabilities(close, model).to_numpy()
    labels = np.where(probs[:, 1] > probs[:, 0], "volatile", "calm").astype(object)
    labels[np.isnan(probs).any(axis=1)] = np.nan
    return pd.Series(labels, index=close.index, dtype=object, name="regime")
