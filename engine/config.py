"""Backtest configuration: frozen pydantic dataclasses; each field's type and bounds are declared here once.

A bad value raises ConfigError naming the field and the value (see `engine.validation`), whether the
config is built by keyword, by `dataclasses.replace` or from a plain mapping (`from_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic.dataclasses import dataclass

from engine.validation import FORBID, parse, validated

Fill = Literal["next_open", "next_close", "same_close"]
Rebalance = Literal["on_change", "daily", "weekly", "monthly"]
FILLS: tuple[str, ...] = get_args(Fill)
REBALANCES: tuple[str, ...] = get_args(Rebalance)
OPTIMISTIC_FILL_LABEL = "same_close (optimistic: fills at the signal bar's own close)"
NONE_IS_DEFAULT = BeforeValidator(lambda v: {} if v is None else v)
"""An empty YAML section (`costs:`) means the defaults."""
Bps = Annotated[StrictFloat, Field(ge=0, le=1000)]
"""A cost in basis points of traded notional."""
Money = Annotated[StrictFloat, Field(ge=0)]
Exposure = Annotated[StrictFloat, Field(gt=0, le=100)]
"""A leverage or weight: sum or single |w|."""
Fraction = Annotated[StrictFloat, Field(gt=0, le=1)]
"""A fraction of the entry price (0.05 = 5%)."""
LosingStreak = Annotated[StrictInt, Field(ge=1, le=1000)]
"""Losing trades in a row before trading stops: the backtest overlay's and the live risk rule's one bound."""
RiskPerTrade = Annotated[StrictFloat, Field(gt=0, le=1, allow_inf_nan=False)]
"""Equity lost at the stop by one new position, a fraction: the sizing overlay's and the live risk rule's bound."""
DEFAULT_RISK_PER_TRADE = 0.01
"""The risk rules' default risk per trade (engine.ops.risk.RiskLimits), also the sizing overlay's."""
SizingMethod = Literal["none", "vol_target", "fixed_fraction", "kelly", "atr"]
SIZING_METHODS: tuple[str, ...] = get_args(SizingMethod)
DEFAULT_BENCHMARK = "SPY"
"""The benchmark of a run that names none: buy-and-hold of SPY when the data source has it, else an equal weight
of the run's own symbols (`EQUAL_WEIGHT`)."""
EQUAL_WEIGHT = "equal_weight"
"""The benchmark value for an equal-weight buy-and-hold of the run's symbols (1/N each from its first bar)."""


def _benchmark_choice(value: Any) -> Any:
    """A benchmark as given (a symbol in any case, "equal_weight" / "EQUAL_WEIGHT", blank = the default) ->
    an upper-case symbol, EQUAL_WEIGHT or None; anything else passes through for pydantic to reject."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    return EQUAL_WEIGHT if text.lower() == EQUAL_WEIGHT else text.upper()


Benchmark = Annotated[StrictStr | None, BeforeValidator(_benchmark_choice)]
"""What a run is measured against: a symbol (traded or not), EQUAL_WEIGHT, or None for DEFAULT_BENCHMARK."""
DEFAULT_START = "2010-01-01"
"""The start date the app's forms (Backtest, Optimize) propose on a first visit: one default for both, so a
backtest and an optimization of the same settings cover the same bars unless someone changes it."""
DAILY_PERIODS_PER_YEAR = 252.0
"""Bars per year of daily bars (trading days), the default of `BacktestConfig.periods_per_year`. Left at this
default, a run on intraday bars annualizes by the bars per year its data has instead (engine.request.run_request,
engine.data.frequency.infer_periods_per_year); daily runs keep 252."""
CONFIRM_SETS = 20_000
"""A research run of more parameter sets than this asks for confirmation first (Optimize page)."""
CONFIRM_SECONDS = 60.0
"""A research run estimated to take longer than this (seconds) asks for confirmation first (Optimize page)."""


@validated("costs")
@dataclass(frozen=True, config=FORBID)
class Costs:
    """Trading costs applied to every fill, rebalances included.

    commission_bps: commission in basis points of traded notional (10 = 0.1%).
    min_commission: minimum commission per order, in account currency.
    slippage_bps: each fill price moves against the trader by this many basis points.
    """

    commission_bps: Bps = 0.0
    min_commission: Money = 0.0
    slippage_bps: Bps = 0.0


BorrowBps = Annotated[StrictFloat, Field(ge=0, le=10_000)]
"""A short borrow fee in basis points of the short market value per year (10,000 = 100% a year)."""
AnnualRate = Annotated[StrictFloat, Field(ge=-1, le=1)]
"""An annual interest rate, a fraction (0.05 = 5% a year)."""


def _symbol_rates(value: Any) -> Any:
    """A per-symbol mapping with its symbols stripped and upper-cased (as the CLI upper-cases symbols)."""
    if isinstance(value, Mapping):
        return {k.strip().upper() if isinstance(k, str) else k: v for k, v in value.items()}
    return {} if value is None else value


@validated("financing")
@dataclass(frozen=True, config=FORBID)
class Financing:
    """What holding positions costs or earns between bars, charged on the end-of-bar state (engine.sim.costs).

    borrow_bps: annual fee on the market value of every short position, basis points (300 = 3% a year).
    borrow_bps_by_symbol: per-symbol overrides of `borrow_bps` ({"TSLA": 500}); a symbol the run does not
        trade is ignored (one preset may cover several universes).
    margin_rate: annual rate paid on negative cash; None = the config's `cash_rate`, as before this section.
    Positive cash earns BacktestConfig.cash_rate. Every default charges nothing.
    """

    borrow_bps: BorrowBps = 0.0
    borrow_bps_by_symbol: Annotated[
        dict[Annotated[StrictStr, Field(min_length=1)], BorrowBps], BeforeValidator(_symbol_rates)
    ] = Field(default_factory=dict)
    margin_rate: AnnualRate | None = None

    def __hash__(self) -> int:  # configs are hashable (cache keys); the override mapping hashes by its items
        return hash((self.borrow_bps, tuple(sorted(self.borrow_bps_by_symbol.items())), self.margin_rate))


@validated("risk")
@dataclass(frozen=True, config=FORBID)
class Risk:
    """Position limits and stops.

    max_leverage: if sum(|w|) of a bar exceeds it, all weights of that bar are scaled down to it.
    max_position: cap on |w| per symbol, applied before the leverage scaling (None = no cap).
    stop_loss / take_profit / trailing_stop: fractions of the entry price (0.05 = 5%), checked against each
    bar's low/high after entry; None = off.
    """

    max_leverage: Exposure = 1.0
    max_position: Exposure | None = None
    stop_loss: Fraction | None = None
    take_profit: Annotated[StrictFloat, Field(gt=0)] | None = None
    trailing_stop: Fraction | None = None


@validated("sizing")
@dataclass(frozen=True, config=FORBID)
class Sizing:
    """The sizing overlay applied to any strategy's target weights (engine.sim.sizing); "none" = off.

    vol_target: weights x target_vol / (the raw weights' annualized volatility over the last `lookback` bars'
        asset returns, up to bar t).
    fixed_fraction: |w| = risk_per_trade / stop distance (the strategy's or the config's stop-loss / trailing
        stop; a stop is required).
    kelly: weights x kelly_fraction x (W - (1 - W) / R) from the raw signal's trades closed by bar t (W: win
        rate, R: average win / average loss), between 0 and kelly_cap; 0 until `min_trades` trades closed.
    atr: |w| = risk_per_trade / (atr_multiple x ATR(atr_length) / close) (a stop at atr_multiple ATRs).
    max_leverage: every bar's sum |w| after sizing is scaled down to it.
    """

    method: SizingMethod = "none"
    target_vol: Annotated[StrictFloat, Field(gt=0, le=5)] = 0.10
    lookback: Annotated[StrictInt, Field(ge=2, le=2520)] = 63
    max_leverage: Exposure = 1.0
    risk_per_trade: RiskPerTrade = DEFAULT_RISK_PER_TRADE
    kelly_fraction: Fraction = 0.5
    kelly_cap: Exposure = 1.0
    min_trades: Annotated[StrictInt, Field(ge=1, le=10_000)] = 10
    atr_length: Annotated[StrictInt, Field(ge=1, le=1000)] = 14
    atr_multiple: Annotated[StrictFloat, Field(gt=0, le=100)] = 2.0


@validated("config")
@dataclass(frozen=True, config=FORBID)
class BacktestConfig:
    """How a backtest is simulated (DESIGN §3). Bar timing: signals at close t, fills per `fill`.

    initial_cash: starting equity, account currency.
    fill: "next_open" (default), "next_close", or "same_close" (optimistic; only for fill-sensitivity).
    fractional: fractional units (research default) or whole units (rounded toward zero).
    rebalance: "on_change" trades a symbol only when its target weight changes; "daily"/"weekly"/"monthly"
        also bring every position back to its target at the first bar of each period, skipping symbols whose
        weight drifted by no more than `drift_threshold` (absolute weight).
    cash_rate: annual rate earned on cash, compounded per bar; also paid on negative cash unless
        `financing.margin_rate` is set.
    periods_per_year: bars per year, used for annualization. The default, DAILY_PERIODS_PER_YEAR (252), means
        "inferred from the data": 252 on daily bars, and on intraday bars the bars per year the data has (BTC
        1-minute bars around the clock: 525,600), set by `run_request`; any other value is used as given.
    benchmark: what the strategy is measured against (its buy-and-hold equity beside the strategy's, and the
        beta, alpha, tracking error, information ratio and captures): a symbol, EQUAL_WEIGHT (1/N of the run's
        symbols, bought at each one's first bar and held), or None = DEFAULT_BENCHMARK (SPY when the data has
        it, else EQUAL_WEIGHT).
    max_consecutive_losses: stop trading after this many losing trades in a row, as the live risk rule does
        (engine.sim.overlays; bounds as engine.ops.risk.RiskLimits'); None = off, the default in backtests.
    sizing: the sizing overlay on the strategy's weights (`Sizing`; method "none" = off, the default).
    financing: short borrow fee, margin interest (`Financing`; all off by default).
    costs / risk / sizing / financing: given as their classes or as mappings of their fields (None = the defaults).
    """

    initial_cash: Annotated[StrictFloat, Field(gt=0)] = 100_000.0
    costs: Annotated[Costs, NONE_IS_DEFAULT] = Costs()
    risk: Annotated[Risk, NONE_IS_DEFAULT] = Risk()
    fill: Fill = "next_open"
    fractional: StrictBool = True
    rebalance: Rebalance = "on_change"
    drift_threshold: Annotated[StrictFloat, Field(ge=0, le=10)] = 0.0
    cash_rate: AnnualRate = 0.0
    periods_per_year: Annotated[StrictFloat, Field(gt=0, le=1e7)] = DAILY_PERIODS_PER_YEAR
    benchmark: Benchmark = None
    max_consecutive_losses: LosingStreak | None = None
    sizing: Annotated[Sizing, NONE_IS_DEFAULT] = Sizing()
    financing: Annotated[Financing, NONE_IS_DEFAULT] = Financing()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BacktestConfig:
        """Build from a plain mapping (preset, YAML, JSON); unknown keys raise ConfigError naming them."""
        return parse(cls, values)
