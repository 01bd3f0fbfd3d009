"""Options on the fake TWS (a mixin of FakeTwsServer), as ib_async 2.1 reads them at server version 176.

* ``add_option(symbol, bid, ask, last, greeks)`` lists an option (OCC symbol; SMART, USD, multiplier 100) whose
  fake key is its compact OCC symbol; ``greeks`` = iv, delta, gamma, vega, theta, price (the model's values).
* reqContractDetails of an OPT contract -> contractDetails with the option's fields (error 200 if not listed); one
  without strike or right lists every contract of its underlying and expiry.
* reqSecDefOptParams (78) -> securityDefinitionOptionParameter (75: SMART, the underlying's conId, trading class,
  multiplier, expirations, strikes) + its end (76); ``chain_requests`` counts them.
* snapshot reqMktData of an option -> BID, ASK, LAST, CLOSE ticks, then TICK_OPTION_COMPUTATION (21, tick 13:
  model Greeks with the underlying's last price), then tickSnapshotEnd.
* orders, executions and positions of an option move cash by price x quantity x 100; its position's average cost
  is per contract (price x 100 + commission / contracts), as IB reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.options.occ import OptionContract, is_occ_symbol
from tests.brokers.ibkr.tws_messages import option_computation, option_details, option_parameters

BID, ASK, LAST, CLOSE = 1, 2, 4, 9


class OptionDesk:
    """Mixin of FakeTwsServer: `con_ids`, `prices`, `_send` live on the server."""

    con_ids: dict[str, int]
    prices: dict[str, float]
    _send: Callable[..., None]
    options: dict[str, dict[str, Any]]
    chain_requests: int

    def init_options(self) -> None:
        self.options = {}
        self.chain_requests = 0

    def add_option(self, symbol: str, bid: float, ask: float, last: float, greeks: dict[str, float]) -> None:
        c = OptionContract.parse(symbol)
        key = c.compact_symbol()
        self.con_ids[key] = 50_000 + len(self.options)
        self.prices[key] = float(last)
        self.options[key] = {"contract": c, "bid": bid, "ask": ask, "greeks": greeks}

    def option_contract(self, key: str) -> list[Any]:
        """The contract list of `FakeTwsServer._contract` for an option: expiry, strike, right, multiplier 100,
        localSymbol the padded OCC symbol, tradingClass the root."""
        c: OptionContract = self.options[key]["contract"]
        right = "C" if c.right == "call" else "P"
        expiry = f"{c.expiry:%Y%m%d}"
        return [
            self.con_ids[key],
            c.underlying,
            "OPT",
            expiry,
            float(c.strike),
            right,
            "100",
            "SMART",
            "USD",
            c.occ_symbol(),
            c.underlying,
        ]

    def option_details(self, conn: dict, req: int, key: str) -> None:
        under = self.con_ids.get(self.options[key]["contract"].underlying, 0)
        self._send(conn, *option_details(req, self.option_contract(key), under))
        self._send(conn, 52, 1, req)

    def option_listing(self, conn: dict, req: int, underlying: str, expiry: str) -> None:
        """reqContractDetails of an OPT contract without strike or right: details of every listed contract of that
        underlying (and expiry, when given), then the end; error 200 when none is listed."""
        keys = [
            k
            for k, o in sorted(self.options.items())
            if o["contract"].underlying == underlying and (not expiry or f"{o['contract'].expiry:%Y%m%d}" == expiry)
        ]
        if not keys:
            self._send(conn, 4, 2, req, 200, "No security definition has been found for the request", "")
            return
        under = self.con_ids.get(underlying, 0)
        for k in keys:
            self._send(conn, *option_details(req, self.option_contract(k), under))
        self._send(conn, 52, 1, req)

    def option_snapshot(self, conn: dict, req: int, key: str) -> None:
        o = self.options[key]
        und = self.prices.get(o["contract"].underlying, 0.0)
        self._send(conn, 58, 1, req, 1)
        self._send(conn, 1, 6, req, BID, o["bid"], 10, 0)
        self._send(conn, 1, 6, req, ASK, o["ask"], 10, 0)
        self._send(conn, 1, 6, req, LAST, self.prices[key], 1, 0)
        self._send(conn, 1, 6, req, CLOSE, self.prices[key], 0, 0)
        self._send(conn, *option_computation(req, o["greeks"], und))
        self._send(conn, 57, 1, req)

    def option_parameters(self, conn: dict, req: int, underlying: str) -> None:
        self.chain_requests += 1
        listed = [o["contract"] for o in self.options.values() if o["contract"].underlying == underlying]
        if listed:
            expirations = sorted({f"{c.expiry:%Y%m%d}" for c in listed})
            strikes = sorted({float(c.strike) for c in listed})
            self._send(conn, *option_parameters(req, self.con_ids.get(underlying, 0), underlying, expirations, strikes))
        self._send(conn, 76, req)

    def is_option(self, key: str) -> bool:
        return is_occ_symbol(key) and key in self.options
