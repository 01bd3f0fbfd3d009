"""`ivybt whatif`: reprice a list of positions under shocks to prices, implied vols and time.

    ivybt whatif --positions book.json --scenario gap-down-10
    ivybt whatif --positions book.json --price-shock -0.1 --vol-shock +0.05 --days 7 --grid
    ivybt whatif --positions book.json --beta-shock SPY=-0.2 --vix 15:40 --vol-map history
    ivybt whatif --broker paper --scenario vol-spike        (the Desk's positions: brokers.whatif_positions)
    ivybt whatif --price-shock=-20% --vol-shock x1.5 --save-scenario my-crash --description "..."
    ivybt whatif --list-scenarios

Shock flags override the fields of --scenario. Moves are fractions (-0.1) or percents (-10%; write
`--price-shock=-10%`, argparse reads a bare -10% as an option).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from engine.cli.options import add_json
from engine.cli.output import print_json, safe, table_text
from engine.errors import ConfigError
from engine.whatif import (
    Market,
    list_scenarios,
    load_positions,
    load_scenario,
    market_for,
    pnl_grid,
    prepare,
    revalue,
    save_scenario,
)
from engine.whatif.repricing import DEFAULT_GRID_PRICES, DEFAULT_GRID_VOLS, PnLGrid, WhatIfResult
from engine.whatif.scenario import DEFAULT_LOOKBACK, Scenario
from engine.whatif.sources import source_positions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("whatif", help="P&L of positions under price / vol / time shocks, presets, a price x vol grid")
    p.add_argument("--positions", metavar="FILE", help="JSON list of {symbol, quantity, price, implied_vol, ...}")
    p.add_argument("--broker", metavar="NAME", help="the positions of a broker account instead (paper, alpaca, ibkr)")
    p.add_argument("--scenario", metavar="NAME", help="a preset or saved scenario (see --list-scenarios)")
    p.add_argument(
        "--price-shock",
        action="append",
        metavar="MOVE|SYM=MOVE",
        help="price move of every symbol (-0.1 or -10%%), or of one symbol (SPY=-0.2); repeatable",
    )
    p.add_argument("--beta-shock", metavar="BENCH=MOVE", help="benchmark move, each symbol by its beta (SPY=-0.2)")
    p.add_argument("--lookback", type=int, help=f"daily bars for betas and vol history (default {DEFAULT_LOOKBACK})")
    p.add_argument(
        "--vol-shock",
        action="append",
        metavar="+SHIFT|xSCALE",
        help="absolute vol shift (+0.05 = +5 vol points) or relative (x1.5); repeatable, one of each",
    )
    p.add_argument("--vix", metavar="FROM:TO", help="a VIX move (15:40) mapped to each symbol's vol")
    p.add_argument(
        "--vol-map",
        choices=("history", "multiplier"),
        help="VIX map: vol history vs the benchmark, or multipliers (default)",
    )
    p.add_argument(
        "--vix-kind",
        choices=("absolute", "relative"),
        help="the VIX move as points added to each vol (absolute, default) or as a ratio multiplying it (relative)",
    )
    p.add_argument("--vol-multiplier", action="append", metavar="SYM=M", help="VIX multiplier of a symbol; repeatable")
    p.add_argument("--days", type=int, help="days forward (options lose that time to expiry)")
    p.add_argument("--rate", type=float, default=0.0, help="risk-free rate of the option model (default 0)")
    p.add_argument("--dividend", type=float, default=0.0, help="dividend yield of the option model (default 0)")
    p.add_argument("--asof", metavar="YYYY-MM-DD", help="valuation date (default today, UTC)")
    p.add_argument(
        "--data-dir", metavar="FOLDER", help="daily data for betas / vol history (default: workspace, sample)"
    )
    p.add_argument("--grid", action="store_true", help="also the total P&L over a price x vol grid (the heatmap)")
    p.add_argument(
        "--grid-prices",
        metavar="LIST",
        help="grid price moves, comma separated: --grid-prices=-0.1,0,0.1 (default -0.2..0.2)",
    )
    p.add_argument("--grid-vols", metavar="LIST", help="grid vol shifts, comma separated (default -0.1..0.2)")
    p.add_argument("--save-scenario", metavar="NAME", help="save the scenario (flags over --scenario) under NAME")
    p.add_argument("--description", help="description of a saved scenario: say what it applies")
    p.add_argument("--overwrite", action="store_true", help="replace a saved scenario of the same name")
    p.add_argument("--list-scenarios", action="store_true", help="list the presets and saved scenarios")
    add_json(p)
    p.set_defaults(func=whatif)


def fraction(text: str, what: str) -> float:
    """'-0.1' -> -0.1, '-10%' -> -0.1; ConfigError naming the flag otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigError(f"{what} {text!r}: expected a number such as -0.1 or -10%") from None
    return value


def _pair(text: str, what: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"{what} {text!r}: expected SYMBOL=VALUE")
    return name.strip().upper(), fraction(value, what)


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario of --scenario (or none) with every shock flag laid over it."""
    base = load_scenario(args.scenario) if args.scenario else Scenario()
    values: dict[str, Any] = base.to_dict()
    values["name"] = args.save_scenario or (base.name if args.scenario else "custom")
    if args.description is not None:
        values["description"] = args.description
    for item in args.price_shock or ():
        if "=" in item:
            symbol, move = _pair(item, "--price-shock")
            values["symbol_shocks"] = {**values["symbol_shocks"], symbol: move}
        else:
            values["price_shock"] = fraction(item, "--price-shock")
    if args.beta_shock:
        bench, move = _pair(args.beta_shock, "--beta-shock")
        values["beta_shock"] = {**(values["beta_shock"] or {}), "benchmark": bench, "move": move}
    for item in args.vol_shock or ():
        raw = item.strip()
        if raw[:1] in ("x", "X", "*"):
            values["vol_scale"] = fraction(raw[1:], "--vol-shock")
        else:
            values["vol_shift"] = fraction(raw, "--vol-shock")
    _vix_flags(args, values)
    if args.lookback is not None:
        for key in ("beta_shock", "vix"):
            if values[key]:
                values[key] = {**values[key], "lookback": args.lookback}
    if args.days is not None:
        values["days"] = args.days
    return Scenario.from_dict(values)


def _vix_flags(args: argparse.Namespace, values: dict[str, Any]) -> None:
    vix = dict(values["vix"] or {})
    if args.vix:
        start, sep, end = args.vix.partition(":")
        if not sep:
            raise ConfigError(f"--vix {args.vix!r}: expected FROM:TO, e.g. 15:40")
        vix.update(start=fraction(start, "--vix"), end=fraction(end, "--vix"))
    if args.vol_map:
        vix["map"] = args.vol_map
    if args.vix_kind:
        vix["kind"] = args.vix_kind
    for item in args.vol_multiplier or ():
        symbol, m = _pair(item, "--vol-multiplier")
        vix["multipliers"] = {**vix.get("multipliers", {}), symbol: m}
    if vix and not {"start", "end"} <= set(vix):
        raise ConfigError("--vol-map / --vix-kind / --vol-multiplier: give the VIX move with --vix FROM:TO")
    values["vix"] = vix or None


def _asof(text: str | None) -> dt.date:
    if not text:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--asof {text!r}: expected a date YYYY-MM-DD") from None


def _grid_list(text: str | None, default: tuple[float, ...], what: str) -> list[float]:
    if text is None:
        return list(default)
    values = [fraction(v, what) for v in text.split(",") if v.strip()]
    if not values:
        raise ConfigError(f"{what} {text!r}: expected comma-separated numbers")
    return values


def whatif(args: argparse.Namespace) -> int:
    if args.list_scenarios:
        return _list(args.json)
    scenario = scenario_from_args(args)
    if args.save_scenario:
        path = save_scenario(scenario, overwrite=args.overwrite)
        if not (args.positions or args.broker):
            print_json({"saved": str(path), "scenario": scenario.to_dict()}) if args.json else print(f"saved {path}")
            return 0
    if bool(args.positions) == bool(args.broker):
        raise ConfigError("give --positions FILE (a JSON list of position records) or --broker NAME, one of them")
    positions = load_positions(args.positions) if args.positions else source_positions(args.broker)
    base = Market(_asof(args.asof), args.rate, args.dividend)
    holdings = prepare(positions, base)
    market = market_for(scenario, holdings, base, args.data_dir)
    result = revalue(holdings, scenario, market)
    grid = None
    if args.grid:
        prices = _grid_list(args.grid_prices, DEFAULT_GRID_PRICES, "--grid-prices")
        vols = _grid_list(args.grid_vols, DEFAULT_GRID_VOLS, "--grid-vols")
        grid = pnl_grid(holdings, market, prices, vols, scenario.days)
    if args.json:
        print_json({**result.to_dict(), **({"grid": grid.to_dict()} if grid else {})})
    else:
        print(result_text(result))
        if grid:
            print()
            print(grid_text(grid))
    return 0


def _list(as_json: bool) -> int:
    rows = list_scenarios()
    if as_json:
        print_json({"scenarios": [{"name": n, "kind": k, "description": d} for n, k, d in rows]})
    else:
        print(table_text(["name", "kind", "description"], rows))
    return 0


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def result_text(result: WhatIfResult) -> str:
    s = result.scenario
    head = f"scenario {s.name}" + (f": {s.description}" if s.description else "") + f" (as of {result.asof})"
    rows = [
        [
            r.symbol,
            r.kind,
            f"{r.quantity:g}",
            f"{_num(r.underlying_price)} -> {_num(r.shocked_underlying_price)}",
            "-" if r.vol is None else f"{_num(r.vol, 4)} -> {_num(r.shocked_vol, 4)}",
            _num(r.base_value),
            _num(r.value),
            _num(r.pnl),
        ]
        for r in result.rows
    ]
    rows.append(["total", "", "", "", "", _num(result.base_value), _num(result.value), _num(result.pnl)])
    headers = ["symbol", "kind", "qty", "price (underlying)", "vol", "base value", "value", "P&L"]
    return safe(head) + "\n" + table_text(headers, rows, align_right_from=5)


def grid_text(grid: PnLGrid) -> str:
    headers = ["price \\ vol", *(f"{v:+.2f}" for v in grid.vol_shifts)]
    rows = [[f"{p:+.0%}", *(_num(c, 0) for c in row)] for p, row in zip(grid.price_shocks, grid.pnl)]
    return f"total P&L, price move x vol shift, {grid.days} days forward\n" + table_text(
        headers, rows, align_right_from=1
    )
