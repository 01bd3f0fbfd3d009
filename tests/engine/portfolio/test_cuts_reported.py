"""A weight a constraint cut is reported with the constraint (issue 18 item 2) where the trader reads a run:
`ivybt backtest --json` lists every cut, the text output counts them. Checked against inverse volatility worked
out here with numpy on each rebalance's window (1 / sigma, normalized): every symbol above the cap at a
rebalance is a cut of that date, from its hand weight down to the cap, named "max_weight"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.data import load_market_data

IVYBT = Path(sys.executable).parent / "ivybt"
SYMBOLS = ["SPY", "TLT", "GLD", "XLU"]
CAP, LOOKBACK = 0.3, 252
ARGS = [
    "backtest",
    "--strategy",
    "portfolio_opt",
    "--symbols",
    ",".join(SYMBOLS),
    "--start",
    "2010-01-01",
    "--end",
    "2015-12-31",
    "--param",
    "method=inverse_vol",
    "--param",
    "shrinkage=false",
    "--param",
    f"max_weight={CAP}",
    "--param",
    f"lookback={LOOKBACK}",
]


def ivybt(*more: str) -> str:
    out = subprocess.run([str(IVYBT), *ARGS, *more], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def hand_weights() -> pd.DataFrame:
    """Inverse-vol weights at each month's first bar from the LOOKBACK returns up to it (that bar included)."""
    close = load_market_data(SYMBOLS, start="2010-01-01", end="2015-12-31").close
    returns = close.ffill().pct_change(fill_method=None)
    months = close.index.to_period("M")
    rows = [t for t in range(1, len(close)) if months[t] != months[t - 1] and t >= LOOKBACK]
    out = {}
    for t in rows:
        inv = 1.0 / returns.iloc[t - LOOKBACK + 1 : t + 1].std(ddof=1)
        out[close.index[t]] = inv / inv.sum()
    return pd.DataFrame(out).T


@pytest.mark.slow
def test_every_weight_over_the_cap_is_reported_with_its_constraint(home) -> None:
    cuts = pd.DataFrame(json.loads(ivybt("--json"))["cuts"])
    hand = hand_weights()
    over = hand.stack()
    over = over[over > CAP + 1e-9]
    assert len(over) > 10  # the window holds cuts to report
    capped = cuts[cuts["constraint"].str.contains(f"max_weight {CAP:g}")]
    got = {(pd.Timestamp(r.time), r.symbol): r for r in capped.itertuples()}
    assert set(got) == set(over.index)
    for key, weight in over.items():
        assert got[key].unconstrained == pytest.approx(weight, rel=1e-9)
        assert got[key].weight == pytest.approx(CAP, abs=1e-6)
    # a weight that grew to make room is not a cut: every reported cut is smaller than its hand weight
    for r in cuts.itertuples():
        assert abs(r.weight) < abs(hand.loc[pd.Timestamp(r.time), r.symbol]) + 1e-9


@pytest.mark.slow
def test_the_text_output_counts_the_cuts(home) -> None:
    cuts = json.loads(ivybt("--json"))["cuts"]
    text = ivybt()
    assert f"weights cut by a constraint: {len(cuts)} " in text
    first = cuts[0]
    assert f"{first['time']}  {first['symbol']:<8}" in text and first["constraint"] in text
