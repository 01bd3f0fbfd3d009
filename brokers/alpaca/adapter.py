"""`AlpacaBroker`: the Broker protocol over alpaca-py (`TradingClient` + `StockHistoricalDataClient`).

Paper endpoint unless live is configured explicitly (`live=True` AND IVYBT_ALLOW_LIVE=1). Keys come from the
arguments or the environment (ALPACA_API_KEY / ALPACA_SECRET_KEY, else APCA_API_KEY_ID / APCA_API_SECRET_KEY)
and are handed to the SDK only: never stored on this object, logged or put in an error message.

SDK errors are translated at this boundary (brokers.alpaca.translate); Alpaca's own order rules and the request
objects are in brokers.alpaca.orders. `submit` and `replace` are idempotent on client_order_id: each looks the
id up first, and a 422 "client_order_id must be unique" (the first attempt did arrive) returns the existing order.
What is retried here (429 after its Retry-After, 5xx, malformed answers) and how a write whose answer was lost is
resolved (its client_order_id looked up before anything is resent) is brokers.alpaca.faults; the HTTP transport
(timeout, alpaca-py's own retry off) is brokers.alpaca.http.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockLatestTradeRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Asset, Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import GetOrderByIdRequest, GetOrdersRequest, GetPortfolioHistoryRequest

from brokers.alpaca.faults import call, read, resolve, write
from brokers.alpaca.http import configure
from brokers.alpaca.options import latest_option_trades, option_chain
from brokers.alpaca.orders import (
    alpaca_problem,
    build_request,
    carries_changes,
    is_whole,
    replace_changes,
    replace_problem,
    replace_request,
    replacement_client_order_id,
    send_quantity,
)
from brokers.alpaca.settings import DEFAULT_TIMEOUT, clean_url, credentials
from brokers.alpaca.translate import (
    QUERY_TO_ALPACA,
    expect,
    expect_list,
    flatten,
    history_points,
    number,
    order_ack,
    order_status,
    raw_value,
    translate_errors,
)
from brokers.base import (
    Account,
    BrokerCapabilities,
    BrokerConfigError,
    BrokerError,
    Fill,
    InvalidOrder,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    Position,
    PriceUnavailable,
    check_order_query,
    check_supported,
    matches_query,
    require_live_opt_in,
)
from engine.orders.instruments import OptionQuote, option_of
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES

LIVE_TRADING_HOST = "api.alpaca.markets"
HISTORY_PERIOD = re.compile(r"[1-9][0-9]*[DWMA]")  # number + unit: day, week, month, year ("A")
HISTORY_TIMEFRAMES: tuple[str, ...] = ("1Min", "5Min", "15Min", "1H", "1D")


class AlpacaBroker:
    """Alpaca through alpaca-py. Paper by default; fractional quantities where the asset allows them; every order
    type and class of engine.orders.rules within Alpaca's own rules (brokers.alpaca.orders); replace in place.

    Args:
        api_key, secret_key: default from the environment (see module docstring).
        live: trade the live account; also needs IVYBT_ALLOW_LIVE=1.
        base_url, data_url: endpoint overrides (tests, proxies); "/v2" is added by the SDK.
        feed: market-data feed for latest prices ("iex" for free accounts, "sip" with a subscription).
        timeout: seconds per HTTP request (IVYBT_ALPACA_TIMEOUT through the registry; default 10); a request
            without an answer by then is a BrokerUnavailable naming the endpoint and the timeout.
    """

    name = "alpaca"

    def __init__(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        *,
        live: bool = False,
        base_url: str | None = None,
        data_url: str | None = None,
        feed: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if live:
            require_live_opt_in("alpaca")
        base_url, data_url = clean_url(base_url, "base_url"), clean_url(data_url, "data_url")
        if not live and base_url and LIVE_TRADING_HOST in base_url and "paper-api" not in base_url:
            raise BrokerConfigError(f"alpaca: base_url {base_url!r} is the live endpoint but live=False")
        key, secret = credentials(api_key, secret_key)
        self._live = bool(live)
        self._endpoint = base_url or ("live" if live else "paper")
        self._trading = TradingClient(key, secret, paper=not live, url_override=base_url)
        self._data = StockHistoricalDataClient(key, secret, url_override=data_url)
        self._options = OptionHistoricalDataClient(key, secret, url_override=data_url)
        for client in (self._trading, self._data, self._options):
            configure(client, timeout)
        self.feed = feed
        self._fractionable: dict[str, bool] = {}
        self.capabilities = BrokerCapabilities(
            fractional=True,
            shorting=True,
            order_types=ORDER_TYPES,
            live=self._live,
            min_notional=1.0,
            order_classes=ORDER_CLASSES,
            fractional_protective=False,  # brackets, OCO, stops and trailing stops take whole shares only
            options=True,  # simple market / limit day orders on an OCC symbol (asset class us_option)
            option_time_in_force=("day",),
        )

    def __repr__(self) -> str:  # no keys, ever
        return f"AlpacaBroker(endpoint={self._endpoint!r}, live={self._live})"

    @property
    def is_live(self) -> bool:
        return self._live

    def close(self) -> None:
        for client in (self._trading, self._data, self._options):
            session = getattr(client, "_session", None)
            if isinstance(session, requests.Session):
                session.close()

    # ------------------------------------------------------------------ reads
    def account(self) -> Account:
        a = expect(read(self._trading.get_account, "account"), TradeAccount, "account")
        equity = number(a.equity, number(a.portfolio_value))
        return Account(
            equity=equity,
            cash=number(a.cash),
            buying_power=number(a.buying_power),
            currency=a.currency or "USD",
            account_id=a.account_number,
            is_live=self._live,
        )

    def positions(self) -> list[Position]:
        rows = expect_list(read(self._trading.get_all_positions, "positions"), AlpacaPosition, "positions")
        out = []
        for p in rows:
            qty = number(p.qty)
            if getattr(p.side, "value", p.side) == "short" and qty > 0:
                qty = -qty
            option = option_of(p.symbol) if raw_value(p.asset_class) == "us_option" else None
            mult = option.multiplier if option is not None else 1
            mv = number(p.market_value, qty * number(p.current_price) * mult)
            out.append(Position(p.symbol, qty, number(p.avg_entry_price), mv, option))
        return sorted(out, key=lambda p: p.symbol)

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Price of the latest trade per symbol (feed as configured; an OCC symbol: its option's latest trade)."""
        symbols = list(dict.fromkeys(symbols))
        if not symbols:
            return {}
        stocks = [s for s in symbols if option_of(s) is None]
        out = latest_option_trades(self._options, [s for s in symbols if s not in stocks])
        if stocks:
            req = StockLatestTradeRequest(symbol_or_symbols=stocks, feed=self.feed)
            trades = read(lambda: self._data.get_stock_latest_trade(req), "latest prices")
            out |= {s: float(trades[s].price) for s in stocks if s in trades and trades[s].price}
        missing = [s for s in symbols if s not in out]
        if missing:
            raise PriceUnavailable(f"alpaca: no latest trade for {missing}")
        return out

    def option_chain(self, underlying: str, expiry: date | None = None) -> list[OptionQuote]:
        """Listed contracts of `underlying` with quotes, IV and Greeks (brokers.alpaca.options)."""
        return option_chain(self._trading, self._options, underlying, expiry)

    def market_open(self) -> bool:
        """True while the US equity market is open (Alpaca's clock)."""
        return bool(expect(read(self._trading.get_clock, "clock"), Clock, "clock").is_open)

    def portfolio_history(self, period: str = "1A", timeframe: str = "1D") -> list[tuple[datetime, float]]:
        """The account's equity over `period` ("1A" = a year; D/W/M/A units) at `timeframe` resolution, as
        (UTC timestamp, equity) pairs, oldest first; points without equity (before funding) are skipped.

        Sent with alpaca-py's GetPortfolioHistoryRequest through the client's own REST `get` (same session,
        keys and retries) and parsed here: the SDK's PortfolioHistory model refuses the null points Alpaca
        sends for days without equity.
        """
        if not isinstance(period, str) or not HISTORY_PERIOD.fullmatch(period):
            raise BrokerConfigError(
                f"alpaca portfolio_history: period {period!r} must be a number + D/W/M/A, e.g. '1A'"
            )
        if timeframe not in HISTORY_TIMEFRAMES:
            raise BrokerConfigError(
                f"alpaca portfolio_history: timeframe {timeframe!r} is not one of {HISTORY_TIMEFRAMES}"
            )
        fields = GetPortfolioHistoryRequest(period=period, timeframe=timeframe).to_request_fields()
        return history_points(
            read(lambda: self._trading.get("/account/portfolio/history", fields), "portfolio history")
        )

    def order(self, client_order_id: str) -> OrderStatus | None:
        o = self._lookup(client_order_id)
        return order_status(o) if o is not None else None

    def orders(self, status: str = "open") -> list[OrderStatus]:
        """Up to 500 most recent orders in the given state, oldest first; bracket / OCO legs flattened (the parent
        lists its legs, each leg names its parent).

        Alpaca does not document how its status filter treats a nested group, so for "open" the flat list of open
        orders is read too: an open leg of a closed parent (a filled entry) is never missed (named without its
        parent if the nested answer left it out).
        """
        check_order_query(status)
        nested = GetOrdersRequest(status=QUERY_TO_ALPACA[status], limit=500, nested=True)
        rows = flatten(expect_list(read(lambda: self._trading.get_orders(nested), "orders"), Order, "orders"))
        if status == "open":
            plain = GetOrdersRequest(status=QUERY_TO_ALPACA[status], limit=500)
            flat = read(lambda: self._trading.get_orders(plain), "orders")
            seen = {r.id for r in rows}
            rows += [order_status(o) for o in expect_list(flat, Order, "orders") if str(o.id) not in seen]
        rows = [r for r in rows if matches_query(r.status, status)]
        return sorted(rows, key=lambda s: (s.submitted_at is None, s.submitted_at))

    def fills(self) -> list[Fill]:
        """One aggregate fill per (partially) filled recent order: Alpaca charges no commission on stocks."""
        query = GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=False)
        rows = expect_list(read(lambda: self._trading.get_orders(query), "fills"), Order, "fills")
        out = []
        for o in rows:
            s = order_status(o)
            if s.filled_quantity > 0 and s.avg_fill_price:
                out.append(
                    Fill(
                        id=s.id,
                        order_id=s.id,
                        client_order_id=s.client_order_id,
                        symbol=s.symbol,
                        side=s.side,
                        quantity=s.filled_quantity,
                        price=s.avg_fill_price,
                        commission=0.0,
                        timestamp=o.filled_at or o.updated_at,
                    )
                )
        return sorted(out, key=lambda f: f.timestamp)

    def _lookup(self, client_order_id: str, via: Callable[[Callable[[], Any], str], Any] = read) -> Order | None:
        """The order with `client_order_id`, None on a 404 (`via`: faults.read, retried, or faults.call, once)."""
        try:
            found = via(lambda: self._trading.get_order_by_client_id(client_order_id), "order lookup")
            return expect(found, Order, "order lookup")
        except BrokerError as e:
            if isinstance(e.__cause__, APIError) and e.__cause__.status_code == 404:
                return None
            raise

    # ------------------------------------------------------------------ writes
    def _is_fractionable(self, symbol: str) -> bool:
        if symbol not in self._fractionable:
            asset = expect(read(lambda: self._trading.get_asset(symbol), "asset"), Asset, "asset")
            self._fractionable[symbol] = bool(asset.fractionable)
        return self._fractionable[symbol]

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        """Per symbol, the asset's `fractionable` flag (GET /v2/assets/{symbol}, cached per broker object)."""
        return {s: self._is_fractionable(s) for s in dict.fromkeys(symbols)}

    def submit(self, order: OrderRequest) -> OrderAck:
        """Send `order` once (see module docstring). What Alpaca refuses (brokers.alpaca.orders.alpaca_problem, a
        fractional quantity of a non-fractionable asset) is refused before anything is sent; quantities are sent
        rounded to 9 decimals (Alpaca's precision)."""
        if not isinstance(order, OrderRequest):
            raise InvalidOrder(f"submit expects an OrderRequest, got {type(order).__name__}")
        check_supported(order, self.capabilities, "alpaca")  # before anything is sent
        why = alpaca_problem(order)
        if why:
            raise OrderRejected(f"alpaca: {why}; order {order.client_order_id} not sent")
        with translate_errors("submit"):
            request = build_request(order)

        def whole_unless_fractionable() -> None:
            qty = send_quantity(order.quantity)
            if not is_whole(qty) and not self._is_fractionable(order.symbol):
                raise OrderRejected(
                    f"alpaca: {order.symbol} is not fractionable; quantity {qty} must be whole; "
                    f"order {order.client_order_id} not sent"
                )

        return self._place(
            lambda: self._trading.submit_order(request), order.client_order_id, "submit", whole_unless_fractionable
        )

    def _place(
        self, send: Callable[[], Any], client_order_id: str, action: str, check: Callable[[], None] | None = None
    ) -> OrderAck:
        """One write of the order `client_order_id`, repeated per brokers.alpaca.faults: look the id up (found: its
        ack, duplicate=True, nothing sent), `check`, send; a 422 "client_order_id must be unique" or an ambiguous
        failure (faults.resolve) returns the order the service has."""

        def once() -> OrderAck:
            existing = self._lookup(client_order_id, call)
            if existing is not None:
                return order_ack(existing, duplicate=True)
            if check is not None:
                check()
            try:
                placed = expect(call(send, action), Order, action)
            except OrderRejected as e:
                existing = self._duplicate(e, client_order_id)
                if existing is None:
                    raise
                return order_ack(existing, duplicate=True)
            except BrokerError as e:
                placed = resolve(e, lambda: self._lookup(client_order_id, call), client_order_id)
            return order_ack(placed, duplicate=False)

        return write(once)

    def _duplicate(self, error: OrderRejected, client_order_id: str) -> Order | None:
        """After a refused send: the order with `client_order_id` if the refusal was Alpaca's "client_order_id
        must be unique" (an earlier attempt did arrive), else None."""
        cause = error.__cause__
        if isinstance(cause, APIError) and cause.status_code == 422 and "client_order_id" in str(cause):
            return self._lookup(client_order_id)
        return None

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        """Modify a resting order (None = unchanged; `trail` in the order's own unit, percent or currency).

        Alpaca replaces by creating a NEW order (PATCH /v2/orders/{id}); its ack is returned. The new order gets
        the deterministic client_order_id `replacement_client_order_id(old)`, so a retried replace sends nothing
        twice: an order already replaced with these values, or an existing replacement id, returns that order
        (duplicate=True). What Alpaca cannot replace is refused before sending (OrderRejected naming the order).
        """
        changes = replace_changes(quantity, limit_price, stop_price, trail)
        action = f"replace {order_id}"
        if not changes:
            raise InvalidOrder(f"alpaca {action}: nothing to change (give quantity, limit_price, stop_price or trail)")
        current = self._order_by_id(order_id, action)
        if raw_value(current.status) == "replaced" and current.replaced_by is not None:
            done = self._order_by_id(str(current.replaced_by), action)
            if carries_changes(done, changes):
                return order_ack(done, duplicate=True)
            raise OrderRejected(
                f"alpaca {action}: already replaced by order {done.id} ({done.client_order_id}); replace that one"
            )
        why = replace_problem(current, changes)
        if why:
            raise OrderRejected(f"alpaca {action}: {why}; nothing sent")
        new_id = replacement_client_order_id(current.client_order_id)
        request = replace_request(changes, new_id)
        return self._place(lambda: self._trading.replace_order_by_id(order_id, request), new_id, action)

    def _order_by_id(self, order_id: str, action: str) -> Order:
        """GET /v2/orders/{id} with its legs; an unknown id is an OrderRejected naming it."""
        try:
            found = read(lambda: self._trading.get_order_by_id(order_id, GetOrderByIdRequest(nested=True)), action)
        except ValueError as e:  # alpaca-py validates the UUID before sending
            raise OrderRejected(f"alpaca {action}: {order_id!r} is not an Alpaca order id") from e
        return expect(found, Order, action)

    def cancel(self, order_id: str) -> None:
        """Cancel by Alpaca order id (a UUID). A final or unknown order raises OrderRejected."""
        try:
            with translate_errors("cancel"):
                self._trading.cancel_order_by_id(order_id)
        except ValueError as e:  # alpaca-py validates the UUID before sending
            raise OrderRejected(f"alpaca cancel: {order_id!r} is not an Alpaca order id") from e
