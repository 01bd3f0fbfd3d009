"""A fresh process's first backtest does not import what it does not use (issue 19 item 4: first call < 0.5 s).

Measured with `python -X importtime`: scipy (~0.2 s here; engine.options' pricing and implied vol, reached from
a backtest through engine.orders -> engine.options.occ) and pyarrow.parquet (~10 ms; only reading a cached
file needs it) are imported where they are used, and the event strategies the registry lists name the order
types (engine.orders, ~20 ms with engine.options) in annotations only. A subprocess imports the engine, runs
one sma_cross backtest from a CSV frame and reports what it imported; the option pricing still works,
importing scipy then. The registry imports a built-in's module when that strategy is first asked for, and
`from engine.data import MarketData` imports engine.data.market alone (the loader, sources, cache and importers
when used): a first sma_cross backtest from a frame imports neither the other strategies (portfolio optimizers,
the user-code sandbox and its multiprocessing, the event strategies) nor the data loading modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIRST_BACKTEST = """
import json, sys
import pandas as pd
from engine.config import BacktestConfig
from engine.data import SAMPLE_DIR, MarketData
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy
frame = pd.read_csv(SAMPLE_DIR / "SPY.csv", index_col="date", parse_dates=True)
result = run_backtest(MarketData.from_frames({"SPY": frame}), create_strategy("sma_cross"), BacktestConfig())
loaded = {m: m in sys.modules for m in ("scipy", "pyarrow.parquet", "engine.orders", "engine.options")}
print(json.dumps({"trades": int(result.metrics["n_trades"]), "loaded": loaded}))
"""


def _run(code: str, env_home: Path) -> dict:
    env = {"PATH": "/usr/bin:/bin", "IVYBT_HOME": str(env_home), "IVYBT_JIT": "interpreted", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_first_backtest_imports_neither_scipy_nor_pyarrow_parquet_nor_orders(tmp_path):
    answer = _run(FIRST_BACKTEST, tmp_path / "ws")
    assert answer["trades"] == 104  # WORKLOADS W1 on SPY: the backtest did run
    assert answer["loaded"] == {
        "scipy": False,
        "pyarrow.parquet": False,
        "engine.orders": False,
        "engine.options": False,
    }


def test_importing_the_order_types_does_not_import_scipy(tmp_path):
    """engine.orders still reaches engine.options (OCC symbols) when it is imported: without pricing's scipy."""
    code = "import json, sys; import engine.orders.values; print(json.dumps({'scipy': 'scipy' in sys.modules}))"
    assert _run(code, tmp_path / "ws") == {"scipy": False}


def test_option_pricing_imports_scipy_when_it_prices(tmp_path):
    code = (
        "import json, sys; from engine.options import price, implied_vol; "
        "before = 'scipy' in sys.modules; "
        "p = float(price('call', 100.0, 100.0, 1.0, 0.05, 0.2)); "
        "iv = float(implied_vol(p, 'call', 100.0, 100.0, 1.0, 0.05)); "
        "print(json.dumps({'before': before, 'after': 'scipy' in sys.modules, 'price': p, 'iv': iv}))"
    )
    answer = _run(code, tmp_path / "ws")
    assert answer["before"] is False and answer["after"] is True
    assert abs(answer["price"] - 10.450583572185565) < 1e-9  # BSM S = K = 100, T = 1, r = 5 %, vol 20 %: 10.4506
    assert abs(answer["iv"] - 0.2) < 1e-6


FROM_FRAME = """
import json, sys
import pandas as pd
from engine.config import BacktestConfig
from engine.data import MarketData
from engine.sim.simulate import run_backtest
from engine.strategies.registry import BUILTINS, create_strategy
frame = pd.read_csv(sys.argv[1], index_col="date", parse_dates=True)
result = run_backtest(MarketData.from_frames({"SPY": frame}), create_strategy("sma_cross"), BacktestConfig())
unused = (
    "engine.strategies.portfolio_opt", "engine.portfolio", "engine.strategies.user_code", "engine.strategies.sandbox",
    "multiprocessing", "engine.strategies.event_systems", "engine.strategies.router", "engine.strategies.pairs",
    "engine.data.loader", "engine.data.sources", "engine.data.cache", "engine.data.imports",
)
loaded = {m: m in sys.modules for m in ("engine.strategies.crossover", *unused)}
names = list(BUILTINS)
before = "engine.strategies.portfolio_opt" in sys.modules
opt = BUILTINS["portfolio_opt"]
print(json.dumps({"trades": int(result.metrics["n_trades"]), "loaded": loaded, "names": names, "before": before,
                  "after": "engine.strategies.portfolio_opt" in sys.modules, "opt": opt.__module__ + "." + opt.__name__}))
"""


def test_first_backtest_from_a_frame_imports_only_its_strategy_and_the_market_data_module(tmp_path):
    code = FROM_FRAME.replace("sys.argv[1]", repr(str(REPO / "engine" / "data" / "sample" / "SPY.csv")))
    answer = _run(code, tmp_path / "ws")
    assert answer["trades"] == 104
    assert answer["loaded"].pop("engine.strategies.crossover") is True
    assert answer["loaded"] == dict.fromkeys(answer["loaded"], False)
    assert answer["names"][:3] == ["buy_and_hold", "sma_cross", "ema_cross"] and len(answer["names"]) == 15
    assert (answer["before"], answer["after"]) == (False, True)  # listing names imported nothing; a class does
    assert answer["opt"] == "engine.strategies.portfolio_opt.PortfolioOpt"
