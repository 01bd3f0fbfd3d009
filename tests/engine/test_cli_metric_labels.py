"""The CLI's metrics table names each metric's label and unit from the registry beside its key."""

from __future__ import annotations

from engine.cli.output import metrics_text
from engine.metrics import registry


def test_metrics_text_ends_each_row_with_the_registry_label() -> None:
    text = metrics_text(
        {"strategy": {"total_return": 0.125, "max_drawdown_duration": 40.0}, "benchmark": {"total_return": 0.1}}
    )
    header, rule, *rows = text.splitlines()
    assert header.split()[:3] == ["metric", "strategy", "benchmark"] and header.endswith("label (unit)")
    assert rows[0].split()[:3] == ["total_return", "12.50%", "10.00%"]
    assert rows[0].endswith("  " + registry.label("total_return")) and rows[0].endswith("Total return (%)")
    assert rows[1].split()[:3] == ["max_drawdown_duration", "40", "-"]
    assert rows[1].endswith("Max drawdown duration (bars)")
    # the labels start in one column, after the widest value
    assert (
        len({row.index(registry.label(key)) for row, key in zip(rows, ("total_return", "max_drawdown_duration"))}) == 1
    )
