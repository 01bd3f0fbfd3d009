"""OCC option symbols: the padded 21-character form and Alpaca's compact form read to the same contract and are
written back exactly; malformed symbols are one ConfigError naming the symbol."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.options import OptionContract, is_occ_symbol


def test_padded_and_compact_spy_call() -> None:
    padded = OptionContract.parse("SPY   261218C00600000")
    compact = OptionContract.parse("SPY261218C00600000")
    assert padded == compact == OptionContract("SPY", dt.date(2026, 12, 18), "call", Decimal("600"), 100)
    assert padded.occ_symbol() == "SPY   261218C00600000"
    assert len(padded.occ_symbol()) == 21
    assert padded.compact_symbol() == "SPY261218C00600000"


def test_fractional_strike_a_digit_in_the_root_and_a_put() -> None:
    c = OptionContract.parse("BRKB1 270115P00412500")
    assert (c.underlying, c.expiry, c.right, c.strike) == ("BRKB1", dt.date(2027, 1, 15), "put", Decimal("412.5"))
    assert OptionContract.parse("BRKB1270115P00412500") == c
    assert OptionContract("aapl", dt.date(2026, 1, 16), "P", 187.5).occ_symbol() == "AAPL  260116P00187500"


def test_strike_units_are_thousandths() -> None:
    assert OptionContract.parse("F     260320C00000500").strike == Decimal("0.5")
    assert OptionContract("NVDA", dt.date(2026, 3, 20), "call", "1.25").compact_symbol() == "NVDA260320C00001250"


@pytest.mark.parametrize(
    "symbol",
    ["SPY", "SPY 261218X00600000", "SPY261218C0060000", "TOOLONGX261218C00600000", "SPY261318C00600000", ""],
)
def test_malformed_symbols_are_named(symbol: str) -> None:
    assert not is_occ_symbol(symbol) or symbol == "SPY261318C00600000"
    with pytest.raises(ConfigError, match="option symbol"):
        OptionContract.parse(symbol)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strike": 0}, "strike 0"),
        ({"strike": "1.0005"}, "at most 3 decimals"),
        ({"right": "straddle"}, "'straddle'"),
        ({"multiplier": 0}, "multiplier 0"),
        ({"underlying": "SPY X"}, "'SPY X'"),
    ],
)
def test_bad_contract_fields(kwargs: dict, message: str) -> None:
    args = {"underlying": "SPY", "expiry": dt.date(2026, 12, 18), "right": "call", "strike": 600, **kwargs}
    with pytest.raises(ConfigError, match=message):
        OptionContract(**args)


@given(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6),
    st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    st.sampled_from(["call", "put"]),
    st.integers(1, 99_999_999),
)
def test_format_then_parse_is_the_identity(root: str, expiry: dt.date, right: str, units: int) -> None:
    c = OptionContract(root, expiry, right, Decimal(units) / 1000)  # type: ignore[arg-type]
    assert OptionContract.parse(c.occ_symbol()) == c
    assert OptionContract.parse(c.compact_symbol()) == c
    assert c.occ_symbol()[6:] == f"{expiry:%y%m%d}{right[0].upper()}{units:08d}"
