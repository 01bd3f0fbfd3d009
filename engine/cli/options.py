"""The option groups the `ivybt` commands share, each defined once: what to run (strategy, symbols, dates,
data folder, preset/config), costs and fills, sizing and risk, walk-forward windows and output.

A command adds the groups it needs; `engine.cli.backtest.build_request` turns the first three into a request,
so every command that takes them (backtest, optimize, walkforward, montecarlo, scorecard) reads them alike.
"""

from __future__ import annotations

import argparse
from typing import get_args

from engine.config import FILLS, REBALANCES, SizingMethod
from engine.strategies.sandbox import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    MEMORY_ENV,
    MIN_MEMORY_MB,
    TIMEOUT_ENV,
    set_limits,
)

JSON_HELP = "print one JSON object instead of a table"
DATA_DIR_HELP = "folder of <SYMBOL>.csv/.parquet files instead of the bundled data"
SYMBOLS_HELP = "symbols, space or comma separated"
LENGTH_HELP = "in-sample length: bars (750) or a span (3Y, 18M, 26W, 90D)"

CONFIG_FLAGS: dict[str, tuple[str | None, str]] = {
    "commission_bps": ("costs", "commission_bps"),
    "min_commission": ("costs", "min_commission"),
    "slippage_bps": ("costs", "slippage_bps"),
    "max_leverage": ("risk", "max_leverage"),
    "max_position": ("risk", "max_position"),
    "stop_loss": ("risk", "stop_loss"),
    "take_profit": ("risk", "take_profit"),
    "trailing_stop": ("risk", "trailing_stop"),
    "cash": (None, "initial_cash"),
    "fill": (None, "fill"),
    "rebalance": (None, "rebalance"),
    "drift": (None, "drift_threshold"),
    "cash_rate": (None, "cash_rate"),
    "borrow_bps": ("financing", "borrow_bps"),
    "margin_rate": ("financing", "margin_rate"),
    "periods_per_year": (None, "periods_per_year"),
    "benchmark": (None, "benchmark"),
    "fractional": (None, "fractional"),
    "max_consecutive_losses": (None, "max_consecutive_losses"),
    "sizing": ("sizing", "method"),
    "target_vol": ("sizing", "target_vol"),
    "sizing_lookback": ("sizing", "lookback"),
    "risk_per_trade": ("sizing", "risk_per_trade"),
    "kelly_fraction": ("sizing", "kelly_fraction"),
    "atr_multiple": ("sizing", "atr_multiple"),
}
"""Flag dest -> (section, field) of the request's config mapping that the flag overrides; section None = top
level of BacktestConfig. Used by engine.cli.backtest.build_request."""

Container = argparse.ArgumentParser | argparse._ArgumentGroup
"""Where an option goes: a parser or one of its groups."""


def add_json(where: Container) -> None:
    """`--json`: print one strict JSON object (see engine.cli.output.print_json)."""
    where.add_argument("--json", action="store_true", help=JSON_HELP)


def add_now(where: Container) -> None:
    """`--now ISO`: the instant a `run-due` command judges what is due at (read with engine.cli.parsing.instant)."""
    where.add_argument("--now", metavar="ISO", help="judge what is due at this instant (default now; naive = UTC)")


def add_data_dir(where: Container, help: str = DATA_DIR_HELP) -> None:
    """`--data-dir FOLDER`: read market data from a folder instead of the default source."""
    where.add_argument("--data-dir", metavar="FOLDER", help=help)


def add_symbols(where: Container, help: str = SYMBOLS_HELP) -> None:
    """`--symbols SYM ...` (split and upper-cased by engine.cli.parsing.split_symbols)."""
    where.add_argument("--symbols", nargs="+", metavar="SYM", help=help)


def add_param(where: Container, help: str = "strategy parameter (repeatable)") -> None:
    """`--param NAME=VALUE`, repeatable (parsed by engine.cli.parsing.parse_params)."""
    where.add_argument("--param", action="append", metavar="NAME=VALUE", help=help)


def add_dates(where: Container) -> None:
    """`--start` / `--end`: the inclusive date range."""
    where.add_argument("--start", help="first date (inclusive, YYYY-MM-DD)")
    where.add_argument("--end", help="last date (inclusive, YYYY-MM-DD)")


def add_request_options(parser: argparse.ArgumentParser, timeframe: bool = False) -> None:
    """The flags that describe one backtest (`ivybt backtest` minus its output): groups "what to run",
    "costs and fills" and "sizing and risk". Read by engine.cli.backtest.build_request. `timeframe`: also
    `--timeframe` (only commands whose run goes through engine.request.request_data)."""
    add_source_options(parser, timeframe=timeframe)
    add_cost_options(parser)
    add_sizing_options(parser)


def add_event_options(parser: argparse.ArgumentParser) -> None:
    """Group "event mode": --mode and the simulated broker's execution (engine.sim.event.settings.Execution)."""
    ev = parser.add_argument_group("event mode")
    ev.add_argument(
        "--mode",
        choices=("vectorized", "event"),
        help="vectorized (target weights, the default) or event (orders bar by bar; an event strategy's only mode)",
    )
    ev.add_argument("--latency-bars", type=int, metavar="N", help="event mode: extra bars before an order may fill")
    ev.add_argument(
        "--latency-seconds", type=float, metavar="S", help="event mode: order latency in seconds (intraday bars)"
    )
    ev.add_argument(
        "--participation", type=float, metavar="F", help="event mode: most of a bar's volume one symbol may trade"
    )


EXECUTION_FLAGS = {
    "latency_bars": "latency_bars",
    "latency_seconds": "latency_seconds",
    "participation": "participation",
}
"""argparse dest -> Execution field, for the flags of `add_event_options`."""


def add_source_options(
    parser: argparse.ArgumentParser, param_help: str = "strategy parameter (repeatable)", timeframe: bool = False
) -> None:
    """Group "what to run": strategy, symbols, params, dates, (timeframe,) data folder, preset or YAML config."""
    src = parser.add_argument_group("what to run")
    src.add_argument("--strategy", help="strategy name (see `ivybt strategies`)")
    add_symbols(src)
    add_param(src, param_help)
    add_dates(src)
    if timeframe:
        src.add_argument(
            "--timeframe",
            metavar="TF",
            help="resample the bars first: 5min, 15min, 1h, 4h, 1d ... (default: the data's own bars)",
        )
    add_data_dir(src)
    src.add_argument("--preset", metavar="NAME", help="start from a preset (name or path to .json)")
    src.add_argument("--config", metavar="FILE.yaml", help="start from a YAML BacktestRequest mapping")
    add_user_code_limits(src)


class _UserCodeLimit(argparse.Action):
    """Sets a user-code limit as soon as it is parsed (`engine.strategies.sandbox.set_limits`: this process and
    the processes it starts), so every path that runs a user strategy sees it."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: object, opt: str | None = None
    ) -> None:
        try:
            number = float(str(value))
        except ValueError:
            parser.error(f"{opt} {value!r}: not a number")
        if not number > 0 or number == float("inf"):
            parser.error(f"{opt} {value!r}: must be a positive number")
        if self.dest == "memory_mb" and number < MIN_MEMORY_MB:
            parser.error(f"{opt} {value!r}: at least {MIN_MEMORY_MB} (MB; Python and pandas need ~400)")
        if self.dest == "memory_mb":
            set_limits(memory_mb=int(number))
        else:
            set_limits(timeout_s=number)
        setattr(namespace, self.dest, number)


def add_user_code_limits(where: Container) -> None:
    """`--timeout SECONDS` and `--memory-mb MB`: the limits of a user strategy's sandbox child (a built-in
    strategy runs in process and ignores them)."""
    where.add_argument(
        "--timeout",
        dest="timeout_s",
        action=_UserCodeLimit,
        metavar="SECONDS",
        help=f"wall-clock limit of each call into a user strategy ({TIMEOUT_ENV}, default {DEFAULT_TIMEOUT_S:g})",
    )
    where.add_argument(
        "--memory-mb",
        dest="memory_mb",
        action=_UserCodeLimit,
        metavar="MB",
        help=f"memory limit of a user strategy's process ({MEMORY_ENV}, default {DEFAULT_MEMORY_MB})",
    )


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    """Group "costs and fills": commission, slippage, fill timing, cash and its rate, borrow fee and margin rate
    (per-symbol borrow fees: `financing.borrow_bps_by_symbol` in a preset or --config)."""
    costs = parser.add_argument_group("costs and fills")
    costs.add_argument("--commission-bps", type=float, help="commission, basis points of traded notional")
    costs.add_argument("--min-commission", type=float, help="minimum commission per order (currency)")
    costs.add_argument("--slippage-bps", type=float, help="slippage against the trader, basis points")
    costs.add_argument(
        "--fill",
        choices=FILLS,
        help="fill at next_open (default), next_close, or same_close "
        "(optimistic: only for fill-sensitivity comparisons)",
    )
    costs.add_argument("--cash", type=float, help="initial cash (default 100000)")
    costs.add_argument("--cash-rate", type=float, help="annual rate earned on cash (fraction)")
    costs.add_argument(
        "--borrow-bps", type=float, help="annual borrow fee on short market value, basis points (charged per bar)"
    )
    costs.add_argument(
        "--margin-rate", type=float, help="annual rate paid on negative cash (fraction; default: the cash rate)"
    )


def add_sizing_options(parser: argparse.ArgumentParser) -> None:
    """Group "sizing and risk": rebalancing, leverage and position caps, stops, the consecutive-loss stop, the
    sizing overlay (engine.sim.sizing) and its main settings, units, benchmark, annualization."""
    sizing = parser.add_argument_group("sizing and risk")
    sizing.add_argument("--rebalance", choices=REBALANCES, help="on_change (default), daily, weekly, monthly")
    sizing.add_argument("--drift", type=float, help="drift threshold for scheduled rebalances (absolute weight)")
    sizing.add_argument("--max-leverage", type=float, help="max gross leverage sum(|w|) (default 1)")
    sizing.add_argument("--max-position", type=float, help="cap on |weight| per symbol")
    sizing.add_argument("--stop-loss", type=float, help="stop-loss, fraction of entry price (0.05 = 5%%)")
    sizing.add_argument("--take-profit", type=float, help="take-profit, fraction of entry price")
    sizing.add_argument("--trailing-stop", type=float, help="trailing stop, fraction of the best price since entry")
    sizing.add_argument(
        "--max-consecutive-losses",
        type=int,
        metavar="N",
        help="stop trading after N losing trades in a row, as the live risk rule (positions held, stops still "
        "fire; default off)",
    )
    sizing.add_argument(
        "--sizing",
        choices=get_args(SizingMethod),
        help="sizing overlay on the strategy's weights: vol_target, fixed_fraction (needs a stop), kelly, atr "
        "(default none; every field: config.sizing in a preset or --config)",
    )
    sizing.add_argument("--target-vol", type=float, help="vol_target: annual volatility aimed at (0.10 = 10%%)")
    sizing.add_argument("--sizing-lookback", type=int, metavar="BARS", help="vol_target: bars of returns read")
    sizing.add_argument(
        "--risk-per-trade", type=float, help="fixed_fraction, atr: equity lost at the stop per position (0.01 = 1%%)"
    )
    sizing.add_argument("--kelly-fraction", type=float, help="kelly: the share of the full Kelly bet (0.5 = half)")
    sizing.add_argument("--atr-multiple", type=float, help="atr: the stop distance in ATRs")
    units = sizing.add_mutually_exclusive_group()
    units.add_argument(
        "--whole-units",
        dest="fractional",
        action="store_const",
        const=False,
        help="trade whole units only (rounded toward zero)",
    )
    units.add_argument(
        "--fractional", dest="fractional", action="store_const", const=True, help="trade fractional units (the default)"
    )
    sizing.add_argument(
        "--benchmark",
        metavar="SYM",
        help="benchmark: a symbol or equal_weight (default: SPY, else an equal weight of the symbols)",
    )
    sizing.add_argument(
        "--periods-per-year",
        type=float,
        help="bars per year for annualization (default: 252 on daily bars, the data's own on intraday bars)",
    )
    parser.set_defaults(fractional=None)


def add_output_options(out: Container, save_help: str) -> None:
    """Output flags (into a command's "output" group): `--json`, `--save` (what is saved: `save_help`) and
    `--name` of the saved run."""
    add_json(out)
    out.add_argument("--save", action="store_true", help=save_help)
    out.add_argument("--name", help="name of the saved run")


def add_window_options(where: Container, required: bool) -> None:
    """Walk-forward windows: `--in-sample`, `--out-of-sample` (each bars or a span) and `--anchored`."""
    where.add_argument("--in-sample", required=required, metavar="LEN", help=LENGTH_HELP)
    where.add_argument(
        "--out-of-sample", required=required, metavar="LEN", help="out-of-sample length (also the step between windows)"
    )
    where.add_argument("--anchored", action="store_true", help="every in-sample window starts at the first bar")


def add_dry_run(where: Container) -> None:
    """`--dry-run`: print the run's size (sets before and after pruning, the rules that prune them) and its
    estimated time from a short calibration run, then exit 0 without running (engine.research.estimate)."""
    where.add_argument(
        "--dry-run",
        action="store_true",
        help="print the sets to run (after pruning, with the rules), the pruned count and the estimated time "
        "(from a calibration run of a few sets on the data); run nothing and exit",
    )


def add_range(where: Container, help: str) -> None:
    """`--range NAME=SPEC`, repeatable (parsed by engine.cli.optimize.parse_ranges)."""
    where.add_argument("--range", action="append", metavar="NAME=SPEC", help=help)
