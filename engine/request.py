"""`BacktestRequest`: everything needed to reproduce one backtest, and `run_request` to run it.

The one entry point the pages, the CLI, presets and batch jobs share: build a frozen request from widgets,
flags, a preset or YAML, then call `run_request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.config import BacktestConfig
from engine.errors import ConfigError, DataError
from engine.sim.result import BacktestResult


@dataclass(frozen=True)
class BacktestRequest:
    """One backtest: strategy name and params, symbols, date range, simulation config, data source.

    start/end: ISO dates (inclusive) or None for the whole history. data_source: None for the default source
    (workspace imports, then the bundled sample), or a folder path of `<SYMBOL>.csv|.parquet` files.
    """

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    config: BacktestConfig = field(default_factory=BacktestConfig)
    data_source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(str(s).strip().upper() for s in self.symbols if str(s).strip()))
        object.__setattr__(self, "params", dict(self.params))
        if not self.symbols:
            raise DataError("no symbols selected: choose at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"symbols: duplicates in {list(self.symbols)}")
        if self.start and self.end and str(self.start) > str(self.end):
            raise DataError(f"start {self.start} is after end {self.end}")
        if not isinstance(self.config, BacktestConfig):
            raise ConfigError(f"config must be BacktestConfig, got {type(self.config).__name__}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["symbols"] = list(self.symbols)
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BacktestRequest:
        values = dict(values)
        known = {"strategy", "params", "symbols", "start", "end", "config", "data_source"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"request: unknown field(s) {unknown}; expected some of {sorted(known)}")
        if "strategy" not in values:
            raise ConfigError("request: missing field 'strategy'")
        cfg = values.get("config") or {}
        values["config"] = cfg if isinstance(cfg, BacktestConfig) else BacktestConfig.from_dict(cfg)
        for key in ("start", "end"):
            if values.get(key) is not None:
                values[key] = str(values[key])
        symbols = values.get("symbols") or ()
        if isinstance(symbols, str):  # "SPY" or "SPY,QQQ" from YAML/JSON, not the characters S, P, Y
            symbols = symbols.split(",")
        elif not isinstance(symbols, (list, tuple)):
            raise ConfigError(f"request: field 'symbols' must be a list of symbols, got {symbols!r}")
        values["symbols"] = tuple(symbols)
        params = values.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise ConfigError(f"request: field 'params' must be a mapping of name: value, got {params!r}")
        return cls(**values)

    def with_changes(self, **changes: Any) -> BacktestRequest:
        return replace(self, **changes)


def run_request(request: BacktestRequest) -> BacktestResult:
    """Load the data, build the strategy, run the backtest. Raises EngineError subclasses on bad input."""
    from engine.data import get_source, load_market_data
    from engine.sim.simulate import run_backtest
    from engine.strategies.registry import create_strategy

    strategy = create_strategy(request.strategy, request.params)
    source = get_source(request.data_source)
    data = load_market_data(list(request.symbols), request.start, request.end, source)
    bench = request.config.benchmark
    bench_close = None
    if bench and bench not in data.symbols:  # an untraded benchmark: its closes only, never traded
        bench_close = load_market_data([bench], source=source).close[bench]
    return run_backtest(data, strategy, request.config, benchmark_close=bench_close)
