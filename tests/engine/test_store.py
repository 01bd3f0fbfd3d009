"""Run store on real SQLite files in tmp_path: round trips, listing, reproducibility keys, transactions."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from engine import __version__
from engine.config import BacktestConfig, Costs
from engine.data import SAMPLE_DIR
from engine.errors import EngineError
from engine.request import BacktestRequest, run_request
from engine.sim.result import FILL_COLUMNS, BacktestResult
from engine.store.reproduce import make_key, reproducibility_key
from engine.store.runs import RunNotFound, RunStore

DAILY = SAMPLE_DIR  # the bundled copy of the real daily CSVs


pytestmark = pytest.mark.usefixtures("home")


def _hand_result(seed: int = 0, benchmark: bool = True) -> BacktestResult:
    """A small BacktestResult with every awkward dtype: NaN, NaT, strings, second-resolution datetimes."""
    rng = np.random.default_rng(seed)
    idx = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"], name="date")
    equity = pd.Series(100_000 * np.cumprod(1 + rng.normal(0, 0.01, 5)), index=idx, name="equity")
    wide = pd.DataFrame(rng.random((5, 2)), index=idx, columns=pd.Index(["SPY", "TLT"], name="symbol"))
    wide.iloc[1, 1] = np.nan
    trades = pd.DataFrame(
        {
            "symbol": ["SPY", "TLT"],
            "side": ["long", "short"],
            "entry_time": pd.DatetimeIndex(["2020-01-03", "2020-01-06"]).as_unit("s"),
            "entry_price": [321.5, 140.25],
            "exit_time": pd.DatetimeIndex(["2020-01-07", pd.NaT]).as_unit("s"),
            "exit_price": [322.0, np.nan],
            "quantity": [10.5, -3.0],
            "pnl": [5.25, np.nan],
            "return": [0.0015, np.nan],
            "bars_held": [2, 1],
            "exit_reason": ["signal", "open"],
        }
    )
    fills = pd.DataFrame(
        {
            "time": idx[[1, 2]],
            "symbol": ["SPY", "TLT"],
            "quantity": [10.5, -3.0],
            "price": [321.5, 140.25],
            "commission": [1.0, 0.5],
            "reason": ["signal", "signal"],
        },
        columns=list(FILL_COLUMNS),
    )
    return BacktestResult(
        config=BacktestConfig(costs=Costs(commission_bps=5.0)),
        strategy="sma_cross",
        params={"fast": 3, "slow": 5},
        symbols=["SPY", "TLT"],
        equity=equity,
        returns=equity.pct_change().fillna(0.0),
        cash=equity * 0.1,
        weights=wide,
        positions=wide * 100,
        trades=trades,
        fills=fills,
        metrics={
            "final_equity": float(equity.iloc[-1]),
            "sharpe": float("nan"),
            "profit_factor": float("inf"),
            "n_trades": 2.0,
            "total_return": 0.01,
            "max_drawdown": -0.02,
        },
        benchmark=(equity * 1.01).rename("SPY") if benchmark else None,
        benchmark_metrics={"sharpe": 0.5} if benchmark else {},
    )


def _hand_request(**changes) -> BacktestRequest:
    return BacktestRequest(strategy="sma_cross", params={"fast": 3, "slow": 5}, symbols=("SPY", "TLT")).with_changes(
        **changes
    )


def _assert_same_result(got: BacktestResult, want: BacktestResult) -> None:
    for name in ("equity", "returns", "cash", "benchmark"):
        if getattr(want, name) is None:
            assert getattr(got, name) is None
        else:
            pd.testing.assert_series_equal(getattr(got, name), getattr(want, name), check_exact=True)
    for name in ("weights", "positions", "trades", "fills"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    assert got.config == want.config and got.strategy == want.strategy and got.symbols == want.symbols
    assert got.params == want.params
    _assert_same_metrics(got.benchmark_metrics, want.benchmark_metrics)
    _assert_same_metrics(got.metrics, want.metrics)


def _assert_same_metrics(got: dict, want: dict) -> None:
    """Equal keys and bit-equal values (NaN equals NaN)."""
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == v or (np.isnan(v) and np.isnan(got[k])), k


def test_hand_made_round_trip_is_exact(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    for benchmark in (True, False):
        res, req = _hand_result(benchmark=benchmark), _hand_request()
        run_id = store.save(res, req, key=make_key(req, "d" * 64), name="hand")
        assert len(run_id) == 12
        got = store.load(run_id)
        _assert_same_result(got.result, res)
        assert got.request == req and got.name == "hand" and got.kind == "backtest"
        assert got.data_hash == "d" * 64 and got.version == __version__
        # the key is sha256 of "request_hash|data_hash|version" (recomputed here by hand)
        assert got.key == hashlib.sha256(f"{got.request_hash}|{'d' * 64}|{__version__}".encode()).hexdigest()


def test_database_is_wal_with_schema_version(tmp_path):
    path = tmp_path / "runs.db"
    RunStore(path)
    RunStore(path)  # opening again migrates nothing twice
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT component, version FROM schema_version").fetchall() == [("runs", 2)]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "run_symbols", "run_frames", "run_tags", "schema_version"} <= tables


def test_default_path_is_the_workspace_db(home):
    store = RunStore()
    assert store.path == home / "ivybt.db" and store.path.is_file()


def test_list_filters_latest_and_delete(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    assert store.latest() is None and store.list().empty
    ids = []
    for i, (strategy, symbols) in enumerate(
        [("sma_cross", ("SPY", "TLT")), ("ema_cross", ("QQQ",)), ("sma_cross", ("QQQ", "GLD"))]
    ):
        req = BacktestRequest(strategy=strategy, symbols=symbols)
        ids.append(store.save(_hand_result(seed=i), req, key=make_key(req, "x")))
    listed = store.list()
    assert list(listed["id"]) == ids[::-1]  # newest first
    assert list(listed.columns[:8]) == ["id", "created_at", "kind", "name", "strategy", "symbols", "start", "end"]
    assert listed.loc[0, "symbols"] == "QQQ,GLD" and listed.loc[0, "start"].startswith("2020-01-02")
    assert np.isnan(listed.loc[0, "sharpe"]) and listed.loc[0, "n_trades"] == 2.0
    assert list(store.list(strategy="sma_cross")["id"]) == [ids[2], ids[0]]
    assert list(store.list(symbol="qqq")["id"]) == [ids[2], ids[1]]
    assert list(store.list(strategy="sma_cross", symbol="TLT")["id"]) == [ids[0]]
    assert list(store.list(limit=1)["id"]) == [ids[2]]
    assert store.list(kind="optimize").empty and len(store.list(kind="backtest")) == 3
    assert store.latest().id == ids[2]
    assert store.load(ids[1][:6]).id == ids[1]  # a unique prefix is enough

    assert store.delete(ids[2]) == ids[2]
    assert store.latest().id == ids[1] and len(store) == 2
    conn = sqlite3.connect(tmp_path / "runs.db")
    assert conn.execute("SELECT COUNT(*) FROM run_frames WHERE run_id = ?", (ids[2],)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM run_symbols WHERE run_id = ?", (ids[2],)).fetchone()[0] == 0
    for bad in (ids[2], "nope", "zzzz"):
        with pytest.raises(RunNotFound, match=f"no saved run with id '{bad}'"):
            store.delete(bad)
        with pytest.raises(EngineError):
            store.load(bad)


def test_interrupted_write_leaves_earlier_runs_intact(tmp_path):
    path = tmp_path / "runs.db"
    store = RunStore(path)
    req = _hand_request()
    first = store.save(_hand_result(seed=1), req, key=make_key(req, "x"))
    # A real SQLite failure in the middle of the next save: the runs row and 4 frames are already inserted
    # in the same transaction when the 'fills' frame is refused.
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TRIGGER fail_fills BEFORE INSERT ON run_frames WHEN NEW.name = 'fills' "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk on fire"):
        store.save(_hand_result(seed=2), req, key=make_key(req, "x"))
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "run_symbols", "run_frames")}
    assert counts == {"runs": 1, "run_symbols": 2, "run_frames": 8}  # only the first run: 4 series + 4 frames
    _assert_same_result(store.load(first).result, _hand_result(seed=1))
    conn.execute("DROP TRIGGER fail_fills")
    conn.commit()
    second = store.save(_hand_result(seed=2), req, key=make_key(req, "x"))
    assert [r for r in store.list()["id"]] == [second, first]


def _sma_request(**changes) -> BacktestRequest:
    req = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2010-01-01",
        end="2020-12-31",
        config=BacktestConfig(costs=Costs(commission_bps=10.0)),
    )
    return req.with_changes(**changes)


def test_real_run_reloads_and_reruns_to_identical_metrics_and_key(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    req = _sma_request()
    result = run_request(req)
    run_id = store.save(result, req)  # the key is computed from the request's data
    stored = store.load(run_id)
    _assert_same_result(stored.result, result)
    assert stored.request == req
    rerun = run_request(stored.request)
    _assert_same_metrics(rerun.metrics, stored.result.metrics)
    pd.testing.assert_series_equal(rerun.equity, stored.result.equity, check_exact=True)
    assert reproducibility_key(stored.request).key == stored.key
    assert store.list().loc[0, "total_return"] == result.metrics["total_return"]


def test_key_stable_and_sensitive(tmp_path):
    base = reproducibility_key(_sma_request())
    assert reproducibility_key(_sma_request()) == base
    # defaults spelled out, or ints written as floats, describe the same run
    same = _sma_request(params={"fast": 10, "slow": 50, "weight": 1.0, "allow_short": False})
    assert reproducibility_key(same) == base
    assert (
        reproducibility_key(_sma_request(config=BacktestConfig(initial_cash=100000, costs=Costs(commission_bps=10))))
        == base
    )
    # other params, costs or dates change the request hash
    for other in (
        _sma_request(params={"fast": 12, "slow": 50}),
        _sma_request(config=BacktestConfig(costs=Costs(commission_bps=11.0))),
        _sma_request(end="2020-12-30"),
    ):
        k = reproducibility_key(other)
        assert k.request_hash != base.request_hash and k.key != base.key

    # the same bytes in another folder: same data hash, same key; one changed close: another data hash
    same_dir, changed_dir = tmp_path / "same", tmp_path / "changed"
    same_dir.mkdir(), changed_dir.mkdir()
    shutil.copy(DAILY / "SPY.csv", same_dir / "SPY.csv")
    k_same = reproducibility_key(_sma_request(data_source=str(same_dir)))
    assert k_same.data_hash == base.data_hash and k_same.key == base.key
    frame = pd.read_csv(DAILY / "SPY.csv")
    row = frame.index[frame["date"] == "2015-06-01"][0]
    frame.loc[row, "close"] = frame.loc[row, "close"] * 1.001
    frame.to_csv(changed_dir / "SPY.csv", index=False)
    k_changed = reproducibility_key(_sma_request(data_source=str(changed_dir)))
    assert k_changed.request_hash == base.request_hash
    assert k_changed.data_hash != base.data_hash and k_changed.key != base.key
    # a change outside the requested dates does not change this request's data
    frame = pd.read_csv(DAILY / "SPY.csv")
    frame.loc[frame["date"] == "2022-06-01", "close"] *= 1.001
    outside = tmp_path / "outside"
    outside.mkdir()
    frame.to_csv(outside / "SPY.csv", index=False)
    assert reproducibility_key(_sma_request(data_source=str(outside))).key == base.key
    # and the package version is part of the key
    assert make_key(_sma_request(), base.data_hash, version="9.9.9").key != base.key


def test_save_analysis_keeps_frames_and_payload_and_lists_by_kind(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    res, req = _hand_result(), _hand_request()
    windows = pd.DataFrame(
        {
            "window": [0, 1],
            "oos_start": pd.DatetimeIndex(["2020-01-03", "2020-01-07"]),
            "fast": [3, 4],
            "is_objective": [0.5, np.nan],
        }
    )
    payload = {"chosen": [{"fast": 3}, {"fast": 4}], "efficiency": float("nan"), "note": "two windows"}
    run_id = store.save_analysis(
        res,
        req,
        kind="walkforward",
        frames={"walkforward_windows": windows},
        payload=payload,
        name="wf",
        key=make_key(req, "d" * 64),
    )
    _assert_same_result(store.load(run_id).result, res)
    pd.testing.assert_frame_equal(store.load_frame(run_id, "walkforward_windows"), windows, check_exact=True)
    got = store.load_payload(run_id)
    assert got["chosen"] == payload["chosen"] and got["note"] == "two windows" and np.isnan(got["efficiency"])
    for kind in ("montecarlo", "scorecard"):
        store.save_analysis(res, req, kind=kind, payload={"kind": kind}, key=make_key(req, "d" * 64))
    assert store.list(kind="walkforward")["id"].tolist() == [run_id]
    assert sorted(store.list()["kind"]) == ["montecarlo", "scorecard", "walkforward"]
    with pytest.raises(EngineError, match=r"frame name\(s\) \['trades'\] are reserved"):
        store.save_analysis(res, req, kind="scorecard", frames={"trades": windows}, key=make_key(req, "d" * 64))
    with pytest.raises(EngineError, match="run kind 'sweep' is not one of"):
        store.save_analysis(res, req, kind="sweep", key=make_key(req, "d" * 64))
    assert len(store) == 3
    plain = store.save(res, req, key=make_key(req, "d" * 64))
    with pytest.raises(RunNotFound, match="has no frame 'payload'"):
        store.load_payload(plain)
