"""`FakeTwsServer`: a TWS / IB Gateway stand-in on 127.0.0.1 speaking the TWS API socket protocol.

Framing: 4-byte big-endian length, then NUL-terminated fields. Server version 176: message layouts follow
ib_async 2.1's decoder field for field (the long ones in tests/brokers/ibkr/tws_messages.py). What it answers:

* handshake, startApi -> managedAccounts + nextValidId; positions, open orders (5 / 16), completed orders,
  account updates (single and multi), executions, account summary, current time, managed accounts.
* contract details (error 200 for an unknown symbol), snapshot market data (LAST tick + snapshot end),
  historical daily bars.
* placeOrder -> openOrder (with permId) -> orderStatus -> execDetails -> commissionReport -> position and
  account/portfolio updates; cancelOrder / reqGlobalCancel -> orderStatus Cancelled. Every order type, held
  (transmit=False) orders, parent / child, OCA groups, modify and the ``trade(symbol, price)`` hook that moves
  the last price: the order book in tests/brokers/ibkr/tws_orders.py.
* options (``add_option``): contract details, reqSecDefOptParams, option snapshots with model Greeks, option
  orders and positions: tests/brokers/ibkr/tws_options.py.

Knobs: ``reject[symbol] = reason`` (error 201), ``partial[symbol] = fraction`` (an order's first fill is that
share and the rest stays Submitted), ``drop_on_order = n`` (the n-th placeOrder is processed, then the socket is
closed without an answer), buys beyond cash are rejected with error 201 like IB's margin check.
``orders_created`` counts orders transmitted, ``place_order_msgs`` every placeOrder received. Stops itself after
``lifetime`` seconds.

Fault knobs: ``silent_handshake`` (accept the connection, never answer the handshake), ``silent`` (answer the
handshake and startApi, then nothing: a hung TWS; may be set mid-test), ``pacing_violations = k`` (the first k
historical-data requests get error 162 "... pacing violation"; ``historical_requests`` counts them all),
``connectivity(code)`` (error 1100 / 1101 / 1102 with IB's text to every connected client: TWS lost / regained its
own connection to IB's servers, the API socket stays up).
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from datetime import UTC, datetime
from typing import Any

from tests.brokers.ibkr.tws_messages import (
    CONNECTIVITY,
    PACING_VIOLATION,
    SERVER_VERSION,
    UNSET_DOUBLE,
    contract_details,
    contract_key,
    exec_details,
    field_text,
    frame,
    historical_data,
    multiplier_of,
    portfolio_update,
)
from tests.brokers.ibkr.tws_options import OptionDesk
from tests.brokers.ibkr.tws_orders import OrderBook


class FakeTwsServer(OrderBook, OptionDesk):
    """Fake TWS (see module docstring). Use as a context manager; `port` is chosen by the OS."""

    def __init__(
        self,
        account: str = "DU1234567",
        cash: float = 100_000.0,
        prices: dict[str, float] | None = None,
        bars: dict[str, list[tuple]] | None = None,
        commission_per_share: float = 0.005,
        min_commission: float = 1.0,
        lifetime: float = 60.0,
    ) -> None:
        self.account = account
        self.cash = float(cash)
        self.prices = dict(prices or {"SPY": 500.0, "AAPL": 200.0, "QQQ": 400.0})
        self.bars = dict(bars or {})  # symbol -> [(yyyymmdd, o, h, l, c, v), ...]
        self.con_ids = {s: 10_000 + i for i, s in enumerate(sorted(self.prices))}
        self.commission_per_share, self.min_commission = commission_per_share, min_commission
        self.reject: dict[str, str] = {}
        self.partial: dict[str, float] = {}
        self.drop_on_order: int | None = None
        self.silent_handshake = False
        self.silent = False
        self.pacing_violations = 0
        self.historical_requests = 0
        self.positions: dict[str, list[float]] = {}  # symbol -> [qty, avg_cost]
        self.orders: dict[int, dict[str, Any]] = {}  # permId -> order
        self.executions: list[dict[str, Any]] = []
        self.place_order_msgs = 0
        self.orders_created = 0
        self.connections = 0
        self.received: list[list[str]] = []
        self.next_order_id = 1
        self._perm = 900_000
        self._conns: dict[int, dict] = {}  # client id -> its current connection (where its orders report)
        self._sessions = 0
        self.lock = threading.RLock()
        self.init_options()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fake-tws"
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._stopped = threading.Event()
        self._socks: list[socket.socket] = []

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> FakeTwsServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for s in self._socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_position(self, symbol: str, qty: float, avg_cost: float) -> None:
        with self.lock:
            self.positions[symbol] = [float(qty), float(avg_cost)]

    def equity(self) -> float:
        return self.cash + sum(q * self.prices[s] * self._mult(s) for s, (q, _) in self.positions.items())

    def _mult(self, key: str) -> float:
        return multiplier_of(self._contract(key))

    def drop_all_connections(self) -> None:
        """Close every client socket (a TWS restart / network loss)."""
        with self.lock:
            for s in self._socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def connectivity(self, code: int) -> None:
        """Send error `code` (1100 lost, 1101 restored - data lost, 1102 restored - data maintained) with IB's text
        to every connected client, as TWS does when its own link to IB's servers drops or comes back."""
        with self.lock:
            for conn in list(self._conns.values()):
                self._send(conn, 4, 2, -1, code, CONNECTIVITY[code], "")

    # ------------------------------------------------------------------ connection loop
    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        with self.lock:
            self._socks.append(sock)
            self.connections += 1
            self._sessions += 1
            conn: dict[str, Any] = {"sock": sock, "buf": b"", "client_id": 0, "acct_sub": False}
            conn["session"] = self._sessions
        try:
            if not self._handshake(conn):
                return
            while not self._stopped.is_set():
                fields = self._read_msg(conn)
                if fields is None:
                    return
                with self.lock:
                    self.received.append(fields)
                    keep = self._dispatch(conn, fields)
                if not keep:
                    return
        except OSError:
            return
        finally:
            with self.lock:
                if sock in self._socks:
                    self._socks.remove(sock)
                if self._conns.get(conn["client_id"]) is conn:
                    del self._conns[conn["client_id"]]
                self._session_closed(conn["session"])
            try:
                sock.close()
            except OSError:
                pass

    def _recv_exact(self, conn: dict, n: int) -> bytes | None:
        while len(conn["buf"]) < n:
            if self._stopped.is_set():
                return None
            try:
                chunk = conn["sock"].recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return None
            conn["buf"] += chunk
        out, conn["buf"] = conn["buf"][:n], conn["buf"][n:]
        return out

    def _read_msg(self, conn: dict) -> list[str] | None:
        head = self._recv_exact(conn, 4)
        if head is None:
            return None
        body = self._recv_exact(conn, struct.unpack(">I", head)[0])
        if body is None:
            return None
        return body.decode().split("\0")[:-1]

    def _handshake(self, conn: dict) -> bool:
        if self._recv_exact(conn, 4) != b"API\0":
            return False
        head = self._recv_exact(conn, 4)
        if head is None or self._recv_exact(conn, struct.unpack(">I", head)[0]) is None:
            return False
        if self.silent_handshake:  # hold the socket, say nothing, until the client gives up or the fake stops
            while self._recv_exact(conn, 1) is not None:
                pass
            return False
        now = datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")
        conn["sock"].sendall(frame(SERVER_VERSION, now))
        return True

    def _send(self, conn: dict, *fields: Any) -> None:
        conn["sock"].sendall(frame(*fields))

    # ------------------------------------------------------------------ messages
    def _dispatch(self, conn: dict, f: list[str]) -> bool:
        """Answer one client message; False closes the connection."""
        msg = int(f[0])
        req: Any  # a request id: sent back as it came (text) or as a number
        if self.silent and msg != 71:
            return True
        if msg == 71:  # startApi
            conn["client_id"] = int(f[2])
            self._conns[conn["client_id"]] = conn
            self._send(conn, 15, 1, self.account)
            self._send(conn, 9, 1, self.next_order_id)
        elif msg == 61:  # reqPositions
            for sym in sorted(self.positions):
                self._position(conn, sym)
            self._send(conn, 62, 1)
        elif msg in (5, 16):  # reqOpenOrders / reqAllOpenOrders
            self._open_orders(conn, all_clients=msg == 16)
        elif msg == 99:  # reqCompletedOrders
            self._completed_orders(conn)
        elif msg == 6:  # reqAccountUpdates
            conn["acct_sub"] = f[2] == "1"
            if conn["acct_sub"]:
                self._account_updates(conn)
                self._send(conn, 8, 1, datetime.now().strftime("%H:%M"))
                self._send(conn, 54, 1, self.account)
        elif msg == 76:  # reqAccountUpdatesMulti
            req = f[2]
            for tag, val in self._account_values():
                self._send(conn, 73, 1, req, self.account, "", tag, val, "USD")
            self._send(conn, 74, 1, req)
        elif msg == 62:  # reqAccountSummary
            req = f[2]
            for tag, val in self._account_values():
                self._send(conn, 63, 1, req, self.account, tag, val, "USD")
            self._send(conn, 64, 1, req)
        elif msg == 7:  # reqExecutions
            req = int(f[2])
            for ex in self.executions:
                self._send(conn, *exec_details(ex, req, self._contract(ex["order"]["symbol"]), self.account))
            for ex in self.executions:
                self._send(conn, 59, 1, ex["exec_id"], ex["commission"], "USD", UNSET_DOUBLE, UNSET_DOUBLE, "")
            self._send(conn, 55, 1, req)
        elif msg == 9:  # reqContractDetails
            if f[5] == "OPT" and not (f[8] and float(f[7] or 0)):  # no strike or right: every contract of the expiry
                self.option_listing(conn, int(f[2]), f[4], f[6])
            else:
                self._contract_details(conn, int(f[2]), contract_key(f, 4))
        elif msg == 78:  # reqSecDefOptParams
            self.option_parameters(conn, int(f[1]), f[2])
        elif msg == 1:  # reqMktData (snapshot)
            req, sym = int(f[2]), contract_key(f, 4)
            if self.is_option(sym):
                self.option_snapshot(conn, req, sym)
            elif sym not in self.prices:
                self._send(conn, 4, 2, req, 200, "No security definition has been found for the request", "")
            else:
                self._send(conn, 58, 1, req, 1)
                self._send(conn, 1, 6, req, 4, self.prices[sym], 100, 0)  # LAST
                self._send(conn, 1, 6, req, 9, self.prices[sym], 0, 0)  # CLOSE
                self._send(conn, 57, 1, req)
        elif msg == 20:  # reqHistoricalData
            self._historical(conn, int(f[1]), f[3])
        elif msg == 3:  # placeOrder
            return self._place_order(conn, f)
        elif msg == 4:  # cancelOrder
            o = self._find(conn["client_id"], int(f[2]))
            if o is not None:
                self._cancel(o)
        elif msg == 58:  # reqGlobalCancel
            for o in list(self.orders.values()):
                self._cancel(o)
        elif msg == 8:  # reqIds
            self._send(conn, 9, 1, self.next_order_id)
        elif msg == 17:  # reqManagedAccts
            self._send(conn, 15, 1, self.account)
        elif msg == 49:  # reqCurrentTime
            self._send(conn, 49, 1, int(time.time()))
        return True  # anything else (market data type, cancels of subscriptions ...) needs no answer

    def _contract(self, sym: str) -> list[Any]:
        """conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency, local, class."""
        if self.is_option(sym):
            return self.option_contract(sym)
        return [self.con_ids[sym], sym, "STK", "", 0.0, "", "", "SMART", "USD", sym, sym]

    def _position(self, conn: dict, sym: str) -> None:
        q, avg = self.positions.get(sym, [0.0, 0.0])
        self._send(conn, 61, 3, self.account, *self._contract(sym), q, avg)

    def _account_values(self) -> list[tuple[str, str]]:
        eq = self.equity()
        gross = sum(abs(q) * self.prices[s] * self._mult(s) for s, (q, _) in self.positions.items())
        return [
            ("NetLiquidation", field_text(eq)),
            ("TotalCashValue", field_text(self.cash)),
            ("BuyingPower", field_text(self.cash)),
            ("AvailableFunds", field_text(self.cash)),
            ("GrossPositionValue", field_text(gross)),
        ]

    def _account_updates(self, conn: dict) -> None:
        for tag, val in self._account_values():
            self._send(conn, 6, 2, tag, val, "USD", self.account)
        for sym, (q, avg) in sorted(self.positions.items()):
            px = self.prices[sym]
            c = self._contract(sym)
            self._send(conn, *portfolio_update(c, q, px, avg, self.account))

    def _contract_details(self, conn: dict, req: int, sym: str) -> None:
        if sym not in self.con_ids:
            self._send(conn, 4, 2, req, 200, "No security definition has been found for the request", "")
            return
        if self.is_option(sym):
            self.option_details(conn, req, sym)
            return
        self._send(conn, *contract_details(req, sym, self.con_ids[sym]))
        self._send(conn, 52, 1, req)

    def _historical(self, conn: dict, req: int, sym: str) -> None:
        self.historical_requests += 1
        if self.historical_requests <= self.pacing_violations:
            self._send(conn, 4, 2, req, 162, PACING_VIOLATION, "")
            return
        if sym not in self.con_ids:
            self._send(conn, 4, 2, req, 200, "No security definition has been found for the request", "")
            return
        self._send(conn, *historical_data(req, self.bars.get(sym, [])))
