"""The metric registry: the one place a metric's name, label, unit, display format, direction, annualization,
inputs and implementation are written down.

Tables, the CLI, the app, the optimizer, the scorecard and batch summaries read `METRICS` (display order) and
the named selections below; nothing else lists metric names. Adding a metric = one `Metric` entry here plus
its pure numpy function (in `curve`, `benchmark` or `activity`); if it belongs in the compiled one-pass
kernel (`fused`), add its slot there too, and tests/engine/test_metric_registry.py holds both paths equal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from engine.errors import ConfigError
from engine.metrics import activity, benchmark, curve, dca

Format = Literal["percent", "ratio", "currency", "count", "bars"]
Kind = Literal["curve", "activity", "benchmark"]
Need = Literal["equity", "benchmark", "trades", "gross_exposure", "turnover", "cash_flows", "financing"]


@dataclass
class Inputs:
    """Everything a metric function may read, for K equity curves of T bars (see `metric_columns`)."""

    equity: np.ndarray  # (T, K) equity at each close
    initial_cash: np.ndarray  # (K,)
    periods_per_year: float
    years: float  # calendar years spanned (curve.years_spanned), for CAGR
    risk_free: float = 0.0  # annual rate
    benchmark_returns: np.ndarray | None = None  # (T,), NaN = no benchmark bar
    trades: activity.TradeSums | None = None
    gross_exposure: np.ndarray | None = None  # (T, K)
    turnover: np.ndarray | None = None  # (T, K)
    level: float = 0.95  # VaR / CVaR confidence
    bought_value: np.ndarray | None = None  # (T, K) money spent on buys per bar (DCA_METRICS, engine.metrics.dca)
    bought_units: np.ndarray | None = None  # (T, K) units bought per bar
    asset_flows: np.ndarray | None = None  # (T, K) money into the position per bar (buys - sales)
    holding_value: np.ndarray | None = None  # (T, K) the position's value at each close
    borrow_cost: np.ndarray | None = None  # (T, K) borrow fee paid per bar (FINANCING_METRICS)
    margin_interest: np.ndarray | None = None  # (T, K) interest paid on negative cash per bar
    cash_interest: np.ndarray | None = None  # (T, K) interest earned on positive cash per bar

    @cached_property
    def returns(self) -> np.ndarray:
        return curve.returns_from_equity(self.equity, self.initial_cash)

    @cached_property
    def cagr(self) -> np.ndarray:
        return curve.cagr(self.equity, self.initial_cash, self.years)

    @cached_property
    def max_drawdown(self) -> np.ndarray:
        return curve.max_drawdown(self.equity)


@dataclass(frozen=True)
class Metric:
    """One metric.

    key: the name in tables, JSON, specs and CLI options. label: for people, with the unit.
    unit: what one unit of the value is. fmt: how it is displayed (`format_value`).
    higher_is_better: the direction an optimizer or ranking uses by default.
    annualized / annualization: whether and how it is put on a per-year basis.
    kind: what it describes (the equity curve, trading activity, or the curve against a benchmark).
    needs: the input beyond the equity curve it requires (NaN when that input is not given).
    function, args: its one pure numpy implementation and the `Inputs` fields passed to it, in order.
    definition: what it measures, in a sentence for people (the app's tooltips, the report, `ivybt metrics`).
    """

    key: str
    label: str
    unit: str
    fmt: Format
    higher_is_better: bool
    annualized: bool
    annualization: str
    kind: Kind
    needs: Need
    function: Callable[..., np.ndarray]
    args: tuple[str, ...]
    definition: str

    def compute(self, inputs: Inputs) -> np.ndarray:
        """(K,) values from the pure function; NaN when the input it needs was not given."""
        values = [getattr(inputs, a) for a in self.args]
        if any(v is None for v in values):
            return np.full(inputs.equity.shape[1], np.nan)
        return np.asarray(self.function(*values), dtype=np.float64)


_NOT = "not annualized"
_MEAN_P = "per-bar mean x periods_per_year"
_STD_P = "per-bar std x sqrt(periods_per_year)"
_RATIO_P = "per-bar mean / std x sqrt(periods_per_year)"
_CAPTURE = "geometric: prod(1 + r) ** (P / n) - 1 on each side over the n selected bars"
_R = ("returns", "periods_per_year")
_RB = ("returns", "benchmark_returns", "periods_per_year")
_T = ("trades",)


def _total(amounts: np.ndarray) -> np.ndarray:
    """(K,) sums over the bars of (T, K) amounts: a financing line's total."""
    return np.asarray(amounts, dtype=np.float64).sum(axis=0)


def _m(
    key: str,
    label: str,
    unit: str,
    fmt: Format,
    higher: bool,
    annualization: str,
    kind: Kind,
    needs: Need,
    function: Callable[..., np.ndarray],
    args: tuple[str, ...],
) -> Metric:
    return Metric(
        key,
        label,
        unit,
        fmt,
        higher,
        annualization != _NOT,
        annualization,
        kind,
        needs,
        function,
        args,
        DEFINITIONS[key],
    )


#: What each metric measures, for people (tooltips and legends); the formulas are in the functions' docstrings.
DEFINITIONS: dict[str, str] = {
    "final_equity": "Account value at the last bar: cash plus positions marked at the close.",
    "total_return": "Gain or loss over the whole run: final equity / initial cash - 1.",
    "cagr": "Compound annual growth rate: the yearly return that compounds to the total return over the calendar "
    "years spanned.",
    "annual_volatility": "Standard deviation of per-bar returns, scaled to a year (x sqrt of bars per year).",
    "sharpe": "Mean per-bar return above the risk-free rate divided by its standard deviation, scaled to a year. "
    "Above 1 is good, above 2 rare.",
    "sortino": "Like Sharpe, but divided by the downside deviation only (losing bars), scaled to a year.",
    "calmar": "CAGR divided by the size of the maximum drawdown: growth per unit of worst loss.",
    "max_drawdown": "Largest fall of equity from a previous peak, as a fraction of that peak (negative).",
    "max_drawdown_duration": "Longest time, in bars (trading days for daily data), that equity stayed below a "
    "previous peak.",
    "win_rate": "Share of trades with a positive profit.",
    "profit_factor": "Sum of winning trades' profit divided by the sum of losing trades' loss (above 1 = profitable).",
    "expectancy": "Average profit or loss per trade, in account currency.",
    "avg_trade": "Average return of a trade, relative to its entry value.",
    "n_trades": "Number of trades (round trips; one still open at the end included).",
    "exposure": "Share of bars that end with any position open.",
    "avg_gross_exposure": "Average of (sum of |position values|) / equity over all bars.",
    "turnover": "Traded value per year as a multiple of equity (1 = the whole account traded once a year).",
    "best_day": "Best single-bar return (best day for daily bars).",
    "worst_day": "Worst single-bar return (worst day for daily bars).",
    "var_95": "Value at risk: the historical 5th percentile of per-bar returns (on 5% of bars the return was this or "
    "worse).",
    "cvar_95": "Conditional value at risk: the average return of the worst 5% of bars.",
    "beta": "Sensitivity to the benchmark: covariance of returns with the benchmark's / the benchmark's variance.",
    "alpha": "Return not explained by the benchmark exposure (beta), per year.",
    "tracking_error": "Standard deviation of the return difference to the benchmark, scaled to a year.",
    "information_ratio": "Mean return above the benchmark divided by the tracking error, scaled to a year.",
    "up_capture": "Growth on the benchmark's up bars relative to the benchmark's own (1 = kept pace).",
    "down_capture": "Loss on the benchmark's down bars relative to the benchmark's own (below 1 = lost less).",
    "active_return": "Annualized return minus the benchmark's annualized return over the same bars (positive = "
    "beat it).",
}


# fmt: off
#: Every metric, in display order.
METRICS: tuple[Metric, ...] = (
    _m("final_equity", "Final equity (currency)", "currency", "currency", True, _NOT, "curve", "equity",
       curve.final_equity, ("equity",)),
    _m("total_return", "Total return (%)", "fraction", "percent", True, _NOT, "curve", "equity",
       curve.total_return, ("equity", "initial_cash")),
    _m("cagr", "CAGR (% per year)", "fraction per year", "percent", True,
       "compound: (final / initial) ** (1 / calendar years) - 1", "curve", "equity",
       curve.cagr, ("equity", "initial_cash", "years")),
    _m("annual_volatility", "Annual volatility (% per year)", "fraction per year", "percent", False, _STD_P,
       "curve", "equity", curve.annual_volatility, _R),
    _m("sharpe", "Sharpe (annualized)", "ratio", "ratio", True, _RATIO_P, "curve", "equity",
       curve.sharpe, ("returns", "periods_per_year", "risk_free")),
    _m("sortino", "Sortino (annualized)", "ratio", "ratio", True,
       "per-bar mean / downside deviation x sqrt(periods_per_year)", "curve", "equity",
       curve.sortino, ("returns", "periods_per_year", "risk_free")),
    _m("calmar", "Calmar ratio (CAGR / |max drawdown|)", "ratio", "ratio", True, "CAGR (compound) over max drawdown",
       "curve", "equity", curve.calmar, ("cagr", "max_drawdown")),
    _m("max_drawdown", "Max drawdown (%)", "fraction", "percent", True, _NOT, "curve", "equity",
       curve.max_drawdown, ("equity",)),
    _m("max_drawdown_duration", "Max drawdown duration (bars)", "bars", "bars", False, _NOT, "curve", "equity",
       curve.max_drawdown_duration, ("equity",)),
    _m("win_rate", "Win rate (% of trades)", "fraction", "percent", True, _NOT, "activity", "trades",
       activity.win_rate, _T),
    _m("profit_factor", "Profit factor (gross profit / gross loss)", "ratio", "ratio", True, _NOT, "activity",
       "trades", activity.profit_factor, _T),
    _m("expectancy", "Expectancy (currency per trade)", "currency", "currency", True, _NOT, "activity", "trades",
       activity.expectancy, _T),
    _m("avg_trade", "Average trade (% of entry)", "fraction", "percent", True, _NOT, "activity", "trades",
       activity.avg_trade, _T),
    _m("n_trades", "Trades (count)", "trades", "count", True, _NOT, "activity", "trades", activity.n_trades, _T),
    _m("exposure", "Exposure (% of bars)", "fraction", "percent", True, _NOT, "activity", "gross_exposure",
       activity.exposure, ("gross_exposure",)),
    _m("avg_gross_exposure", "Average gross exposure (% of equity)", "fraction", "percent", True, _NOT,
       "activity", "gross_exposure", activity.avg_gross_exposure, ("gross_exposure",)),
    _m("turnover", "Annual turnover (x equity per year)", "multiple of equity per year", "ratio", False, _MEAN_P,
       "activity", "turnover", activity.annual_turnover, ("turnover", "periods_per_year")),
    _m("best_day", "Best bar (%)", "fraction per bar", "percent", True, _NOT, "curve", "equity",
       curve.best_day, ("returns",)),
    _m("worst_day", "Worst bar (%)", "fraction per bar", "percent", True, _NOT, "curve", "equity",
       curve.worst_day, ("returns",)),
    _m("var_95", "VaR 95% (% per bar)", "fraction per bar", "percent", True, _NOT, "curve", "equity",
       curve.value_at_risk, ("returns", "level")),
    _m("cvar_95", "CVaR 95% (% per bar)", "fraction per bar", "percent", True, _NOT, "curve", "equity",
       curve.conditional_value_at_risk, ("returns", "level")),
    _m("beta", "Beta (vs benchmark)", "ratio", "ratio", True, _NOT, "benchmark", "benchmark",
       benchmark.beta, ("returns", "benchmark_returns")),
    _m("alpha", "Alpha (% per year)", "fraction per year", "percent", True, _MEAN_P, "benchmark", "benchmark",
       benchmark.alpha, ("returns", "benchmark_returns", "periods_per_year", "risk_free")),
    _m("tracking_error", "Tracking error (% per year)", "fraction per year", "percent", False, _STD_P,
       "benchmark", "benchmark", benchmark.tracking_error, _RB),
    _m("information_ratio", "Information ratio (annualized)", "ratio", "ratio", True, _RATIO_P, "benchmark",
       "benchmark", benchmark.information_ratio, _RB),
    _m("up_capture", "Up capture (x benchmark)", "ratio", "ratio", True, _CAPTURE, "benchmark", "benchmark",
       benchmark.up_capture, _RB),
    _m("down_capture", "Down capture (x benchmark)", "ratio", "ratio", False, _CAPTURE, "benchmark", "benchmark",
       benchmark.down_capture, _RB),
    _m("active_return", "Active return (% per year)", "fraction per year", "percent", True,
       "geometric: prod(1 + r) ** (P / n) - 1 on each side over the n paired bars, then the difference",
       "benchmark", "benchmark", benchmark.active_return, _RB),
)
#: Per position (a symbol of a run) rather than per equity curve: what dollar-cost-averaging investors read
#: (engine.research.dca_report computes them from a run's fills). Not in METRICS: not a column of every run.
DCA_METRICS: tuple[Metric, ...] = (
    Metric("average_cost", "Average cost (currency per unit)", "currency per unit", "currency", False, False, _NOT,
           "activity", "cash_flows", dca.average_cost, ("bought_value", "bought_units"),
           "Money spent on buys (commissions included) divided by the units bought: the price paid on average."),
    Metric("money_weighted_return", "Money-weighted return (% per year)", "fraction per year", "percent", True, True,
           "internal rate of return per bar, compounded: (1 + r) ** periods_per_year - 1", "activity",
           "cash_flows", dca.money_weighted_return, ("asset_flows", "holding_value", "periods_per_year"),
           "Internal rate of return of the money put into the position when it was put in, against its value at "
           "the end: the yearly return of a saver's own contributions."),
)
#: What holding the positions cost or earned between bars (engine.config.Financing, cash_rate): the totals of a
#: run's per-bar financing lines (BacktestResult.financing), in its metrics when the run charges or earns any.
#: Not in METRICS: not a column of every run.
FINANCING_METRICS: tuple[Metric, ...] = (
    Metric("borrow_cost", "Borrow fee (currency)", "currency", "currency", False, False, _NOT, "activity",
           "financing", _total, ("borrow_cost",),
           "Fee paid for borrowing the shares sold short: each bar, the short market value at the previous close "
           "times the per-bar borrow rate, summed over the run."),
    Metric("margin_interest", "Margin interest (currency)", "currency", "currency", False, False, _NOT, "activity",
           "financing", _total, ("margin_interest",),
           "Interest paid on negative cash (borrowed money): each bar, the cash owed at the previous close times "
           "the per-bar margin rate, summed over the run."),
    Metric("cash_interest", "Cash interest (currency)", "currency", "currency", True, False, _NOT, "activity",
           "financing", _total, ("cash_interest",),
           "Interest earned on positive cash: each bar, the cash at the previous close times the per-bar cash "
           "rate, summed over the run."),
)
# fmt: on

_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
#: Every metric key, in display order.
KEYS: tuple[str, ...] = tuple(_BY_KEY)
_BY_KEY.update({m.key: m for m in (*DCA_METRICS, *FINANCING_METRICS)})  # found by metric(), label(); not in KEYS

# Named selections (each a display or ranking choice made once, here).
#: The metrics shown first about a run: result headline, run lists, universe ranking, robustness tables.
HEADLINE: tuple[str, ...] = ("total_return", "cagr", "sharpe", "max_drawdown", "n_trades")
#: HEADLINE plus final equity: the run store's metric columns (changing them needs a migration there) and the
#: fill-sensitivity table.
KEY_METRICS: tuple[str, ...] = (*HEADLINE[:4], "final_equity", "n_trades")
#: What a walk-forward window reports about its in- and out-of-sample parts, and the optimizer's value choices.
STABILITY: tuple[str, ...] = ("sharpe", "cagr", "total_return", "max_drawdown", "calmar", "n_trades")
#: The optimizer's trial table in the CLI and the app (besides the objective).
TRIAL_COLUMNS: tuple[str, ...] = ("sharpe", "cagr", "total_return", "max_drawdown", "n_trades")
#: A batch job's summary.
BATCH_SUMMARY: tuple[str, ...] = (*HEADLINE[:3], "sortino", "max_drawdown", "n_trades", "win_rate", "final_equity")
#: What a Monte Carlo resample reports per path (computed there, named and formatted here).
MONTE_CARLO: tuple[str, ...] = ("final_equity", "max_drawdown", "sharpe")
#: The optimizer's objectives offered in the app, each optimized in its metric's `higher_is_better` direction.
OBJECTIVES: tuple[str, ...] = ("sharpe", "sortino", "calmar", "cagr", "total_return", "profit_factor", "max_drawdown")
#: What the app ranks a universe of symbols by.
RANKINGS: tuple[str, ...] = ("sharpe", "cagr", "calmar", "sortino", "total_return")
#: The columns of a per-regime performance table (cagr = the return annualized over the regime's own bars).
REGIME_TABLE: tuple[str, ...] = ("total_return", "cagr", "annual_volatility", "sharpe", "max_drawdown")
#: Metrics lower-is-better (for sets of names, e.g. a batch job's default direction).
LOWER_IS_BETTER: frozenset[str] = frozenset(m.key for m in METRICS if not m.higher_is_better)


def metric(key: str) -> Metric:
    """The registered metric `key`; ConfigError naming it and the known keys otherwise."""
    try:
        return _BY_KEY[key]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown metric {key!r}; expected one of {list(KEYS)}") from None


def is_metric(key: Any) -> bool:
    """Whether `key` names a registered metric (METRICS, DCA_METRICS or FINANCING_METRICS)."""
    return isinstance(key, str) and key in _BY_KEY


def higher_is_better(key: str) -> bool:
    """The direction of metric `key` (ConfigError when unknown)."""
    return metric(key).higher_is_better


def label(key: str) -> str:
    """The label of metric `key`, or the key itself for a column that is not a metric (e.g. a parameter)."""
    return _BY_KEY[key].label if key in _BY_KEY else key


def is_count(key: Any) -> bool:
    """Whether `key` is a metric counted in whole units (trades, bars)."""
    return key in _BY_KEY and _BY_KEY[key].fmt in ("count", "bars")


def percent_keys(keys: Any) -> list[str]:
    """Those of `keys` displayed as percentages (fractions)."""
    return [k for k in keys if k in _BY_KEY and _BY_KEY[k].fmt == "percent"]


def objectives() -> tuple[tuple[str, bool], ...]:
    """The optimizer's objective list: (key, higher_is_better) per objective."""
    return tuple((k, _BY_KEY[k].higher_is_better) for k in OBJECTIVES)


def ordered(keys: Any) -> list[str]:
    """`keys` (any iterable of names) in display order: registered metrics first (METRICS, then the DCA and
    financing ones), the rest alphabetically."""
    names = set(keys)
    return [k for k in _BY_KEY if k in names] + sorted(n for n in names if n not in _BY_KEY)


def format_value(key: str, value: Any, *, missing: str = "n/a", ratio_digits: int = 3) -> str:
    """A metric's value for people: fractions as percentages, counts and bars as integers, currency with
    separators, ratios with `ratio_digits` decimals. A key that is not a metric (a derived number such as a
    walk-forward efficiency) is shown as a ratio. `missing` stands for None and NaN; inf shows as inf."""
    if value is None:
        return missing
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return missing
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    fmt = _BY_KEY[key].fmt if key in _BY_KEY else "ratio"
    if fmt == "percent":
        return f"{v:.2%}"
    if fmt in ("count", "bars"):
        return f"{v:,.0f}"
    if fmt == "currency":
        return f"{v:,.2f}"
    return f"{v:,.{ratio_digits}f}"


def definition(key: str) -> str:
    """What metric `key` measures, in a sentence (tooltips, legends); "" for a column that is not a metric."""
    return _BY_KEY[key].definition if key in _BY_KEY else ""


def is_duration(key: Any) -> bool:
    """Whether `key` is a metric measuring a length of time (counted in bars)."""
    return key in _BY_KEY and _BY_KEY[key].fmt == "bars"


def difference_unit(key: str) -> str:
    """The unit of a difference between two values of metric `key` (e.g. strategy minus benchmark): percentage
    points ("pp") for a metric shown in %, the metric's own unit otherwise (a ratio minus a ratio is a ratio)."""
    m = metric(key)
    return "pp" if m.fmt == "percent" else m.unit


def difference_label(key: str) -> str:
    """The label of a difference of metric `key`: its label with % replaced by pp ("Total return (pp)", "CAGR (pp
    per year)"); the label itself for metrics not shown in %. ConfigError for an unknown key."""
    m = metric(key)
    return m.label.replace("(%", "(pp", 1) if m.fmt == "percent" else m.label


def format_difference(key: str, value: Any, *, missing: str = "n/a") -> str:
    """A difference of metric `key` for people, always signed: "+1.23 pp" for a metric shown in % (a
    difference of two percentages is in percentage points, not %), the metric's own format otherwise ("-0.120"
    for a ratio, "+1,234.50" for currency, "+3" for a count). `missing` stands for None and NaN."""
    shown = format_value(key, value, missing=missing)
    if shown in (missing, "inf", "-inf") or value is None:
        return shown
    v = float(value)
    if metric(key).fmt == "percent":
        return f"{v * 100:+.2f} pp"
    return shown if shown.startswith("-") else f"+{shown}"
