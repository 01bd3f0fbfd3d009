"""`FakeAlpacaServer`: a small Alpaca REST service on 127.0.0.1 for driving the REAL alpaca-py client.

It speaks the wire format of BROKER-TESTING.md (money and quantities as strings, upper-case account status,
strict enums) for the trading endpoints (/v2/account, /v2/positions, /v2/orders, /v2/clock, /v2/assets) and
the market-data endpoints (/v2/stocks/trades/latest, /v2/stocks/bars, paginated). Behaviour knobs:

* ``reject[symbol] = message``: POST /v2/orders (and PATCH /v2/orders/{id}) for that symbol answers 422 with
  the message.
* ``partial[symbol] = fraction``: market orders for that symbol fill only that fraction (status
  partially_filled).
* ``drop_on_order = n``: the n-th POST /v2/orders (1-based) is processed (the order exists and fills) but the
  socket is closed without an answer, like a connection lost mid-submit.
* buys beyond cash answer 403 "insufficient buying power", as the real service does.
* ``lookup_misses[client_order_id] = n``: the next n lookups by client order id answer 404 (a lagging index).
* ``lookup_errors = n``: the next n lookups of an EXISTING order by client order id answer 500 (status polls
  fail; the lookup before a first submit, of an order not there yet, still answers 404).
* ``market_open``: what GET /v2/clock says (default True).
* ``orders_created`` counts orders the fake actually accepted; ``order_posts`` counts every POST.
* ``history``: the (unix seconds, equity or None) points GET /v2/account/portfolio/history serves.
* orders of every type and class, PATCH (replace), legs and triggers: see alpaca_orders.py (``trade(symbol,
  price)`` moves the last price and works resting orders); ``patches`` counts PATCH requests and
  ``drop_on_patch = True`` processes the next one but drops the connection instead of answering.
* options (contracts, chain snapshots, option orders and positions): see alpaca_options.py (``add_option``).
* faults of the protocol (429 with Retry-After, 5xx before or after processing, a truncated 200, no answer at
  all): see alpaca_faults.py (``throttle(n)``, ``fail_before``, ``fail_after``, ``garbage``, ``hang``).

Start/stop with ``with FakeAlpacaServer() as fake:``; it also stops itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.brokers.alpaca.alpaca_faults import FaultKnobs
from tests.brokers.alpaca.alpaca_options import OptionDesk
from tests.brokers.alpaca.alpaca_orders import OPEN, OrderBook, Refused, asset_class, multiplier
from tests.brokers.alpaca.alpaca_orders import iso as _iso
from tests.brokers.alpaca.alpaca_orders import num as _num


class FakeAlpacaServer(OrderBook, FaultKnobs, OptionDesk):
    """Fake Alpaca trading + market-data service (see module docstring)."""

    def __init__(
        self,
        key: str = "fake-key",
        secret: str = "fake-secret",
        cash: float = 100_000.0,
        prices: dict[str, float] | None = None,
        bars: dict[str, list[dict[str, Any]]] | None = None,
        not_fractionable: set[str] | None = None,
        bars_page_size: int = 2,
        lifetime: float = 60.0,
        market_open: bool = True,
    ) -> None:
        self.key, self.secret = key, secret
        self.cash = float(cash)
        self.prices = dict(prices or {"SPY": 500.0, "AAPL": 200.0, "QQQ": 400.0})
        self.bars = dict(bars or {})
        self.not_fractionable = set(not_fractionable or ())
        self.bars_page_size = bars_page_size
        self.market_open = market_open
        self.reject: dict[str, str] = {}
        self.partial: dict[str, float] = {}
        self.drop_on_order: int | None = None
        self.lookup_misses: dict[str, int] = {}  # client_order_id -> how many lookups answer 404 (lagging index)
        self.lookup_errors = 0  # how many lookups of an existing order answer 500
        self.orders: list[dict[str, Any]] = []
        self.history: list[tuple[int, float | None]] = []  # portfolio history points: (unix seconds, equity)
        self.history_queries: list[dict[str, str]] = []  # query of each GET /v2/account/portfolio/history
        self.positions: dict[str, dict[str, float]] = {}  # symbol -> {"qty", "avg"}
        self.order_posts = 0
        self.orders_created = 0
        self.patches = 0  # PATCH /v2/orders/{id} requests (replace)
        self.posted: list[dict[str, Any]] = []  # the JSON body of every POST /v2/orders
        self.patched: list[dict[str, Any]] = []  # the JSON body of every PATCH /v2/orders/{id}
        self.drop_on_patch = False  # the next PATCH is processed but answered by a dropped connection
        self.nested_filter = "group"  # see alpaca_orders: how a nested listing applies its status filter
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self.lock = threading.RLock()
        self.init_faults()
        self.init_options()
        self.account_id = str(uuid.UUID(int=0x1234))
        self.asset_ids = {s: str(uuid.uuid5(uuid.NAMESPACE_DNS, s)) for s in self.prices}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fake-alpaca"
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAlpacaServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        with self.lock:
            if self._stopped:
                return
            self._stopped = True
        self.stopping.set()  # releases handlers that `hang`
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeAlpacaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ state helpers
    def set_position(self, symbol: str, qty: float, avg: float) -> None:
        with self.lock:
            self.positions[symbol] = {"qty": float(qty), "avg": float(avg)}

    def equity(self) -> float:
        with self.lock:
            return self.cash + sum(p["qty"] * self.prices[s] * multiplier(s) for s, p in self.positions.items())

    # ------------------------------------------------------------------ request handling
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, code: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def _error(self, code: int, err: int, message: str) -> None:
                self._send(code, {"code": err, "message": message})

            def _authorized(self) -> bool:
                if (
                    self.headers.get("APCA-API-KEY-ID") != fake.key
                    or self.headers.get("APCA-API-SECRET-KEY") != fake.secret
                ):
                    self._error(401, 40110000, "request is not authorized")
                    return False
                return True

            def _dispatch(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with fake.lock:
                    fake.requests.append((method, url.path))
                if not self._authorized():
                    return
                body = None
                if method in ("POST", "PATCH"):
                    n = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(n) or b"{}")
                if fake.early_fault(self, method, url.path):
                    return
                route = fake._route(method, url.path, query, body, self)
                if route is not None and not fake.late_fault(self, method, url.path, route):
                    self._send(*route)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            def do_PATCH(self) -> None:
                self._dispatch("PATCH")

        return Handler

    def _route(
        self, method: str, path: str, q: dict[str, str], body: Any, handler: BaseHTTPRequestHandler
    ) -> tuple[int, Any] | None:
        with self.lock:
            if method == "GET" and path == "/v2/account":
                return 200, self._account()
            if method == "GET" and path == "/v2/account/portfolio/history":
                self.history_queries.append(q)
                return 200, self._history(q)
            if method == "GET" and path == "/v2/positions":
                return 200, [self._position(s, p) for s, p in sorted(self.positions.items())]
            if method == "GET" and path == "/v2/clock":
                now = datetime.now(UTC).replace(microsecond=0)
                return 200, {
                    "timestamp": _iso(now),
                    "is_open": self.market_open,
                    "next_open": _iso(now + timedelta(hours=15)),
                    "next_close": _iso(now + timedelta(hours=3)),
                }
            if method == "GET" and path.startswith("/v2/assets/"):
                sym = path.rsplit("/", 1)[-1]
                if sym not in self.prices:
                    return 404, {"code": 40410000, "message": f"asset not found for {sym}"}
                return 200, {
                    "id": self.asset_ids.get(sym, str(uuid.uuid5(uuid.NAMESPACE_DNS, sym))),
                    "class": "us_equity",
                    "exchange": "NYSE",
                    "symbol": sym,
                    "name": sym,
                    "status": "active",
                    "tradable": True,
                    "marginable": True,
                    "shortable": True,
                    "easy_to_borrow": True,
                    "fractionable": sym not in self.not_fractionable,
                }
            if path == "/v2/orders" or path.startswith(("/v2/orders/", "/v2/orders:")):
                return self._order_route(method, path, q, body, handler)
            if method == "GET" and path == "/v2/stocks/trades/latest":
                syms = [s for s in q.get("symbols", "").split(",") if s]
                stamp = _iso(datetime.now(UTC))
                return 200, {
                    "trades": {
                        s: {"t": stamp, "x": "V", "p": self.prices[s], "s": 100, "c": ["@"], "i": 1, "z": "C"}
                        for s in syms
                        if s in self.prices
                    }
                }
            if method == "GET" and path == "/v2/stocks/bars":
                return 200, self._bars(q)
            option = self.option_route(method, path, q)
            if option is not None:
                return option
        return 404, {"code": 40410000, "message": f"no route {method} {path}"}

    def _account(self) -> dict[str, Any]:
        eq = self.equity()
        return {
            "id": self.account_id,
            "account_number": "PA3FAKE0001",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": _num(self.cash),
            "regt_buying_power": _num(self.cash),
            "cash": _num(self.cash),
            "portfolio_value": _num(eq),
            "equity": _num(eq),
            "last_equity": _num(eq),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": "2024-01-02T15:00:00Z",
            "shorting_enabled": True,
            "multiplier": "1",
            "long_market_value": "0",
            "short_market_value": "0",
            "initial_margin": "0",
            "maintenance_margin": "0",
            "daytrade_count": 0,
        }

    def _history(self, q: dict[str, str]) -> dict[str, Any]:
        """Alpaca's portfolio history: parallel lists, base_value the first point's equity, null where no equity."""
        base = next((e for _, e in self.history if e), 0.0)
        return {
            "timestamp": [t for t, _ in self.history],
            "equity": [e for _, e in self.history],
            "profit_loss": [None if e is None else round(e - base, 4) for _, e in self.history],
            "profit_loss_pct": [None if not e or not base else round(e / base - 1, 6) for _, e in self.history],
            "base_value": base,
            "timeframe": q.get("timeframe", "1D"),
            "cashflow": {},
        }

    def _position(self, sym: str, p: dict[str, float]) -> dict[str, Any]:
        px, mult = self.prices[sym], multiplier(sym)
        return {
            "asset_id": self.asset_ids.get(sym, str(uuid.uuid5(uuid.NAMESPACE_DNS, sym))),
            "symbol": sym,
            "exchange": "" if mult > 1 else "NASDAQ" if sym in ("AAPL", "QQQ") else "ARCA",
            "asset_class": asset_class(sym),
            "asset_marginable": True,
            "avg_entry_price": _num(p["avg"]),
            "qty": _num(p["qty"]),
            "side": "long" if p["qty"] > 0 else "short",
            "market_value": _num(p["qty"] * px * mult),
            "cost_basis": _num(p["qty"] * p["avg"] * mult),
            "unrealized_pl": _num(p["qty"] * (px - p["avg"]) * mult),
            "current_price": _num(px),
            "qty_available": _num(p["qty"]),
        }

    def _order_route(
        self, method: str, path: str, q: dict[str, str], body: Any, handler: BaseHTTPRequestHandler
    ) -> tuple[int, Any] | None:
        nested = q.get("nested", "").lower() in ("true", "t", "1")  # alpaca-py sends "True" (Go's ParseBool takes it)
        if method == "POST" and path == "/v2/orders":
            return self._post_order(body, handler)
        if method == "GET" and path == "/v2/orders":
            newest = q.get("direction", "desc") == "desc"
            return 200, self.list_orders(q.get("status", "open"), nested, int(q.get("limit") or 50), newest)
        if method == "DELETE" and path == "/v2/orders":
            out = []
            for o in self.orders:
                if o["status"] in OPEN:
                    o["status"], o["updated"] = "canceled", datetime.now(UTC)
                    out.append({"id": o["id"], "status": 200, "body": self.order_json(o)})
            return 207, out
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            cid = q.get("client_order_id", "")
            if self.lookup_misses.get(cid, 0) > 0:
                self.lookup_misses[cid] -= 1
                return 404, {"code": 40410000, "message": "order not found"}
            for o in self.orders:
                if o["client_order_id"] == cid:
                    if self.lookup_errors > 0:
                        self.lookup_errors -= 1
                        return 500, {"code": 50010000, "message": "internal server error"}
                    return 200, self.order_json(o)
            return 404, {"code": 40410000, "message": "order not found"}
        found = self.find(path.rsplit("/", 1)[-1])
        if found is None:
            return 404, {"code": 40410000, "message": "order not found"}
        o = found
        if method == "GET":
            return 200, self.order_json(o)
        if method == "DELETE":
            if o["status"] not in OPEN:
                return 422, {"code": 42210000, "message": f'order is already in "{o["status"]}" state'}
            self.cancel_group(o)
            return 204, None
        if method == "PATCH":
            self.patches += 1
            self.patched.append(body or {})
            if o["symbol"] in self.reject:
                return 422, {"code": 42210000, "message": self.reject[o["symbol"]]}
            try:
                new = self.replace(o, body or {})
            except Refused as e:
                return e.status, {"code": e.code, "message": e.message}
            if self.drop_on_patch:
                self.drop_on_patch = False
                handler.close_connection = True
                return None  # replaced, but no answer: the client sees the connection drop
            return 200, self.order_json(new)
        return 404, {"code": 40410000, "message": f"no route {method} {path}"}

    def _post_order(self, body: dict[str, Any], handler: BaseHTTPRequestHandler) -> tuple[int, Any] | None:
        self.order_posts += 1
        self.posted.append(body)
        drop = self.drop_on_order is not None and self.order_posts == self.drop_on_order
        for f in ("symbol", "side", "type", "time_in_force"):
            if f not in body:
                return 422, {"code": 40010001, "message": f"{f} is required"}
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if any(o["client_order_id"] == cid for o in self.orders):
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        sym = body["symbol"]
        if sym in self.reject:
            return 422, {"code": 42210000, "message": self.reject[sym]}
        if sym not in self.prices:
            return 422, {"code": 42210000, "message": f'asset "{sym}" not found'}
        try:
            qty = self.check_order(body)
            if multiplier(sym) > 1:
                self.check_option_order(body, qty)
        except Refused as e:
            return e.status, {"code": e.code, "message": e.message}
        if body["side"] == "buy" and qty * self.prices[sym] * multiplier(sym) > self.cash + 1e-9:
            return 403, {"code": 40310000, "message": "insufficient buying power"}
        o = self.create({**body, "client_order_id": cid})
        self.orders_created += 1
        if drop:
            handler.close_connection = True
            return None  # processed, but no answer: the client sees the connection drop
        return 200, self.order_json(o)

    def trade(self, symbol: str, price: float) -> None:
        """Test hook: a trade of `symbol` at `price` (the new last price); resting orders work as at Alpaca."""
        with self.lock:
            self.prices[symbol] = float(price)
            self.work(symbol)

    def _bars(self, q: dict[str, str]) -> dict[str, Any]:
        syms = [s for s in q.get("symbols", "").split(",") if s]
        start = q.get("start")
        # flatten (symbol, bar) in order, then serve one page of bars_page_size items per request
        items = [(s, b) for s in syms for b in self.bars.get(s, []) if start is None or b["t"][:10] >= start[:10]]
        offset = int(q.get("page_token") or 0)
        page = items[offset : offset + self.bars_page_size]
        out: dict[str, list[dict[str, Any]]] = {}
        for s, b in page:
            out.setdefault(s, []).append(b)
        nxt = offset + self.bars_page_size
        return {"bars": out, "next_page_token": str(nxt) if nxt < len(items) else None}
