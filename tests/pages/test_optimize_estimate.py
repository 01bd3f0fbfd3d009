"""The Optimize page says how big a search is before it runs: combinations, sets to run after the strategy's
rule prunes some (with the rule), an ETA, and above the threshold it asks for confirmation before the Run
button works; the number shown equals the number of sets the run evaluates."""

from __future__ import annotations

import datetime as dt
import itertools

from engine.config import CONFIRM_SETS
from tests.pages.page_helpers import assert_clean, page

K = "opt_r_sma_cross"


def _setup(at, fast, slow, start=dt.date(2015, 1, 1), end=dt.date(2016, 12, 31)):
    at.run()
    assert_clean(at)
    at.selectbox(key="opt_strategy").set_value("sma_cross")
    at.multiselect(key="opt_symbols").set_value(["SPY"])
    at.date_input(key="opt_start").set_value(start)
    at.date_input(key="opt_end").set_value(end)
    for name, (lo, hi, step) in (("fast", fast), ("slow", slow)):
        at.number_input(key=f"{K}_{name}_lo").set_value(lo)
        at.number_input(key=f"{K}_{name}_hi").set_value(hi)
        at.number_input(key=f"{K}_{name}_step").set_value(step)
    return at.run()


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_counts_shown_before_running_equal_the_sets_run(workspace) -> None:
    at = _setup(page("optimize"), fast=(5, 60, 5), slow=(10, 100, 10))
    assert_clean(at)
    product = list(itertools.product(range(5, 61, 5), range(10, 101, 10)))
    kept = sum(1 for f, s in product if f < s)
    text = _captions(at)
    assert f"{len(product):,} combinations, {kept:,} to run, {len(product) - kept:,} pruned" in text
    assert f"fast must be shorter than slow: {len(product) - kept:,}" in text
    assert "estimated time" in text and "calibration run of" in text
    assert not at.button(key="opt_run").disabled  # small: no confirmation asked
    at.button(key="opt_run").click().run()
    assert_clean(at)
    assert len(at.session_state["opt_result"].table) == kept


def test_a_big_grid_asks_for_confirmation_first(workspace) -> None:
    at = _setup(page("optimize"), fast=(1, 200, 1), slow=(2, 401, 1))
    assert_clean(at)
    kept = sum(1 for f in range(1, 201) for s in range(2, 402) if f < s)
    assert kept > CONFIRM_SETS
    assert f"{kept:,} to run" in _captions(at)
    assert at.button(key="opt_run").disabled
    assert any(f"big run: {kept:,} parameter sets" in w.value for w in at.warning)
    confirm = at.checkbox(key=f"opt_grid_confirm_{kept}")
    assert confirm.label.startswith(f"Yes, run {kept:,} parameter sets")
    confirm.check().run()
    assert not at.button(key="opt_run").disabled
    at.number_input(key=f"{K}_slow_hi").set_value(402).run()  # a different grid asks again
    assert at.button(key="opt_run").disabled
