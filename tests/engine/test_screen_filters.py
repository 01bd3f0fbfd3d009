"""Screen filters: the grammar COLUMN OP VALUE (numbers, percents, words), a missing value never passing, AND of
several filters, and one ConfigError naming a text that does not parse (nothing is eval'd)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.research.screen_filters import apply_filters, parse_filter, parse_filters

TABLE = pd.DataFrame(
    {"rsi_14": [25.0, 31.0, math.nan, 70.0], "regime": ["bull_calm", "bear_calm", None, "bull_calm"]},
    index=["A", "B", "C", "D"],
)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("rsi_14<30", ["A"]),
        ("rsi_14 <= 31", ["A", "B"]),
        ("rsi_14>30", ["B", "D"]),
        ("rsi_14 >= 70", ["D"]),
        ("rsi_14 == 31", ["B"]),
        ("rsi_14 != 31", ["A", "D"]),  # NaN is not "different": a missing value never passes
        ("regime == bull_calm", ["A", "D"]),
        ("regime != bull_calm", ["B"]),
    ],
)
def test_each_operator_keeps_the_rows_a_hand_check_keeps(text, kept) -> None:
    assert list(apply_filters(TABLE, [parse_filter(text)]).index) == kept


def test_percent_and_exponent_values() -> None:
    assert parse_filter("momentum_126>5%").value == pytest.approx(0.05)
    assert parse_filter("x>-1e-3").value == pytest.approx(-0.001)


def test_filters_are_anded() -> None:
    kept = apply_filters(TABLE, parse_filters(["rsi_14 < 60", "regime == bull_calm", "  "]))
    assert list(kept.index) == ["A"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rsi_14", "is not COLUMN OP VALUE"),
        ("rsi_14 =< 3", "is not COLUMN OP VALUE"),
        ("__import__('os') < 1", "is not COLUMN OP VALUE"),
        ("regime > bull", "compares with == or != only"),
        ("rsi_14 < 3;x", "neither a number nor a word"),
    ],
)
def test_a_bad_expression_is_one_error_naming_it(text, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_filter(text)
    assert repr(text) in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_column_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no column 'vol_21'; columns: rsi_14, regime"):
        apply_filters(TABLE, [parse_filter("vol_21 < 1")])
