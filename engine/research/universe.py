"""Universe selection: rank a request's symbols by the strategy's in-sample result on each symbol alone.

Each symbol is backtested on its own over the request's dates (request.start..end: the in-sample period;
nothing after `end` is read), with the request's strategy, params and config. Symbols are ranked by a
metric and the top N, or those at or above a threshold (or both: the top N of those above it), are kept.
The kept list goes into a preset's `universe` field (`UniverseResult.apply_to`), which signals and
`Preset.to_request()` then trade instead of the full symbol list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.data import get_source, load_market_data
from engine.errors import ConfigError, EngineError
from engine.metrics import METRIC_NAMES, registry
from engine.request import BacktestRequest
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

RANKING_COLUMNS: tuple[str, ...] = registry.HEADLINE


@dataclass
class UniverseResult:
    """ranking: one row per symbol, best first (rank 1..n; NaN metrics last), with the metric, a few key
    metrics and a `kept` flag; kept: the selected symbols in rank order."""

    ranking: pd.DataFrame
    kept: list[str]
    metric: str
    top_n: int | None = None
    threshold: float | None = None

    def apply_to(self, preset: Any) -> Any:
        """A copy of `preset` (engine.store.presets.Preset) whose `universe` is the kept list (save it to persist)."""
        if not self.kept:
            raise ConfigError("universe selection kept no symbol; loosen top_n/threshold before saving it")
        return replace(preset, universe=tuple(self.kept))


def select_universe(
    request: BacktestRequest,
    metric: str = "sharpe",
    top_n: int | None = None,
    threshold: float | None = None,
    *,
    higher_is_better: bool = True,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> UniverseResult:
    """Rank `request.symbols` by `metric` of the strategy run on each symbol alone, in-sample.

    Args:
        request: strategy, params, config, in-sample dates and the candidate symbols.
        metric: a name of engine.metrics.METRIC_NAMES (default "sharpe", annualized).
        top_n: keep at most this many symbols (the best ranked).
        threshold: keep only symbols whose metric is >= threshold (<= with higher_is_better=False).
        higher_is_better: False for metrics where lower is better (e.g. annual_volatility).
        progress: progress(symbols done, symbols) after each symbol. should_stop: checked before each
            symbol; True cancels with ConfigError("cancelled").

    Returns:
        UniverseResult; with neither top_n nor threshold every symbol with a defined metric is kept.
    """
    if metric not in METRIC_NAMES:
        raise ConfigError(f"universe metric {metric!r} is not one of {list(METRIC_NAMES)}")
    if top_n is not None and (not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1):
        raise ConfigError(f"top_n: {top_n!r} must be a whole number >= 1")
    if threshold is not None and (not isinstance(threshold, (int, float)) or math.isnan(threshold)):
        raise ConfigError(f"threshold: {threshold!r} is not a number")
    strategy = create_strategy(request.strategy, request.params)
    source = get_source(request.data_source)
    rows = []
    for i, symbol in enumerate(request.symbols):
        if should_stop is not None and should_stop():
            raise ConfigError("cancelled")
        try:
            data = load_market_data([symbol], request.start, request.end, source)
            metrics = run_backtest(data, strategy, request.config).metrics
        except EngineError as e:
            raise type(e)(f"universe selection, symbol {symbol} alone: {e}") from e
        rows.append(
            {
                "symbol": symbol,
                metric: float(metrics.get(metric, math.nan)),
                **{m: float(metrics.get(m, math.nan)) for m in RANKING_COLUMNS if m != metric},
            }
        )
        if progress is not None:
            progress(i + 1, len(request.symbols))
    ranking = pd.DataFrame(rows)
    key = ranking[metric] if higher_is_better else -ranking[metric]
    ranking = ranking.assign(_key=key).sort_values("_key", ascending=False, na_position="last", kind="stable")
    ranking = ranking.drop(columns="_key").reset_index(drop=True)
    ranking.index = pd.RangeIndex(1, len(ranking) + 1, name="rank")
    values = ranking[metric]
    keep = values.notna()
    if threshold is not None:
        keep &= values >= threshold if higher_is_better else values <= threshold
    if top_n is not None:
        keep &= keep.cumsum() <= top_n
    ranking["kept"] = keep.to_numpy()
    return UniverseResult(
        ranking=ranking, kept=list(ranking.loc[keep, "symbol"]), metric=metric, top_n=top_n, threshold=threshold
    )
