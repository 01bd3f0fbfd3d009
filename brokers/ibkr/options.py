"""IBKR option contracts and the option chain, over ib_async (coroutines run on the session's loop).

An option is `Option(root, YYYYMMDD, strike, C|P, "SMART", multiplier, currency USD)` (secType OPT), qualified
through reqContractDetails like a stock. The chain: `reqSecDefOptParams(underlying, "", "STK", conId)` lists the
expirations (the SMART entry); the contracts of the asked expiry (default: the nearest one, as every contract
needs a market-data line) come from one reqContractDetails of an Option without strike and right (every listed
one: the strikes of reqSecDefOptParams are a union over expiries, not each expiry's), and are snapshot-quoted
with `reqTickers`: bid, ask, last and the model Greeks of TICK_OPTION_COMPUTATION (tick 13: implied vol, delta,
gamma, vega, theta, underlying price).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from brokers.base import BrokerError
from engine.options.occ import OptionContract
from engine.orders.instruments import OptionQuote


def ib_option(mod: Any, c: OptionContract) -> Any:
    """The ib_async Option of contract `c` (SMART, USD)."""
    right = "C" if c.right == "call" else "P"
    return mod.Option(
        c.underlying,
        f"{c.expiry:%Y%m%d}",
        float(c.strike),
        right,
        "SMART",
        str(c.multiplier),
        "USD",
        tradingClass=c.underlying,
    )


def contract_of(ib_contract: Any) -> OptionContract:
    """Our OptionContract of an ib_async OPT contract (root: its trading class, else its symbol)."""
    day = dt.datetime.strptime(str(ib_contract.lastTradeDateOrContractMonth)[:8], "%Y%m%d").date()
    mult = int(float(ib_contract.multiplier or 100))
    root = ib_contract.tradingClass or ib_contract.symbol
    return OptionContract(root, day, ib_contract.right, Decimal(str(ib_contract.strike)), mult)


def _value(x: Any) -> float | None:
    return float(x) if x is not None and x == x and abs(float(x)) < 1e300 else None


def _price(x: Any) -> float | None:
    v = _value(x)
    return v if v is not None and v > 0 else None


def quote_of(ticker: Any) -> OptionQuote:
    """A snapshot ticker of an option as a chain row (model Greeks where TWS computed them)."""
    g = ticker.modelGreeks
    return OptionQuote(
        contract=contract_of(ticker.contract),
        bid=_price(ticker.bid),
        ask=_price(ticker.ask),
        last=_price(ticker.last),
        implied_vol=_value(getattr(g, "impliedVol", None)),
        delta=_value(getattr(g, "delta", None)),
        gamma=_value(getattr(g, "gamma", None)),
        theta=_value(getattr(g, "theta", None)),
        vega=_value(getattr(g, "vega", None)),
        underlying_price=_value(getattr(g, "undPrice", None)),
    )


async def chain(ib: Any, mod: Any, stock: Any, expiry: dt.date | None, timeout: float) -> list[OptionQuote]:
    """The chain of the qualified stock contract `stock` (see module docstring), sorted by expiry, right, strike."""
    params = await asyncio.wait_for(ib.reqSecDefOptParamsAsync(stock.symbol, "", "STK", stock.conId), timeout)
    smart = [p for p in params if p.exchange == "SMART"] or list(params)
    if not smart:
        raise BrokerError(f"ibkr option chain: TWS lists no options for {stock.symbol}")
    p = smart[0]
    listed = sorted(p.expirations)
    if expiry is not None:
        days = [f"{expiry:%Y%m%d}"] if f"{expiry:%Y%m%d}" in listed else []
    else:
        days = listed[:1]
    if not days:
        return []
    qualified = []
    for day in days:  # one request per expiry: a contract with no strike and right lists every one listed
        probe = mod.Option(stock.symbol, day, exchange="SMART", currency="USD", tradingClass=p.tradingClass)
        details = await asyncio.wait_for(ib.reqContractDetailsAsync(probe), timeout)
        qualified += [d.contract for d in details if d.contract is not None]
    tickers = await asyncio.wait_for(ib.reqTickersAsync(*qualified), timeout) if qualified else []
    rows = [quote_of(t) for t in tickers]
    return sorted(rows, key=lambda q: (q.expiry, q.contract.right, q.contract.strike))
