"""Options on the fake Alpaca service (a mixin of FakeAlpacaServer), as alpaca-py 0.44 reads them.

* ``add_option(symbol, bid, ask, last, iv, greeks, open_interest)`` lists a contract (compact OCC symbol); its last
  trade is the price orders fill at (the contract's size is 100).
* ``GET /v2/options/contracts`` (trading API): ``{"option_contracts": [...], "next_page_token"}`` with id, symbol,
  name, status, tradable, expiration_date, root_symbol, underlying_symbol, underlying_asset_id, type, style,
  strike_price, size, open_interest (filters underlying_symbols, expiration_date; ``contracts_page_size`` per page).
* ``GET /v1beta1/options/trades/latest?symbols=...`` (data API): ``{"trades": {SYMBOL: {t, x, p, s, c}}}``.
* ``GET /v1beta1/options/snapshots/{underlying}`` (data API): ``{"snapshots": {SYMBOL: {latestQuote, latestTrade,
  impliedVolatility, greeks}}, "next_page_token": null}``.
* Option orders go through ``POST /v2/orders`` with the OCC symbol; Alpaca's rules for them: simple market or limit
  orders, time_in_force day, whole contracts (else 422). Positions and orders of an option carry asset_class
  us_option and move cash by price x qty x 100.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from engine.options.occ import OptionContract
from tests.brokers.alpaca.alpaca_orders import CONTRACT_SIZE, Refused


class OptionDesk:
    """Mixin of FakeAlpacaServer: `prices`, `asset_ids` live on the server."""

    prices: dict[str, float]
    asset_ids: dict[str, str]
    option_quotes: dict[str, dict[str, Any]]
    contracts_page_size: int
    option_queries: list[dict[str, str]]

    def init_options(self) -> None:
        self.option_quotes = {}
        self.contracts_page_size = 2
        self.option_queries = []  # query of each GET /v2/options/contracts

    def add_option(
        self,
        symbol: str,
        bid: float,
        ask: float,
        last: float,
        iv: float | None = None,
        greeks: dict[str, float] | None = None,
        open_interest: int = 0,
    ) -> None:
        c = OptionContract.parse(symbol)
        self.option_quotes[c.compact_symbol()] = {
            "bid": bid, "ask": ask, "iv": iv, "greeks": greeks, "oi": open_interest, "contract": c,
        }  # fmt: skip
        self.prices[c.compact_symbol()] = float(last)

    def option_route(self, method: str, path: str, q: dict[str, str]) -> tuple[int, Any] | None:
        if method == "GET" and path == "/v2/options/contracts":
            self.option_queries.append(q)
            return 200, self._contracts(q)
        if method == "GET" and path == "/v1beta1/options/trades/latest":
            stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            syms = [s for s in q.get("symbols", "").split(",") if s in self.option_quotes]
            return 200, {"trades": {s: {"t": stamp, "x": "C", "p": self.prices[s], "s": 1, "c": "I"} for s in syms}}
        if method == "GET" and path.startswith("/v1beta1/options/snapshots/"):
            return 200, self._snapshots(path.rsplit("/", 1)[-1], q)
        return None

    def _listed(self, underlying: str, expiry: str | None) -> list[tuple[str, dict[str, Any]]]:
        return [
            (s, o)
            for s, o in sorted(self.option_quotes.items())
            if o["contract"].underlying == underlying and (not expiry or o["contract"].expiry.isoformat() == expiry)
        ]

    def _contracts(self, q: dict[str, str]) -> dict[str, Any]:
        rows = [
            r
            for u in q.get("underlying_symbols", "").split(",")
            if u
            for r in self._listed(u, q.get("expiration_date"))
        ]
        offset = int(q.get("page_token") or 0)
        page = rows[offset : offset + self.contracts_page_size]
        nxt = offset + self.contracts_page_size
        return {
            "option_contracts": [self._contract_json(s, o) for s, o in page],
            "next_page_token": str(nxt) if nxt < len(rows) else None,
        }

    def _contract_json(self, symbol: str, o: dict[str, Any]) -> dict[str, Any]:
        c: OptionContract = o["contract"]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "name": f"{c.underlying} {c.expiry:%b %d %Y} {c.strike} {c.right.title()}",
            "status": "active",
            "tradable": True,
            "expiration_date": c.expiry.isoformat(),
            "root_symbol": c.underlying,
            "underlying_symbol": c.underlying,
            "underlying_asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, c.underlying)),
            "type": c.right,
            "style": "american",
            "strike_price": str(c.strike),
            "size": str(CONTRACT_SIZE),
            "open_interest": str(o["oi"]),
            "open_interest_date": c.expiry.isoformat(),
            "close_price": str(self.prices[symbol]),
            "close_price_date": c.expiry.isoformat(),
        }

    def _snapshots(self, underlying: str, q: dict[str, str]) -> dict[str, Any]:
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        out: dict[str, Any] = {}
        for s, o in self._listed(underlying, q.get("expiration_date")):
            snap: dict[str, Any] = {
                "latestQuote": {
                    "t": stamp,
                    "ax": "C",
                    "ap": o["ask"],
                    "as": 10,
                    "bx": "C",
                    "bp": o["bid"],
                    "bs": 10,
                    "c": "A",
                },
                "latestTrade": {"t": stamp, "x": "C", "p": self.prices[s], "s": 1, "c": "I"},
            }
            if o["iv"] is not None:
                snap["impliedVolatility"] = o["iv"]
            if o["greeks"] is not None:
                snap["greeks"] = o["greeks"]
            out[s] = snap
        return {"snapshots": out, "next_page_token": None}

    @staticmethod
    def check_option_order(body: dict[str, Any], qty: float) -> None:
        """Alpaca's rules for an option order (see module docstring), or Refused."""
        if (body.get("order_class") or "simple") != "simple":
            raise Refused(422, "complex orders are not supported for options", 42210000)
        if body["type"] not in ("market", "limit"):
            raise Refused(422, f"order type {body['type']} is not supported for options", 42210000)
        if body["time_in_force"] != "day":
            raise Refused(422, "options orders must be day orders", 42210000)
        if qty != int(qty):
            raise Refused(422, "qty must be integer for options", 40010001)
