"""The TWS API wire format FakeTwsServer speaks (server version 176): framing and the bigger messages' field
layouts, as pure functions.

Each returns the message's fields in order, following ib_async 2.1's decoder field for field (contractDetails,
execDetails, openOrder and completedOrder have version-dependent parts); the server frames and sends them.
An order is the server's order dict, a contract the list `FakeTwsServer._contract` makes.
`parse_place_order` reads the other way: the fields of the client's placeOrder the fake acts on.
"""

from __future__ import annotations

import struct
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.options.occ import OptionContract

SERVER_VERSION = 176
UNSET_DOUBLE = "1.7976931348623157E308"

# error (4) texts of the faults the fake can send, as TWS words them (TWS API message codes)
CONNECTIVITY: dict[int, str] = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}
PACING_VIOLATION = "Historical Market Data Service error message:Historical data request pacing violation"


def field_text(v: Any) -> str:
    """One field as TWS writes it (bools 0/1, whole floats without ".0", None empty)."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v)) if abs(v) < 1e15 else repr(v)
    return "" if v is None else str(v)


def frame(*fields: Any) -> bytes:
    """A message on the wire: 4-byte big-endian length, then NUL-terminated fields."""
    payload = "".join(field_text(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def order_head(o: dict[str, Any], account: str) -> list[Any]:
    """Fields shared by openOrder and completedOrder: action, totalQuantity, orderType, lmtPrice, auxPrice, tif,
    ocaGroup, account, openClose, origin, orderRef."""
    return [o["action"], o["qty"], o["type"], o["lmt"], o["aux"], o["tif"], o["oca_group"], account, "", 0, o["ref"]]


# placeOrder (3) as ib_async 2.1's client.placeOrder writes it at server version 176 for a stock (no combo legs,
# no delta-neutral order): the position of each field the fake reads. The contract takes the 12 fields from 2.
PLACE_ORDER_FIELDS: dict[str, int] = {
    "order_id": 1,
    "symbol": 3,
    "action": 16,
    "qty": 17,
    "type": 18,
    "lmt": 19,
    "aux": 20,
    "tif": 21,
    "oca_group": 22,
    "ref": 26,
    "transmit": 27,
    "parent_id": 28,
    "oca_type": 47,
    "delta_neutral_type": 65,
    "trail_stop": 69,
    "trail_pct": 70,
}
PRICE_FIELDS = ("lmt", "aux", "trail_stop", "trail_pct")


def contract_key(f: list[str], at: int) -> str:
    """The fake's key of the contract whose symbol is field `at` of a client message (symbol, secType,
    lastTradeDateOrContractMonth, strike, right, multiplier follow): the stock symbol, or an option's compact OCC
    symbol."""
    if f[at + 1] != "OPT":
        return f[at]
    day = datetime.strptime(f[at + 2][:8], "%Y%m%d").date()
    return OptionContract(f[at], day, f[at + 4], Decimal(f[at + 3]), int(float(f[at + 5] or 100))).compact_symbol()


def parse_place_order(f: list[str]) -> dict[str, Any]:
    """The fields of a placeOrder message the fake acts on, typed (an empty price is None); "symbol" is the
    contract's key (`contract_key`)."""
    dn = f[PLACE_ORDER_FIELDS["delta_neutral_type"]]
    if dn:
        raise ValueError(f"placeOrder: delta-neutral order type {dn!r} shifts the layout; the fake reads none")
    p: dict[str, Any] = {name: f[i] for name, i in PLACE_ORDER_FIELDS.items()}
    p["symbol"] = contract_key(f, PLACE_ORDER_FIELDS["symbol"])
    for name in PRICE_FIELDS:
        p[name] = float(p[name]) if p[name] else None
    p["order_id"], p["qty"] = int(p["order_id"]), float(p["qty"])
    p["parent_id"] = int(p["parent_id"] or 0)
    p["oca_type"] = int(p["oca_type"] or 0)
    p["transmit"] = p["transmit"] == "1"
    p["tif"] = p["tif"] or "DAY"
    return p


def open_order(o: dict[str, Any], c: list[Any], account: str, status: str | None = None) -> list[Any]:
    """openOrder (5) of order `o` on contract `c` (FakeTwsServer._contract)."""
    fields: list[Any] = [
        5,
        o["order_id"],
        *c[:7],
        "SMART",
        "USD",
        c[9],
        c[10],
        *order_head(o, account),
        o["client_id"],
        o["perm_id"],
        0,
        0,
        0,
        "",
        "",
        "",
        "",
        "",
        "",
    ]  # faProfile (server < 177)
    fields += [
        "",
        "",
        "",
        "",
        "",
        0,
        "",
        -1,
        0,
        "",
        "",
        "",
        "",
        "",
        "",
        0,
        0,
        0,
        "",
        o["oca_type"],
        0,
        0,
        "",
        o["parent_id"],
        0,
        "",
        0,
        "",
        "",
    ]  # modelCode .. deltaNeutralAuxPrice (ocaType, parentId; deltaNeutralOrderType empty)
    # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, basisPoints(Type), comboLegsDescrip
    fields += [0, 0, o["trail_stop"], o["trail_pct"], "", "", ""]
    fields += [0, 0, 0]  # comboLegs, orderComboLegs, smartComboRoutingParams
    fields += ["", "", ""]  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement (unset)
    fields += [""]  # hedgeType
    fields += [0, "", "IB", 0, 0]  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, dncPresent
    fields += [""]  # algoStrategy
    fields += [0, 0, status or o["status"]] + [""] * 14 + [0, 0]  # solicited, whatIf, orderState, randomize*
    fields += [0]  # conditions
    fields += ["", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, 0, 0]  # adjustedOrderType .. usePriceMgmtAlgo
    fields += ["", "", 0]  # duration (159), postToAts (160), autoCancelParent (162)
    fields += ["", "", "", "", ""]  # minTradeQty .. midOffsetAtHalf (170)
    return fields


def completed_order(o: dict[str, Any], c: list[Any], account: str) -> list[Any]:
    """completedOrder (101) of order `o` on contract `c`."""
    fields: list[Any] = [
        101,
        *c[:7],
        "SMART",
        "USD",
        c[9],
        c[10],
        *order_head(o, account),
        o["perm_id"],
        0,
        0,
        0,
        "",
        "",
        "",
        "",
        "",
    ]  # faProfile (server < 177)
    fields += ["", "", "", "", "", 0, "", -1, "", "", "", "", "", "", 0, 0, "", o["oca_type"], 0, "", 0, "", ""]
    # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, comboLegsDescrip
    fields += [0, 0, o["trail_stop"], o["trail_pct"], ""]
    fields += [0, 0, 0]
    fields += ["", "", ""]
    fields += [""]
    fields += ["", "IB", 0, 0]  # clearingAccount, clearingIntent, notHeld, dncPresent
    fields += [""]
    fields += [0, o["status"], 0, 0]  # solicited, status, randomizeSize, randomizePrice
    fields += [0]
    fields += ["", "", "", 0, 0, "", o["filled"], 0, 0, "", 0, 0, 0, o["done_at"], o["status"]]
    fields += ["", "", "", "", ""]
    return fields


def exec_details(ex: dict[str, Any], req: int, c: list[Any], account: str) -> list[Any]:
    """execDetails (11) of execution `ex` (its order under "order") on contract `c`."""
    o = ex["order"]
    return [
        11,
        req,
        o["order_id"],
        *c[:7],
        "ARCA",
        "USD",
        c[9],
        c[10],
        ex["exec_id"],
        ex["time"],
        account,
        "ARCA",
        "BOT" if o["action"] == "BUY" else "SLD",
        ex["shares"],
        ex["price"],
        o["perm_id"],
        o["client_id"],
        0,
        ex["cum"],
        ex["price"],
        o["ref"],
        "",
        "",
        "",
        1,
    ]


def contract_details(req: int, sym: str, con_id: int) -> list[Any]:
    """contractDetails (10) of stock `sym` (SMART/USD)."""
    return [
        10,
        req,
        sym,
        "STK",
        "",
        0.0,
        "",
        "SMART",
        "USD",
        sym,
        "NMS",
        sym,
        con_id,
        0.01,
        "",
        "ACTIVETIM,LMT,MKT",
        "SMART,ARCA,NYSE",
        1,
        0,
        f"{sym} FAKE INC",
        "ARCA",
        "",
        "",
        "",
        "",
        "US/Eastern",
        "",
        "",
        "",
        "",
        0,
        1,
        "",
        "",
        "26",
        "",
        "COMMON",
        "0.0001",
        "0.0001",
        "100",
    ]


def multiplier_of(c: list[Any]) -> float:
    """Shares per unit of contract `c`: its multiplier (an option's 100), 1 for a stock."""
    return float(c[6] or 1)


def portfolio_update(c: list[Any], q: float, px: float, avg: float, account: str) -> list[Any]:
    """updatePortfolio (7): conId, symbol, secType, lastTrade, strike, right, multiplier, primaryExchange,
    currency, localSymbol, tradingClass, position, marketPrice, marketValue, averageCost, unrealized, realized,
    account. Money is price x position x multiplier; an average cost is per unit (an option's: per contract)."""
    value = q * px * multiplier_of(c)
    return [7, 8, *c[:7], "ARCA", "USD", c[9], c[10], q, px, value, avg, value - q * avg, 0.0, account]


def option_details(req: int, c: list[Any], under_con_id: int) -> list[Any]:
    """contractDetails (10) of option contract `c` (FakeTwsServer._contract): the layout of `contract_details`
    with the option's expiry, strike, right, multiplier and underlying filled in."""
    fields = contract_details(req, c[1], c[0])
    fields[3:7] = ["OPT", c[3], c[4], c[5]]  # secType, lastTimes (the expiry), strike, right
    fields[9:12] = [c[9], c[10], c[10]]  # localSymbol (the padded OCC symbol), marketName, tradingClass
    fields[13:15] = [0.01, c[6]]  # minTick, multiplier
    fields[18:20] = [under_con_id, f"{c[1]} {c[3]} {c[4]:g} {c[5]}"]  # underConId, longName
    fields[21] = c[3][:6]  # contractMonth
    fields[32:34] = [c[1], "STK"]  # underSymbol, underSecType
    fields[35:37] = [c[3], ""]  # realExpirationDate, stockType
    fields[37:40] = ["1", "1", "1"]  # minSize, sizeIncrement, suggestedSizeIncrement
    return fields


def option_computation(req: int, g: dict[str, float], und: float, tick: int = 13) -> list[Any]:
    """tickOptionComputation (21) at server version 176 (no version field; tickAttrib 0 = return based):
    impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice. Tick 13: the model's."""
    return [21, req, tick, 0, g["iv"], g["delta"], g["price"], 0.0, g["gamma"], g["vega"], g["theta"], und]


def option_parameters(req: int, con_id: int, root: str, expirations: list[str], strikes: list[float]) -> list[Any]:
    """securityDefinitionOptionParameter (75): exchange, underlyingConId, tradingClass, multiplier, the expirations
    (count first) and the strikes (count first). securityDefinitionOptionParameterEnd is [76, req]."""
    return [75, req, "SMART", con_id, root, "100", len(expirations), *expirations, len(strikes), *strikes]


def order_status(o: dict[str, Any], status: str | None = None, filled: float | None = None) -> list[Any]:
    """orderStatus (3) of order `o` (its own status and filled quantity unless given)."""
    filled = o["filled"] if filled is None else filled
    avg = o["avg"] if filled else 0.0
    return [
        3,
        o["order_id"],
        status or o["status"],
        filled,
        o["qty"] - filled,
        avg,
        o["perm_id"],
        o["parent_id"],
        avg,
        o["client_id"],
        "",
        0.0,
    ]


def historical_data(req: int, rows: list[tuple]) -> list[Any]:
    """historicalData (17): daily bars (date, open, high, low, close, volume) with a typical-price WAP."""
    fields: list[Any] = [17, req, rows[0][0] if rows else "", rows[-1][0] if rows else "", len(rows)]
    for d, o, h, lo, c, v in rows:
        fields += [d, o, h, lo, c, v, round((h + lo + c) / 3, 4), 100]
    return fields
