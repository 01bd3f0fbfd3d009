"""`ivybt options vol / chain` in process (engine.cli.main) on the paper broker and the workspace's bundled data:
the vol shown is the 60-day realized vol computed here, a vol set is audited and prices the chain, whose prices
are the textbook Black–Scholes formula on SPY's last close."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics

import pytest

from engine.cli import main
from engine.data import load_market_data
from engine.ops.audit_log import AuditLog


def ivybt(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bsm_call(s: float, k: float, t: float, vol: float, r: float = 0.04) -> float:
    d1 = (math.log(s / k) + (r + vol * vol / 2) * t) / (vol * math.sqrt(t))
    return s * norm_cdf(d1) - k * math.exp(-r * t) * norm_cdf(d1 - vol * math.sqrt(t))


def test_vol_shows_the_realized_vol_then_sets_one_audited_that_prices_the_chain(capsys):
    closes = load_market_data(["SPY"]).close["SPY"].dropna()
    returns = [math.log(b / a) for a, b in zip(closes.iloc[-61:-1], closes.iloc[-60:], strict=True)]
    realized = statistics.stdev(returns) * math.sqrt(252)
    code, out, _ = ivybt(capsys, "options", "vol", "SPY")
    assert code == 0 and out.strip() == f"paper options of SPY: implied vol {realized:.4g} (realized 60d)"
    code, out, _ = ivybt(capsys, "options", "vol", "spy", "0.3")
    assert code == 0 and out.strip() == "paper options of SPY: implied vol 0.3 (set)"
    (event,) = AuditLog().events(kind="account")["message"]
    assert event.startswith("paper option vol of SPY set to 0.3 (was") and event.endswith("(cli)")

    last_day, spot = closes.index[-1].date(), float(closes.iloc[-1])
    expiry = last_day + dt.timedelta(days=40)
    code, out, _ = ivybt(capsys, "options", "chain", "SPY", "--expiry", expiry.isoformat(), "--json")
    assert code == 0
    rows = json.loads(out)["contracts"]
    calls = [r for r in rows if r["right"] == "call"]
    assert len(rows) == 22 and len(calls) == 11 and {r["expiry"] for r in rows} == {expiry.isoformat()}
    for r in calls:
        assert r["bid"] == pytest.approx(bsm_call(spot, r["strike"], 40 / 365, 0.3), rel=1e-9)
        assert (r["implied_vol"], r["multiplier"], r["underlying_price"]) == (0.3, 100, spot)


def test_bad_input_is_one_line_and_exit_code_2(capsys):
    code, _, err = ivybt(capsys, "options", "chain", "SPY", "--expiry", "next friday")
    assert code == 2 and "--expiry 'next friday' is not a date" in err
    code, _, err = ivybt(capsys, "options", "vol", "SPY", "-0.2")
    assert code == 2 and "vol -0.2 must be > 0" in err
