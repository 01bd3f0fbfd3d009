"""`BacktestRequest`: everything needed to reproduce one backtest, and `run_request` to run it.

The one entry point the pages, the CLI, presets and batch jobs share: build a frozen request from widgets,
flags, a preset or YAML, then call `run_request`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BeforeValidator, Field, StrictStr
from pydantic.dataclasses import dataclass

from engine.config import DEFAULT_BENCHMARK, EQUAL_WEIGHT, NONE_IS_DEFAULT, BacktestConfig
from engine.data import get_source, load_market_data
from engine.data.frequency import annualized_config, is_intraday
from engine.data.gaps import gap_warnings
from engine.data.market import MarketData
from engine.data.sources import DataSource
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError, DataError
from engine.sim.event.run import run_event_backtest
from engine.sim.event.settings import Execution
from engine.sim.result import BacktestResult
from engine.sim.simulate import run_backtest
from engine.store.watchlists import expand_symbols
from engine.strategies.registry import create_event_strategy, create_strategy, is_event_strategy
from engine.strategies.weights_as_events import WeightsAsEvents
from engine.validation import FORBID, parse, validated


def _symbol_list(value: Any) -> Any:
    """ "SPY" or "SPY, QQQ" (YAML/JSON text, a CLI flag) or a list -> stripped upper-case symbols, blanks dropped.
    Anything else passes through for pydantic to reject. `watchlist: NAME` stands for a saved watchlist's symbols."""
    value = expand_symbols(value)
    if isinstance(value, str):  # the symbols of "SPY", not the characters S, P, Y
        value = value.split(",")
    if isinstance(value, (list, tuple)):
        return tuple(text for text in (str(s).strip().upper() for s in value) if text)
    return value


def _date_text(value: Any) -> Any:
    """A YAML date (2020-01-31 unquoted) as its ISO text; text passes through."""
    return str(value) if isinstance(value, date) else value


def _timeframe_text(value: Any) -> Any:
    """A timeframe as its canonical text ("60min" -> "1h"); None, "" or "native" = the data's own bars."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "native")):
        return None
    return parse_timeframe(value).text if isinstance(value, str) else value


Symbols = Annotated[tuple[str, ...], BeforeValidator(_symbol_list)]
"""Ticker symbols: a list, or comma-separated text; normalized to stripped upper case."""
DateText = Annotated[StrictStr | None, BeforeValidator(_date_text)]
"""An ISO date (inclusive) or None for the start / end of the history."""
TimeframeText = Annotated[StrictStr | None, BeforeValidator(_timeframe_text)]
"""A bar timeframe ("5min", "1h", "1d"; engine.data.timeframes) or None for the data's own bars."""
Mode = Literal["vectorized", "event"]
"""How a backtest runs: target weights through the vectorized kernel, or orders bar by bar (engine.sim.event)."""


@validated("request")
@dataclass(frozen=True, config=FORBID)
class BacktestRequest:
    """One backtest: strategy name and params, symbols, date range, simulation config, data source.

    start/end: ISO dates (inclusive) or None for the whole history. data_source: None for the default source
    (workspace imports, then the bundled sample), or a folder path of `<SYMBOL>.csv|.parquet` files.
    timeframe: None = each symbol's own bars; "5min", "1h", "1d", ... = resampled to it before the run
    (engine.data.timeframes); left out of `to_dict` when None, so a daily request's mapping and hash are as before.
    mode: None = event mode for an event strategy, vectorized for any other; "event" runs a weights strategy's
    targets as orders (engine.strategies.weights_as_events); "vectorized" is refused for an event strategy.
    execution: the event mode's latency and volume cap (engine.sim.event.settings.Execution; None = none).
    Both are left out of `to_dict` when None, as timeframe.
    """

    strategy: Annotated[StrictStr, Field(min_length=1)]
    params: Annotated[Mapping[str, Any], NONE_IS_DEFAULT] = Field(default_factory=dict)
    symbols: Symbols = ()
    start: DateText = None
    end: DateText = None
    config: Annotated[BacktestConfig, NONE_IS_DEFAULT] = BacktestConfig()
    data_source: StrictStr | None = None
    timeframe: TimeframeText = None
    mode: Mode | None = None
    execution: Execution | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))
        if not self.symbols:
            raise DataError("no symbols selected: choose at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"symbols: duplicates in {list(self.symbols)}")
        if self.start and self.end and str(self.start) > str(self.end):
            raise DataError(f"start {self.start} is after end {self.end}")
        if self.mode == "vectorized" and is_event_strategy(self.strategy):
            raise ConfigError(f"mode: {self.strategy!r} is an event strategy; it runs in event mode only")
        if self.execution is not None and not self.is_event:
            raise ConfigError("execution: latency and volume caps apply in event mode only (mode: event)")

    @property
    def is_event(self) -> bool:
        """Whether this request runs in event mode."""
        return self.mode == "event" or (self.mode is None and is_event_strategy(self.strategy))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["symbols"] = list(self.symbols)
        for optional in ("timeframe", "mode", "execution"):
            if d[optional] is None:
                del d[optional]
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BacktestRequest:
        """Build from a plain mapping (YAML, JSON, a stored run); errors name the field and the value."""
        return parse(cls, values)

    def with_changes(self, **changes: Any) -> BacktestRequest:
        return replace(self, **changes)


def untraded_benchmark(
    choice: str | None, symbols: Sequence[str], source: DataSource, intraday: bool = False
) -> pd.Series | None:
    """The closes of a benchmark symbol the run does not trade (loaded whole, never traded), or None when the
    benchmark is among `symbols` or an equal weight. No benchmark named (None) means DEFAULT_BENCHMARK when
    `source` has it and the run is on daily bars; without it, or on `intraday` bars (SPY's daily closes say
    nothing about a minute), the run falls back to an equal weight of its symbols."""
    if choice is None and intraday:
        return None
    wanted = DEFAULT_BENCHMARK if choice is None else choice
    if wanted == EQUAL_WEIGHT or wanted in symbols:
        return None
    try:
        return load_market_data([wanted], source=source).close[wanted]
    except DataError:
        if choice is None:
            return None  # no SPY in this source: the equal weight of the run's symbols
        raise


def request_data(request: BacktestRequest, source: DataSource | None = None) -> MarketData:
    """The bars a request runs on: its symbols and dates from its source, at its timeframe."""
    src = get_source(request.data_source) if source is None else source
    return load_market_data(list(request.symbols), request.start, request.end, src, timeframe=request.timeframe)


def constraint_cuts(request: BacktestRequest) -> pd.DataFrame | None:
    """Every weight a constraint cut in `request`'s run (time, symbol, unconstrained weight, final weight,
    constraint), for a strategy that reports them (a `cuts(data)` method: portfolio_opt); None for any other.
    The optimizer's windows are memoized, so after the run this reads them back rather than solving again."""
    if request.is_event:
        return None
    strategy = create_strategy(request.strategy, request.params)
    cuts = getattr(strategy, "cuts", None)
    return cuts(request_data(request)) if callable(cuts) else None


def run_request(request: BacktestRequest) -> BacktestResult:
    """Load the data, build the strategy, run the backtest. Raises EngineError subclasses on bad input."""
    source = get_source(request.data_source)
    data = request_data(request, source)
    config = annualized_config(request.config, data.index)  # intraday: the data's bars per year; daily: as is
    bench_close = untraded_benchmark(config.benchmark, data.symbols, source, intraday=is_intraday(data.index))
    if request.is_event:
        if is_event_strategy(request.strategy):
            event = create_event_strategy(request.strategy, request.params)
        else:
            event = WeightsAsEvents(create_strategy(request.strategy, request.params), config)
        result = run_event_backtest(data, event, config, request.execution, benchmark_close=bench_close)
    else:
        result = run_backtest(
            data, create_strategy(request.strategy, request.params), config, benchmark_close=bench_close
        )
    result.warnings.extend(gap_warnings(data))  # a hole in a symbol's data: said in the result, CLI and page
    return result
