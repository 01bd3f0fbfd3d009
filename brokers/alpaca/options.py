"""Alpaca's option chain: the contract list of the trading API joined with the quotes, IV and Greeks of the data API.

Contracts: `GET /v2/options/contracts?underlying_symbols=...` (alpaca-py `TradingClient.get_option_contracts`,
paginated by `next_page_token`): symbol, type, strike, expiration, style, size (the multiplier), open interest.
Latest prices: `GET /v1beta1/options/trades/latest` (`get_option_latest_trade`). Market data:
`GET /v1beta1/options/snapshots/{underlying}` (`OptionHistoricalDataClient.get_option_chain`):
latestQuote (bid/ask), latestTrade, impliedVolatility and greeks per contract symbol. A contract without a snapshot
is listed with its quote fields None.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionChainRequest, OptionLatestTradeRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.models import OptionContract as AlpacaContract
from alpaca.trading.models import OptionContractsResponse
from alpaca.trading.requests import GetOptionContractsRequest

from brokers.alpaca.faults import read
from brokers.alpaca.translate import expect, number, raw_value
from engine.options.occ import OptionContract
from engine.orders.instruments import OptionQuote

MAX_PAGES = 50


def contracts(trading: TradingClient, underlying: str, expiry: dt.date | None) -> list[AlpacaContract]:
    """Every active contract of `underlying` (of `expiry` when given), all pages."""
    out: list[AlpacaContract] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        req = GetOptionContractsRequest(
            underlying_symbols=[underlying], expiration_date=expiry, limit=1000, page_token=token
        )
        page = expect(
            read(partial(trading.get_option_contracts, req), "option contracts"),
            OptionContractsResponse,
            "option contracts",
        )
        out += page.option_contracts or []
        token = page.next_page_token
        if not token:
            break
    return out


def snapshots(data: OptionHistoricalDataClient, underlying: str, expiry: dt.date | None) -> dict[str, Any]:
    """OptionsSnapshot per contract symbol (alpaca-py follows the pages itself)."""
    req = OptionChainRequest(underlying_symbol=underlying, expiration_date=expiry)
    got = read(lambda: data.get_option_chain(req), "option chain")
    return dict(got) if isinstance(got, dict) else {}


def latest_option_trades(data: OptionHistoricalDataClient, symbols: list[str]) -> dict[str, float]:
    """Latest trade price per option symbol (GET /v1beta1/options/trades/latest); symbols without one left out."""
    if not symbols:
        return {}
    req = OptionLatestTradeRequest(symbol_or_symbols=symbols)
    trades = read(lambda: data.get_option_latest_trade(req), "latest option prices")
    return {s: float(trades[s].price) for s in symbols if isinstance(trades, dict) and s in trades and trades[s].price}


def _float(value: Any) -> float | None:
    return float(value) if value is not None and value == value else None


def quote_of(c: AlpacaContract, snap: Any) -> OptionQuote:
    """One chain row: the contract (multiplier = its size) and what the snapshot says."""
    contract = OptionContract(
        c.root_symbol or c.underlying_symbol,
        c.expiration_date,
        "call" if raw_value(c.type) == "call" else "put",
        Decimal(str(c.strike_price)),
        int(number(c.size, 100)),
    )
    quote = getattr(snap, "latest_quote", None)
    trade = getattr(snap, "latest_trade", None)
    g = getattr(snap, "greeks", None)
    return OptionQuote(
        contract=contract,
        bid=_float(getattr(quote, "bid_price", None)),
        ask=_float(getattr(quote, "ask_price", None)),
        last=_float(getattr(trade, "price", None)),
        implied_vol=_float(getattr(snap, "implied_volatility", None)),
        delta=_float(getattr(g, "delta", None)),
        gamma=_float(getattr(g, "gamma", None)),
        theta=_float(getattr(g, "theta", None)),
        vega=_float(getattr(g, "vega", None)),
        open_interest=_float(c.open_interest),
        style=raw_value(c.style) or "",
    )


def option_chain(
    trading: TradingClient, data: OptionHistoricalDataClient, underlying: str, expiry: dt.date | None = None
) -> list[OptionQuote]:
    """The chain of `underlying` (see module docstring), sorted by expiry, right, strike."""
    symbol = str(underlying).strip().upper()
    listed = contracts(trading, symbol, expiry)
    snaps = snapshots(data, symbol, expiry) if listed else {}
    rows = [quote_of(c, snaps.get(c.symbol)) for c in listed]
    return sorted(rows, key=lambda q: (q.expiry, q.contract.right, q.contract.strike))
