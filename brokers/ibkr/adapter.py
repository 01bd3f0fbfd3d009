"""`IbkrBroker`: the Broker protocol over ib_async (ib_insync's maintained continuation) against TWS / Gateway.

Connection, threading and faults: brokers.ibkr.session (one loop thread; a TWS that never answers ends after
`timeout`), brokers.ibkr.connectivity (TWS losing IB, 1100 / 1101 / 1102: writes wait up to `outage_wait`, reads
warn they may be stale), brokers.ibkr.history (pacing violations on historical bars: wait `pacing_wait`, retry).

Behaviour: stock contracts SMART/USD, whole shares only. Connection problems raise BrokerUnavailable and the
next call reconnects (the reconnect re-syncs open orders, completed orders and executions). IB has no client
order id, so ours travels in `order.orderRef` (a bracket's / OCO's legs get derived references,
brokers.ibkr.orders); `submit` looks every reference up among open and completed orders before placing, which
keeps it idempotent across retries, reconnects and restarts. Every order type and class (brokers.ibkr.orders
builds them; brokers.ibkr.placing sends and waits); `replace` is IB's modify (placeOrder again with the same
orderId). Paper port 7497 (TWS) by default; live needs `live=True` AND IVYBT_ALLOW_LIVE=1, and the live ports
are refused otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from brokers.base import (
    Account,
    BrokerCapabilities,
    BrokerConfigError,
    BrokerUnavailable,
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
from brokers.ibkr import history, options, placing
from brokers.ibkr.orders import build_orders, family_refs, ibkr_problem, modify_fields
from brokers.ibkr.session import IbSession
from brokers.ibkr.translate import bars_frame, fill_of, order_ack, order_status, relations, symbol_of, trade_id
from engine.orders.instruments import OptionQuote, option_of
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES

log = logging.getLogger(__name__)

PAPER_PORTS = (7497, 4002)  # TWS paper, IB Gateway paper
LIVE_PORTS = (7496, 4001)  # TWS live, IB Gateway live


class IbkrBroker(IbSession):
    """Interactive Brokers through ib_async (see module docstring).

    Args:
        host, port: TWS / IB Gateway API address (default 127.0.0.1:7497, TWS paper).
        client_id: API client id (one connection per id; use different ids for the app and the CLI).
        live: trade a live account; also needs IVYBT_ALLOW_LIVE=1.
        account: account code when the login manages several ("" = the only one).
        timeout: seconds to wait for TWS at each step (handshake, start-up sync, order acknowledgement, data).
        market_data_type: 1 live, 3 delayed (no subscription), for latest prices.
        outage_wait: seconds a submit / cancel / replace waits while TWS has lost IB (1100) before giving up.
        pacing_wait, pacing_retries: after a pacing violation on historical bars, wait this long and ask again,
            at most this many times.
    """

    name = "ibkr"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        client_id: int = 1,
        *,
        live: bool = False,
        account: str = "",
        timeout: float = 10.0,
        market_data_type: int = 1,
        outage_wait: float = 60.0,
        pacing_wait: float = 15.0,
        pacing_retries: int = 2,
    ) -> None:
        if live:
            require_live_opt_in("ibkr")
        port = int(port if port is not None else (7496 if live else 7497))
        if not live and port in LIVE_PORTS:
            raise BrokerConfigError(
                f"ibkr: port {port} is a live-trading port but live=False (paper ports: {PAPER_PORTS})"
            )
        if market_data_type not in (1, 2, 3, 4):
            raise BrokerConfigError(f"ibkr: market_data_type {market_data_type!r} must be 1, 2, 3 or 4")
        super().__init__(host, port, client_id, account, timeout, outage_wait, market_data_type)
        self.pacing = history.Pacing(pacing_wait, pacing_retries)
        self._live = bool(live)
        self.capabilities = BrokerCapabilities(
            fractional=False,
            shorting=True,
            order_types=ORDER_TYPES,
            live=self._live,
            min_notional=0.0,
            order_classes=ORDER_CLASSES,
            options=True,  # OPT contracts on SMART: simple market / limit orders (brokers.ibkr.options)
        )

    def __repr__(self) -> str:
        return f"IbkrBroker(host={self.host!r}, port={self.port}, client_id={self.client_id}, live={self._live})"

    @property
    def is_live(self) -> bool:
        return self._live

    # ------------------------------------------------------------------ contracts
    async def _contract(self, symbol: str) -> Any:
        if symbol not in self._contracts:
            option = option_of(symbol)
            c = self._mod.Stock(symbol, "SMART", "USD") if option is None else options.ib_option(self._mod, option)
            got = await asyncio.wait_for(self._ib.qualifyContractsAsync(c), self.timeout)
            self._require_connection("contract lookup")
            if not got or got[0] is None:
                kind = "stock" if option is None else "option"
                raise OrderRejected(f"ibkr: unknown contract {symbol} (no SMART/USD {kind} found, IB error 200)")
            self._contracts[symbol] = got[0]
        return self._contracts[symbol]

    # ------------------------------------------------------------------ reads
    def account(self) -> Account:
        """Net liquidation, total cash and buying power from TWS's account updates (base currency)."""

        async def run() -> Account:
            values = self._ib.accountValues(self.account_code)
            pick: dict[str, tuple[float, str]] = {}
            for v in values:
                if v.tag in ("NetLiquidation", "TotalCashValue", "BuyingPower") and v.currency not in ("",):
                    try:
                        val = float(v.value)
                    except ValueError:
                        continue
                    if v.tag not in pick or v.currency == "BASE":
                        pick[v.tag] = (val, v.currency)
            if "NetLiquidation" not in pick:
                raise BrokerUnavailable("ibkr account: TWS sent no account values yet")
            currency = pick["NetLiquidation"][1]
            return Account(
                equity=pick["NetLiquidation"][0],
                cash=pick.get("TotalCashValue", (0.0, ""))[0],
                buying_power=pick.get("BuyingPower", (0.0, ""))[0],
                currency="USD" if currency == "BASE" else currency,
                account_id=self.account_code,
                is_live=self._live,
            )

        return self._call(run, "account")

    def positions(self) -> list[Position]:
        """Stock and option positions; market value from TWS's portfolio updates (else quantity x average cost). An
        option's average cost is IB's per-contract figure over the multiplier (the per-share premium)."""

        async def run() -> list[Position]:
            values = {p.contract.conId: p.marketValue for p in self._ib.portfolio(self.account_code)}
            out = []
            for p in self._ib.positions(self.account_code):
                if p.contract.secType not in ("STK", "OPT") or not p.position:
                    continue
                mv = values.get(p.contract.conId, p.position * p.avgCost)
                option = options.contract_of(p.contract) if p.contract.secType == "OPT" else None
                avg = float(p.avgCost) / (option.multiplier if option is not None else 1)
                out.append(Position(symbol_of(p.contract), float(p.position), avg, float(mv), option))
            return sorted(out, key=lambda p: p.symbol)

        return self._call(run, "positions")

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Snapshot last price (else the previous close) per symbol, as the market data type allows."""
        symbols = list(dict.fromkeys(symbols))

        async def run() -> dict[str, float]:
            contracts = []
            for s in symbols:
                try:
                    contracts.append(await self._contract(s))
                except OrderRejected:
                    pass
            tickers = await asyncio.wait_for(self._ib.reqTickersAsync(*contracts), self.timeout) if contracts else []
            out: dict[str, float] = {}
            for t in tickers:
                price = t.last if t.last == t.last and t.last and t.last > 0 else t.close
                if price == price and price and price > 0:
                    out[symbol_of(t.contract)] = float(price)
            return out

        out = self._call(run, "latest prices") if symbols else {}
        missing = [s for s in symbols if s not in out]
        if missing:
            raise PriceUnavailable(f"ibkr: no latest price for {missing}")
        return out

    def historical_bars(
        self, symbol: str, duration: str = "30 Y", what_to_show: str = "ADJUSTED_LAST", use_rth: bool = True
    ) -> pd.DataFrame:
        """Daily bars (columns date, open, high, low, close, volume; one row per session) as TWS sends them."""

        async def run() -> pd.DataFrame:
            c = await self._contract(symbol)
            bars = await history.daily_bars(
                self._ib, self.link, c, (duration, what_to_show, use_rth), self.timeout * 3, self.pacing, what
            )
            self._require_connection("historical bars")
            return bars_frame(bars)

        what = f"historical bars {symbol}"
        return self._call(run, what, timeout=self.pacing.bound(self.timeout * 3))

    def option_chain(self, underlying: str, expiry: date | None = None) -> list[OptionQuote]:
        """Contracts of `expiry` (default: the nearest listed) with snapshot quotes and model Greeks
        (brokers.ibkr.options)."""

        async def run() -> list[OptionQuote]:
            stock = await self._contract(str(underlying).strip().upper())
            return await options.chain(self._ib, self._mod, stock, expiry, self.timeout)

        return self._call(run, f"option chain {underlying}", timeout=self.timeout * 4)

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        """IBKR API stock orders are whole shares: False for every symbol."""
        return {s: False for s in symbols}

    # ------------------------------------------------------------------ orders
    def _find_trade(self, ref: str) -> Any | None:
        return next((t for t in self._ib.trades() if t.order.orderRef == ref), None)

    async def _refresh(self) -> None:
        """Orders from other client ids or earlier sessions: ask TWS for the open and completed ones again."""
        await asyncio.wait_for(self._ib.reqAllOpenOrdersAsync(), self.timeout)
        await asyncio.wait_for(self._ib.reqCompletedOrdersAsync(False), self.timeout)

    async def _lookup(self, refs: list[str]) -> dict[str, Any]:
        """The trades TWS has for these orderRefs (asking TWS again when one is not known here)."""
        found = {r: t for r in refs if (t := self._find_trade(r)) is not None}
        if len(found) < len(refs):
            await self._refresh()
            found = {r: t for r in refs if (t := self._find_trade(r)) is not None}
        return found

    async def _open_target(self, order_id: str, verb: str) -> Any:
        """The working trade with this id (permId, as OrderStatus.id) or client_order_id (orderRef); OrderRejected
        naming the id when TWS has none or it is final."""
        for attempt in (0, 1):
            hits = [t for t in self._ib.trades() if order_id in (str(t.order.permId), t.order.orderRef)]
            if hits or attempt:
                break
            await self._refresh()
        if not hits:
            raise OrderRejected(f"ibkr: no order {order_id!r} to {verb}")
        if hits[-1].isDone():
            raise OrderRejected(f"ibkr: order {order_id!r} is {hits[-1].orderStatus.status}, not {verb}able")
        return hits[-1]

    def submit(self, order: OrderRequest) -> OrderAck:
        """Place `order` once (orderRef = client_order_id; a bracket / OCO as its family). Waits for TWS's answer.

        Raises OrderRejected (IB error, unknown contract, what IBKR cannot take: checked before sending),
        InsufficientFunds (IB's margin check), BrokerUnavailable (connection lost or no acknowledgement: retry,
        it looks every member up first and sends only what TWS does not have).
        """
        if not isinstance(order, OrderRequest):
            raise InvalidOrder(f"submit expects an OrderRequest, got {type(order).__name__}")
        check_supported(order, self.capabilities, "ibkr")  # before anything is sent
        why = ibkr_problem(order)
        if why:
            raise OrderRejected(f"ibkr: {why}; order {order.client_order_id} not sent")

        async def run() -> OrderAck:
            refs = family_refs(order)
            known = await self._lookup(refs)
            head = known.get(order.client_order_id)
            if len(known) == len(refs):
                return order_ack(head, duplicate=True)
            if head is None and known:
                raise OrderRejected(
                    f"ibkr: legs {sorted(known)} of order {order.client_order_id} exist at TWS without it; not sent"
                )
            contract = await self._contract(order.symbol)
            family = build_orders(self._mod, order, self._ib.client.getReqId, self.account_code)
            todo = [o for ref, o in family if ref not in known]
            for o in todo:  # a retry after a partial send: the missing legs join what TWS has
                if head is not None and o.parentId:
                    o.parentId = head.order.orderId
            todo[-1].transmit = True
            trades = await placing.place(self._ib, contract, todo, f"submit {order.client_order_id}", self.timeout)
            placing.raise_rejected(trades, order.client_order_id)
            return order_ack(head if head is not None else trades[0], duplicate=False)

        return self._call(run, "submit", write=f"order {order.client_order_id}")

    def order(self, client_order_id: str) -> OrderStatus | None:
        async def run() -> OrderStatus | None:
            t = (await self._lookup([client_order_id])).get(client_order_id)
            return order_status(t, relations(self._ib.trades())) if t is not None else None

        return self._call(run, "order")

    def orders(self, status: str = "open") -> list[OrderStatus]:
        """Orders this connection knows (placed here, or open/completed at connect), oldest first, with their
        bracket / OCO class, parent and legs."""
        check_order_query(status)

        async def run() -> list[OrderStatus]:
            trades = self._ib.trades()
            family = relations(trades)
            out = [order_status(t, family) for t in trades if t.contract.secType in ("STK", "OPT")]
            return [s for s in out if matches_query(s.status, status)]

        rows = self._call(run, "orders")
        return sorted(rows, key=lambda s: (s.submitted_at is None, s.submitted_at or datetime.min))

    def fills(self) -> list[Fill]:
        """Executions of this session (and of today, synced at connect), with IB's commissions."""

        async def run() -> list[Fill]:
            return sorted((fill_of(f) for f in self._ib.fills()), key=lambda f: f.timestamp)

        return self._call(run, "fills")

    def cancel(self, order_id: str) -> None:
        """Cancel by id (permId as given in OrderStatus.id) or client_order_id, with its open bracket / OCO legs
        (TWS cancels a parent's children; an OCO's other leg is cancelled here); waits for the confirmations."""

        async def run() -> None:
            target = await self._open_target(order_id, "cancel")
            trades, me = self._ib.trades(), trade_id(target)
            family = relations(trades)
            legs = [t for t in trades if family.get(id(t), ("", "", ()))[1] == me]
            await placing.cancel(self._ib, target, order_id, self.timeout, legs)

        self._call(run, "cancel", write=f"cancel of {order_id!r}")

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        """Modify a working order in place (IB: placeOrder with the same orderId); None leaves a value as is.

        `order_id` is OrderStatus.id (permId) or the client_order_id, which the order keeps. OrderRejected,
        before anything is sent, for an unknown or final order, one placed by another client id, or a value its
        type does not have; after sending, when TWS refuses the modify."""

        async def run() -> OrderAck:
            t = await self._open_target(order_id, "replace")
            if t.order.clientId != self.client_id or t.order.orderId <= 0:
                raise OrderRejected(
                    f"ibkr: order {order_id!r} was placed by client id {t.order.clientId}; IB lets only that "
                    f"client modify it (this is client id {self.client_id})"
                )
            changes = modify_fields(t.order, quantity, limit_price, stop_price, trail)
            await placing.modify(self._ib, t, changes, order_id, self.timeout)
            return order_ack(t, duplicate=False)

        return self._call(run, "replace", write=f"replace of {order_id!r}")
