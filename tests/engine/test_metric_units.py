"""Every registered metric carries a label with its unit and a definition for people; a difference of a metric
shown in % is in percentage points; durations say what they count."""

from __future__ import annotations

import math
import re

import pytest

from engine.errors import ConfigError
from engine.metrics import registry
from engine.metrics.registry import METRICS


def test_every_metric_has_a_unit_a_definition_and_a_label_that_is_not_its_key() -> None:
    for m in METRICS:
        assert m.unit.strip(), m.key
        assert len(m.definition) > 20 and m.definition.endswith("."), m.key
        assert registry.definition(m.key) == m.definition
        assert "_" not in m.label and m.label != m.key, m.key
        assert re.search(r"\(.+\)$", m.label), f"{m.key}: label {m.label!r} names no unit in parentheses"
    assert registry.definition("fast") == ""  # a parameter column: no definition


def test_percent_metrics_say_percent_in_their_label() -> None:
    for m in METRICS:
        assert ("(%" in m.label) == (m.fmt == "percent"), m.key


def test_durations_carry_days_or_bars() -> None:
    durations = [m for m in METRICS if registry.is_duration(m.key)]
    assert [m.key for m in durations] == ["max_drawdown_duration"]
    for m in durations:
        assert m.unit in ("bars", "days") and f"({m.unit})" in m.label, m.key
        assert "bar" in m.definition or "day" in m.definition


def test_a_difference_of_a_percent_metric_is_in_percentage_points() -> None:
    assert registry.difference_unit("total_return") == "pp"
    assert registry.difference_label("total_return") == "Total return (pp)"
    assert registry.difference_label("cagr") == "CAGR (pp per year)"
    # 12.5% - 10.25% = 2.25 percentage points (not "2.25%", which would be a relative change)
    assert registry.format_difference("total_return", 0.125 - 0.1025) == "+2.25 pp"
    assert registry.format_difference("max_drawdown", -0.30 - -0.20) == "-10.00 pp"


def test_a_difference_of_other_metrics_keeps_their_unit_and_a_sign() -> None:
    assert registry.difference_unit("sharpe") == "ratio"
    assert registry.difference_label("sharpe") == registry.label("sharpe")
    assert registry.format_difference("sharpe", 1.5 - 1.25) == "+0.250"
    assert registry.format_difference("final_equity", 1234.5) == "+1,234.50"
    assert registry.format_difference("final_equity", -1234.5) == "-1,234.50"
    assert registry.format_difference("max_drawdown_duration", 12.0) == "+12"
    assert registry.format_difference("sharpe", math.nan) == "n/a"
    with pytest.raises(ConfigError, match="unknown metric 'sharp'"):
        registry.difference_unit("sharp")
