"""`ivybt options price|iv|symbol`: one European option's price and Greeks, its implied vol, an OCC symbol read.

Conventions as in engine.options: rate, vol and dividend are annual decimals, --years in years; theta is per
calendar day (theta_per_year beside it), vega per vol point, rho per 1 % of rate.
"""

from __future__ import annotations

import argparse

from engine.cli.options import add_json
from engine.cli.output import print_json, safe, table_text
from engine.options import MODELS, OptionContract, greeks, implied_vol

GREEK_KEYS = ("price", "delta", "gamma", "theta", "vega", "rho", "theta_per_year")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("options", help="option price and Greeks (BSM, Black-76), implied vol, OCC symbols")
    osub = p.add_subparsers(dest="options_cmd", required=True, metavar="{price,iv,symbol}")
    q = osub.add_parser("price", help="price and Greeks of one European option")
    _add_contract(q)
    q.add_argument("--vol", type=float, required=True, help="volatility, annual decimal (0.2 = 20 %%)")
    add_json(q)
    q.set_defaults(func=price_command)
    q = osub.add_parser("iv", help="the implied volatility of a quoted option price")
    _add_contract(q)
    q.add_argument("--price", type=float, required=True, help="the option's quoted price")
    add_json(q)
    q.set_defaults(func=iv_command)
    q = osub.add_parser("symbol", help="read an OCC option symbol (padded or compact)")
    q.add_argument("symbol", help="e.g. 'SPY   261218C00600000' or SPY261218C00600000")
    add_json(q)
    q.set_defaults(func=symbol_command)


def _add_contract(p: argparse.ArgumentParser) -> None:
    p.add_argument("--type", choices=("call", "put"), required=True, help="call or put")
    p.add_argument("--spot", type=float, required=True, help="spot price (the futures price with --model black76)")
    p.add_argument("--strike", type=float, required=True)
    p.add_argument("--rate", type=float, required=True, help="risk-free rate, annual decimal, continuous")
    p.add_argument("--years", type=float, required=True, help="time to expiry in years (days / 365)")
    p.add_argument("--dividend", type=float, default=0.0, help="dividend yield, annual decimal (default 0)")
    p.add_argument("--model", choices=MODELS, default="bsm", help="bsm (spot, dividend yield) or black76 (futures)")


def _contract(args: argparse.Namespace) -> dict:
    return {
        "type": args.type,
        "model": args.model,
        "spot": args.spot,
        "strike": args.strike,
        "rate": args.rate,
        "dividend": args.dividend,
        "years": args.years,
    }


def price_command(args: argparse.Namespace) -> int:
    g = greeks(args.type, args.spot, args.strike, args.years, args.rate, args.vol, args.dividend, args.model).row()
    if args.json:
        print_json({**g, **_contract(args), "vol": args.vol})
        return 0
    print(f"{args.type} {args.model}: spot {args.spot:g} strike {args.strike:g} vol {args.vol:g} years {args.years:g}")
    rows = [[k, f"{g[k]:.6f}"] for k in GREEK_KEYS]
    print(table_text(["", "value"], rows, align_right_from=1))
    print("theta per calendar day, vega per vol point (0.01), rho per 1 % of rate")
    return 0


def iv_command(args: argparse.Namespace) -> int:
    vol = float(
        implied_vol(args.price, args.type, args.spot, args.strike, args.years, args.rate, args.dividend, args.model)
    )
    if args.json:
        print_json({"implied_vol": vol, "price": args.price, **_contract(args)})
    else:
        print(f"implied vol {vol:.6f} ({vol * 100:.4f} %)")
    return 0


def symbol_command(args: argparse.Namespace) -> int:
    c = OptionContract.parse(args.symbol)
    out = {
        "underlying": c.underlying,
        "expiry": c.expiry.isoformat(),
        "right": c.right,
        "strike": float(c.strike),
        "multiplier": c.multiplier,
        "occ": c.occ_symbol(),
        "compact": c.compact_symbol(),
    }
    if args.json:
        print_json(out)
    else:
        print("\n".join(f"{k}: {safe(v)}" for k, v in out.items()))
    return 0
